// Trigger: turns top-of-book updates of one configured slot into order requests.
//
// Input : book_top's output beat (s_valid/s_ready and the fields below).
// Config: cfg_slot (the book_top slot watched), cfg_buy_enable/cfg_buy_limit (buy when the best ask is at or
//         below the limit), cfg_sell_enable/cfg_sell_limit (sell when the best bid is at or above it),
//         cfg_shares (the order size). Change them only while no beat is in flight.
// Output: one request beat per triggering update (m_valid/m_ready): m_slot, m_sell (0 buy at the best ask,
//         1 sell at the best bid), m_price, m_shares. If both rules hold on one update (a crossed book) the buy
//         is sent. Updates that trigger nothing, of another slot, with a missing side or with book_top's
//         overflow or error flag set produce no beat. Every triggering update produces one: repeats are left to
//         the order-rate limit downstream.
// Latency: the request is valid exactly 1 cycle after its update is taken; one update per cycle while the
//          output is taken (s_ready = !m_valid || m_ready).
`default_nettype none

module trigger (
    input  wire         clk,
    input  wire         rst,
    input  wire [1:0]   cfg_slot,
    input  wire         cfg_buy_enable,
    input  wire [31:0]  cfg_buy_limit,
    input  wire         cfg_sell_enable,
    input  wire [31:0]  cfg_sell_limit,
    input  wire [31:0]  cfg_shares,

    input  wire         s_valid,
    output wire         s_ready,
    input  wire         s_tracked,
    input  wire [1:0]   s_slot,
    input  wire         s_bid_valid,
    input  wire [31:0]  s_bid_price,
    input  wire         s_ask_valid,
    input  wire [31:0]  s_ask_price,
    input  wire         s_overflow,
    input  wire         s_error,

    output reg          m_valid,
    input  wire         m_ready,
    output reg  [1:0]   m_slot,
    output reg          m_sell,
    output reg  [31:0]  m_price,
    output reg  [31:0]  m_shares
);

    assign s_ready = !m_valid || m_ready;
    wire s_fire = s_valid && s_ready;

    wire trusted = s_tracked && s_slot == cfg_slot && !s_overflow && !s_error;
    wire buy     = trusted && cfg_buy_enable && s_ask_valid && s_ask_price <= cfg_buy_limit;
    wire sell    = trusted && cfg_sell_enable && s_bid_valid && s_bid_price >= cfg_sell_limit;

    always @(posedge clk) begin
        if (rst) m_valid <= 1'b0;
        else if (s_fire) m_valid <= buy || sell;
        else if (m_ready) m_valid <= 1'b0;
    end

    always @(posedge clk) begin
        if (s_fire) begin
            m_slot   <= s_slot;
            m_sell   <= !buy;
            m_price  <= buy ? s_ask_price : s_bid_price;
            m_shares <= cfg_shares;
        end
    end

endmodule

`default_nettype wire
