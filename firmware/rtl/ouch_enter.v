// OUCH 4.2 Enter Order encoder: one accepted order request in, its 49-byte Enter Order message out.
//
// Input : an order beat (pretrade_risk's output): s_slot, s_sell, s_price, s_shares.
// Config: cfg_stocks (slot k's 8 stock bytes in cfg_stocks[64k+63:64k], first byte in the top lane, space
//         padded), cfg_token_prefix (4 ASCII bytes, first in [31:24]), cfg_firm (4 ASCII bytes, the same way),
//         cfg_tif, cfg_display, cfg_capacity, cfg_iso, cfg_min_qty, cfg_cross_type, cfg_customer_type.
// Output: the message as 7 beats on m_t* (stream byte k of a beat in m_tdata[8k+7:8k], tkeep all ones but on
//         the last beat, which holds byte 48 alone). Fields, big-endian on the wire: type "O", order token,
//         side ("B", or "S" when s_sell), shares, stock, price, time in force, firm, display, capacity,
//         intermarket sweep, minimum quantity, cross type, customer type.
// Order token: the 4 prefix bytes then the order's number since rst, 10 decimal digits from 0000000001
//         (wrapping to 0000000000 after 9999999999); the prefix must differ between restarts of one day.
// Queue : orders taken while a message is being sent wait in a queue of 2**QUEUE_BITS orders (distributed RAM),
//         in order; s_ready is low only while it is full, so the block upstream is not held by the output.
// Tag   : s_tag is carried with the order; m_start pulses in the cycle its first beat is first valid, with
//         m_tag (held while the message is sent).
// Latency: the first beat is valid exactly 1 cycle after the order is taken when no message is being sent or
//          waiting; a waiting order starts in the cycle the last beat of the one before is taken, so a message
//          every 7 cycles at full rate.
`default_nettype none

module ouch_enter #(
    parameter integer QUEUE_BITS = 4
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [255:0] cfg_stocks,
    input  wire [31:0]  cfg_token_prefix,
    input  wire [31:0]  cfg_firm,
    input  wire [31:0]  cfg_tif,
    input  wire [7:0]   cfg_display,
    input  wire [7:0]   cfg_capacity,
    input  wire [7:0]   cfg_iso,
    input  wire [31:0]  cfg_min_qty,
    input  wire [7:0]   cfg_cross_type,
    input  wire [7:0]   cfg_customer_type,

    input  wire         s_valid,
    output wire         s_ready,
    input  wire [1:0]   s_slot,
    input  wire         s_sell,
    input  wire [31:0]  s_price,
    input  wire [31:0]  s_shares,
    input  wire [31:0]  s_tag,

    output reg          m_start,
    output reg  [31:0]  m_tag,
    output reg          m_tvalid,
    input  wire         m_tready,
    output wire [63:0]  m_tdata,
    output wire [7:0]   m_tkeep,
    output wire         m_tlast
);

    localparam integer BYTES = 49;

    reg  [447:0] msg;          // the message, stream byte k in msg[8k+7:8k], padded to 7 beats
    reg  [2:0]   beat;
    reg  [39:0]  number;       // the next order's number, 10 BCD digits, most significant in [39:36]

    wire last = beat == 3'd6;
    assign m_tdata = msg[64*beat +: 64];
    assign m_tkeep = last ? 8'h01 : 8'hFF;
    assign m_tlast = last;

    // ---- the queue: {tag, slot, sell, price, shares} -----------------------------------------------------------
    localparam integer DEPTH = 1 << QUEUE_BITS;
    localparam integer ITEM  = 32 + 2 + 1 + 32 + 32;
    reg  [ITEM-1:0]       pending [0:DEPTH-1];
    reg  [QUEUE_BITS-1:0] wr_ptr, rd_ptr;
    reg  [QUEUE_BITS:0]   count;
    wire                  empty = count == {(QUEUE_BITS+1){1'b0}};

    assign s_ready = count < DEPTH[QUEUE_BITS:0];
    wire s_fire = s_valid && s_ready;

    // A message starts when none is being sent (or its last beat leaves now), from the queue or straight from
    // the input when the queue is empty.
    wire            free  = !m_tvalid || (m_tready && last);
    wire            load  = free && (!empty || s_fire);
    wire [ITEM-1:0] head  = pending[rd_ptr];
    wire [ITEM-1:0] item  = empty ? {s_tag, s_slot, s_sell, s_price, s_shares} : head;
    wire            push  = s_fire && !(load && empty);
    wire            pop   = load && !empty;
    wire [31:0]     o_tag    = item[ITEM-1 -: 32];
    wire [1:0]      o_slot   = item[66:65];
    wire            o_sell   = item[64];
    wire [31:0]     o_price  = item[63:32];
    wire [31:0]     o_shares = item[31:0];

    always @(posedge clk) begin
        if (push) pending[wr_ptr] <= {s_tag, s_slot, s_sell, s_price, s_shares};
        if (rst) begin
            wr_ptr <= {QUEUE_BITS{1'b0}};
            rd_ptr <= {QUEUE_BITS{1'b0}};
            count  <= {(QUEUE_BITS+1){1'b0}};
        end else begin
            if (push) wr_ptr <= wr_ptr + 1'b1;
            if (pop)  rd_ptr <= rd_ptr + 1'b1;
            count <= count + {{QUEUE_BITS{1'b0}}, push} - {{QUEUE_BITS{1'b0}}, pop};
        end
    end

    // The digits of the token, as wire bytes in stream order (most significant digit first on the wire).
    reg [79:0] digits;
    integer d;
    always @* begin
        for (d = 0; d < 10; d = d + 1) digits[8*d +: 8] = {4'h3, number[36 - 4*d +: 4]};
    end

    wire [8*BYTES-1:0] enter = {
        cfg_customer_type, cfg_cross_type, swap32(cfg_min_qty), cfg_iso, cfg_capacity, cfg_display,
        swap32(cfg_firm), swap32(cfg_tif), swap32(o_price), swap64(cfg_stocks[64*o_slot +: 64]),
        swap32(o_shares), o_sell ? "S" : "B", digits, swap32(cfg_token_prefix), "O"
    };

    always @(posedge clk) begin
        m_start <= 1'b0;
        if (rst) begin
            m_tvalid <= 1'b0;
            beat     <= 3'd0;
            number   <= 40'd1;
        end else begin
            if (m_tvalid && m_tready) begin
                if (last) m_tvalid <= 1'b0;
                beat <= last ? 3'd0 : beat + 3'd1;
            end
            if (load) begin
                m_tvalid <= 1'b1;
                m_start  <= 1'b1;
                number   <= bcd_next(number);
            end
        end
    end

    // The datapath needs no reset.
    always @(posedge clk) begin
        if (load) begin
            msg   <= {{(448 - 8 * BYTES){1'b0}}, enter};
            m_tag <= o_tag;
        end
    end

    // Byte order reversed: a big-endian field laid out in stream order.
    function [31:0] swap32(input [31:0] x);
        swap32 = {x[7:0], x[15:8], x[23:16], x[31:24]};
    endfunction

    function [63:0] swap64(input [63:0] x);
        swap64 = {swap32(x[31:0]), swap32(x[63:32])};
    endfunction

    // Decimal increment of 10 BCD digits, wrapping to zero.
    function [39:0] bcd_next(input [39:0] n);
        integer i;
        reg carry;
        begin
            carry = 1'b1;
            for (i = 0; i < 10; i = i + 1) begin
                if (carry) begin
                    if (n[4*i +: 4] == 4'd9) bcd_next[4*i +: 4] = 4'd0;
                    else begin
                        bcd_next[4*i +: 4] = n[4*i +: 4] + 4'd1;
                        carry = 1'b0;
                    end
                end else bcd_next[4*i +: 4] = n[4*i +: 4];
            end
        end
    endfunction

endmodule

`default_nettype wire
