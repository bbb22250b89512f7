// Pre-trade risk: every order request is judged by all the checks below; only an accepted one leaves.
//
// Input : an order request beat (trigger's output): s_slot, s_sell, s_price (ticks of the price scale),
//         s_shares.
// Checks (the engine's built-in risk checks of the same names, with the same edges):
//   kill            kill switch: every order is rejected while `kill` is high at the handshake
//   max_order_quantity  s_shares > cfg_max_shares
//   price_band      |s_price - reference| > cfg_band (price units: the band in ticks times the tick size);
//                   the slot's reference is cfg_ref_prices[32k+31:32k], judged only when cfg_ref_valid[k]
//   max_position    with held = cfg_held[32k+31:32k] (signed) and working = the shares this block accepted on
//                   the order's side of the slot since rst (no fill feedback: every accepted order counts as
//                   working): before = held +- working, after = before +- s_shares; rejected when
//                   |after| > cfg_max_position, unless the order only reduces (same sign, |after| < |before|)
//   order_rate      rejected once cfg_rate_max (1..RATE_DEPTH) orders were accepted within the last
//                   cfg_rate_window cycles: passes when fewer were ever accepted, or when the cfg_rate_max-th
//                   latest acceptance is cfg_rate_window or more cycles old. Only accepted orders count.
// Output: m_* (valid/ready) carries each accepted order; v_valid pulses for every order with v_accept and
//         v_reasons (bit 0 kill, 1 quantity, 2 band, 3 position, 4 rate; all failing checks are set).
// Latency: the accepted order and the verdict are valid exactly 1 cycle after the request is taken; one
//          request per cycle while the output is taken (s_ready = !m_valid || m_ready). The cycle counter wraps
//          after 2**32 cycles: cfg_rate_window must stay below 2**31.
// Depth : each check compares the request with a bound kept in a register per slot (and side), so that the
//         verdict is a multiplexer and a comparison deep: the room left to the position limit (max -+ held -
//         working, lowered by each acceptance), the band's bounds (reference +- band), the expiry of each counted
//         acceptance (its cycle + window). The bounds follow the configuration within 2 cycles: change it only
//         while no request is in flight (the window of an acceptance is the one configured when it was made).
`default_nettype none

module pretrade_risk #(
    parameter integer RATE_DEPTH = 16
) (
    input  wire         clk,
    input  wire         rst,
    input  wire         kill,
    input  wire [31:0]  cfg_max_shares,
    input  wire [127:0] cfg_ref_prices,
    input  wire [3:0]   cfg_ref_valid,
    input  wire [31:0]  cfg_band,
    input  wire [127:0] cfg_held,
    input  wire [31:0]  cfg_max_position,
    input  wire [4:0]   cfg_rate_max,
    input  wire [31:0]  cfg_rate_window,

    input  wire         s_valid,
    output wire         s_ready,
    input  wire [1:0]   s_slot,
    input  wire         s_sell,
    input  wire [31:0]  s_price,
    input  wire [31:0]  s_shares,

    output reg          m_valid,
    input  wire         m_ready,
    output reg  [1:0]   m_slot,
    output reg          m_sell,
    output reg  [31:0]  m_price,
    output reg  [31:0]  m_shares,

    output reg          v_valid,
    output reg          v_accept,
    output reg  [4:0]   v_reasons
);

    assign s_ready = !m_valid || m_ready;
    wire s_fire = s_valid && s_ready;

    // ---- bounds kept per slot {slot} and side {slot, sell} ------------------------------------------------------
    reg  [31:0]        now;                           // cycles since rst
    reg  [31:0]        window_p1;                     // cfg_rate_window + 1
    reg  [31:0]        expiry_at;                     // now + cfg_rate_window: the expiry of an acceptance now
    reg  [32*RATE_DEPTH-1:0] expiries;                // of the acceptances, latest first
    reg  [4:0]         accepted;                      // acceptances so far, saturating at RATE_DEPTH
    reg  [39:0]        working [0:7];                 // accepted shares, index {slot, sell}
    reg  signed [47:0] limit   [0:7];                 // buy: max - held; sell: max + held
    reg  signed [47:0] room    [0:7];                 // limit - working: an order of more shares goes beyond max
    reg  signed [47:0] twice_max;
    reg  [32:0]        band_hi [0:3];                 // reference + band
    reg  signed [33:0] band_lo [0:3];                 // reference - band

    // max_position. Buy: before = held + working, after = before + qty; rejected when after > max (qty > room),
    // or when qty is 0 and before < -max (room > 2 max); an order that only reduces (same sign, smaller) is
    // never rejected, and those are exactly the others. Sell: the mirror image (before = held - working).
    wire signed [47:0] side_room = room[{s_slot, s_sell}];
    wire signed [47:0] qty       = {16'd0, s_shares};
    wire        bad_pos   = qty > side_room || (s_shares == 32'd0 && side_room > twice_max);

    // price_band: |price - reference| > band, as price above reference + band or below reference - band.
    wire        bad_band  = cfg_ref_valid[s_slot] &&
                            ({1'b0, s_price} > band_hi[s_slot] || $signed({2'b0, s_price}) < band_lo[s_slot]);

    // order_rate: the cfg_rate_max-th latest acceptance has not expired (its cycle + window is still ahead).
    reg  [4:0]  nth;                                  // cfg_rate_max - 1
    wire [31:0] ahead     = expiries[32*nth +: 32] - now;
    wire        bad_rate  = accepted >= cfg_rate_max && !ahead[31] && ahead != 32'd0;

    wire        bad_qty   = s_shares > cfg_max_shares;
    wire [4:0]  reasons   = {bad_rate, bad_pos, bad_band, bad_qty, kill};
    wire        accept    = reasons == 5'd0;

    integer k;
    always @(posedge clk) begin
        if (rst) begin
            now      <= 32'd0;
            accepted <= 5'd0;
            m_valid  <= 1'b0;
            v_valid  <= 1'b0;
            for (k = 0; k < 8; k = k + 1) working[k] <= 40'd0;
        end else begin
            now     <= now + 32'd1;
            v_valid <= s_fire;
            if (s_fire) m_valid <= accept;
            else if (m_ready) m_valid <= 1'b0;
            if (s_fire && accept) begin
                if (accepted < RATE_DEPTH[4:0]) accepted <= accepted + 5'd1;
                working[{s_slot, s_sell}] <= working[{s_slot, s_sell}] + {8'd0, s_shares};
            end
        end
    end

    // The bounds and the datapath need no reset (the bounds are recomputed every cycle).
    always @(posedge clk) begin
        window_p1 <= cfg_rate_window + 32'd1;
        nth       <= cfg_rate_max - 5'd1;
        expiry_at <= rst ? cfg_rate_window : now + window_p1;
        twice_max <= {15'd0, cfg_max_position, 1'b0};
        for (k = 0; k < 4; k = k + 1) begin
            limit[2*k]     <= {16'd0, cfg_max_position} - {{16{cfg_held[32*k + 31]}}, cfg_held[32*k +: 32]};
            limit[2*k + 1] <= {16'd0, cfg_max_position} + {{16{cfg_held[32*k + 31]}}, cfg_held[32*k +: 32]};
            band_hi[k]     <= {1'b0, cfg_ref_prices[32*k +: 32]} + {1'b0, cfg_band};
            band_lo[k]     <= {2'b0, cfg_ref_prices[32*k +: 32]} - {2'b0, cfg_band};
        end
        for (k = 0; k < 8; k = k + 1)
            room[k] <= (s_fire && accept && {s_slot, s_sell} == k[2:0]) ? room[k] - qty
                                                                         : limit[k] - {8'd0, working[k]};
        if (s_fire && accept) expiries <= {expiries[32*(RATE_DEPTH-1)-1:0], expiry_at};
        if (s_fire) begin
            m_slot    <= s_slot;
            m_sell    <= s_sell;
            m_price   <= s_price;
            m_shares  <= s_shares;
            v_accept  <= accept;
            v_reasons <= reasons;
        end
    end

endmodule

`default_nettype wire
