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
// Output: m_* (valid/ready) carries each accepted order, with s_tag carried through; v_valid pulses for every order with v_accept and
//         v_reasons (bit 0 kill, 1 quantity, 2 band, 3 position, 4 rate; all failing checks are set).
// Latency: the verdict is valid exactly 2 cycles after the request is taken, and so is the accepted order while
//          the output is taken (an output queue of 2 holds it otherwise); one request per cycle while the output
//          is taken. Every request is judged the cycle after it is taken (the order rate counts from there).
//          The cycle counter wraps after 2**32 cycles: cfg_rate_window must stay below 2**31.
// Depth : the cycle a request is taken, it is compared with the bounds kept in registers per slot (and side):
//         the band's bounds (reference +- band), the room left to the position limit (max -+ held - working,
//         lowered by each acceptance), and that room less the previous request's shares, in case that one is
//         accepted on the same side the same cycle (its check for a request of 0 shares registered apart); the
//         next cycle picks the request's results and judges it. The order rate keeps, for each counted
//         acceptance, whether it still counts and whether next cycle is its last (compared a cycle ahead, chunk
//         by chunk, so that the verdict's cycle only picks), and the verdict of the cfg_rate_max-th latest ahead.
//         The bounds follow the configuration within 2 cycles: change it only while no request is in flight (the
//         window of an acceptance is the one configured when it was made).
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
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [4:0]   cfg_rate_max,           // 1..RATE_DEPTH: bit 4 only for 16
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [31:0]  cfg_rate_window,

    input  wire         s_valid,
    output wire         s_ready,
    input  wire [1:0]   s_slot,
    input  wire         s_sell,
    input  wire [31:0]  s_price,
    input  wire [31:0]  s_shares,
    input  wire [31:0]  s_tag,

    output reg          m_valid,
    input  wire         m_ready,
    output reg  [1:0]   m_slot,
    output reg          m_sell,
    output reg  [31:0]  m_price,
    output reg  [31:0]  m_shares,
    output reg  [31:0]  m_tag,

    output reg          v_valid,
    output reg          v_accept,
    output reg  [4:0]   v_reasons
);

    localparam integer W = 36;                        // position arithmetic: |room|, working < 2**35
    localparam integer CHUNKS = 11;                   // 3-bit chunks of a 32-bit cycle number

    // ---- stage A: the request taken last cycle, with its comparisons ----------------------------------------
    reg         a_valid, a_sell, a_kill, a_bad_qty, a_after, a_no_qty;
    reg  [1:0]  a_slot;
    reg  [31:0] a_price, a_shares, a_tag;
    reg  [7:0]  a_side_hot;
    reg  [3:0]  a_slot_hot, a_band;
    reg  [7:0]  a_pos, a_pos_after;                  // per side: beyond the position limit (as it stood; after the
                                                      // request before it, accepted on that side)
    reg  [7:0]  a_short_after;                       // per side: after the request before it, accepted on that side,
                                                      // the position is beyond -max the other way (matters for 0 shares)
    reg  [1:0]  q_count;                             // accepted orders in the output queue

    wire        pop     = q_count != 2'd0 && m_ready;
    // the queue, less what leaves now, has room for the request in stage A and one more
    assign s_ready = q_count == 2'd0 || q_count == 2'd1 && (m_ready || !a_valid) || q_count == 2'd2 && m_ready && !a_valid;
    wire s_fire = s_valid && s_ready;

    // ---- bounds kept per slot {slot} and side {slot, sell} ------------------------------------------------------
    reg  [31:0]        now;                           // cycles since rst
    reg  [31:0]        now2;                          // now + 2
    reg  [31:0]        window_m1;                     // cfg_rate_window - 1
    reg  [31:0]        before_last;                   // now + cfg_rate_window - 2: the cycle before the last one an
                                                      // acceptance made now counts in
    reg                lives;                         // cfg_rate_window >= 2: an acceptance counts the cycle after
    reg                bl_now, bl_now1, bl_now2;      // before_last is now, now + 1, now + 2 (a window of 2 to 4)
    reg  [32*RATE_DEPTH-1:0] lasts;                   // of the acceptances, latest first: their before_last
    reg  [RATE_DEPTH-1:0]    stays;                   // each still counts next cycle (now is not its last)
    reg  [RATE_DEPTH-1:0]    last_next;               // next cycle is the last one it counts in (before_last = now)
    reg  [CHUNKS*RATE_DEPTH-1:0] near;                // its before_last equals now + 1 in each 3-bit chunk
    reg  [RATE_DEPTH-1:0] nth, nth_before;            // one-hot: cfg_rate_max - 1, cfg_rate_max - 2 (none for 1)
    reg                nth_first;                     // cfg_rate_max is 1
    reg                rate_full;                     // the cfg_rate_max-th latest acceptance still counts
    // per side {slot, sell}, W bits each, two's complement:
    reg  [8*W-1:0]     working;                       // accepted shares
    reg  [8*W-1:0]     limit;                         // buy: max - held; sell: max + held
    reg  [8*W-1:0]     room;                          // limit - working: an order of more shares goes beyond max
    reg  [W-1:0]       twice_max;
    reg  [4*32-1:0]    band_hi;                       // per slot: reference + band (band_hi_over: above 32 bits)
    reg  [4*32-1:0]    band_lo;                       // reference - band (band_lo_under: below 0)
    reg  [3:0]         band_hi_over, band_lo_under;

    // ---- stage A's comparisons, for each slot (and side) at once ---------------------------------------------
    // max_position. Buy: before = held + working, after = before + qty; rejected when after > max (qty > room),
    // or when qty is 0 and before < -max (room > 2 max); an order that only reduces (same sign, smaller) is never
    // rejected, and those are exactly the others. Sell: the mirror image (before = held - working). The room
    // after the request in stage A is accepted is room - its shares: the comparisons with it are done on the
    // sum of three terms (carry-save), qty > room - prev as room - prev - qty < 0, room - prev > 2 max as
    // room - prev - 2 max - 1 >= 0.
    wire [W-1:0] qty      = {{(W-32){1'b0}}, s_shares};
    wire [W-1:0] prev     = {{(W-32){1'b0}}, a_shares};
    wire         no_qty   = s_shares == 32'd0;
    reg  [7:0]   pos_now, pos_after, short_after, side_hot;
    reg  [3:0]   band_out;
    reg  [W-1:0] r;
    integer k;
    always @* begin
        for (k = 0; k < 8; k = k + 1) begin
            side_hot[k] = {s_slot, s_sell} == k[2:0];
            r = room[W*k +: W];
            pos_now[k]   = $signed(qty) > $signed(r) || no_qty && $signed(r) > $signed(twice_max);
            pos_after[k]   = below3(r, ~prev, ~qty, 2'd2);
            short_after[k] = !below3(r, ~prev, ~twice_max, 2'd1);
        end
        // price_band: |price - reference| > band, as price above reference + band or below reference - band.
        for (k = 0; k < 4; k = k + 1)
            band_out[k] = cfg_ref_valid[k] && (!band_hi_over[k] && s_price > band_hi[32*k +: 32] ||
                                               !band_lo_under[k] && s_price < band_lo[32*k +: 32]);
    end

    // ---- stage B: the verdict -------------------------------------------------------------------------------
    wire        bad_pos  = |(a_side_hot & (a_after ? a_pos_after | {8{a_no_qty}} & a_short_after : a_pos));
    wire        bad_band = |(a_slot_hot & a_band);
    wire [4:0]  reasons  = {rate_full, bad_pos, bad_band, a_bad_qty, a_kill};
    wire        accept   = reasons == 5'd0;
    wire        take     = a_valid && accept;

    // The acceptances still counting the cycle after next: each loses its count after its last cycle; an
    // acceptance now enters first, counting from the next cycle when the window is 2 cycles or more. Whether
    // next cycle is an acceptance's last is known a cycle ahead (its before_last is now + 1), from the
    // comparison of each 3-bit chunk with now + 1's, done a cycle ahead too (with now + 2), so that this cycle
    // only picks. An acceptance entering has before_last now + 1 (+ 2) for a window of 3 (4) cycles.
    reg  [RATE_DEPTH-1:0]        stays_next, last_after, last_next_next;
    reg  [CHUNKS*RATE_DEPTH-1:0] near_now, near_next;
    reg  [32:0]                  lasts_x, now2_x;   // a 33rd bit, so that every chunk has 3
    integer i, h;
    always @* begin
        stays_next = take ? {stays[RATE_DEPTH-2:0] & ~last_next[RATE_DEPTH-2:0], lives && !bl_now}
                          : stays & ~last_next;
        now2_x = {1'b0, now2};
        for (i = 0; i < RATE_DEPTH; i = i + 1) begin
            last_after[i] = &near[CHUNKS*i +: CHUNKS];
            lasts_x = {1'b0, lasts[32*i +: 32]};
            for (h = 0; h < CHUNKS; h = h + 1) near_now[CHUNKS*i + h] = lasts_x[3*h +: 3] == now2_x[3*h +: 3];
        end
        last_next_next = take ? {last_after[RATE_DEPTH-2:0], bl_now1} : last_after;
        near_next = take ? {near_now[CHUNKS*(RATE_DEPTH-1)-1:0], {CHUNKS{bl_now2}}} : near_now;
    end
    // after an acceptance now, the cfg_rate_max-th latest is the one before it
    wire        rate_full_taken = nth_first ? lives : |(stays & nth_before);

    // The next values of the bounds and of the working shares.
    reg  [8*W-1:0]  working_next, limit_next, room_next;
    reg  [4*32-1:0] band_hi_next, band_lo_next;
    reg  [3:0]      band_hi_over_next, band_lo_under_next;
    reg  [31:0]     before_last_next;
    reg  [W-1:0]    held;
    reg  [32:0]     sum;
    /* verilator lint_off UNUSEDSIGNAL */     // the carry out
    wire [32:0]     sum_m1 = add32(cfg_rate_window, 32'hFFFF_FFFF, 1'b0);
    /* verilator lint_on UNUSEDSIGNAL */
    always @* begin
        sum              = add32(now, window_m1, 1'b0);
        before_last_next = sum[31:0];
        if (rst) begin
            sum              = add32(cfg_rate_window, 32'hFFFF_FFFE, 1'b0);
            before_last_next = sum[31:0];
        end
        for (k = 0; k < 4; k = k + 1) begin
            held = {{(W-32){cfg_held[32*k + 31]}}, cfg_held[32*k +: 32]};
            limit_next[W*(2*k) +: W]   = add36({{(W-32){1'b0}}, cfg_max_position}, ~held, 1'b1);
            limit_next[W*(2*k+1) +: W] = add36({{(W-32){1'b0}}, cfg_max_position}, held, 1'b0);
            sum = add32(cfg_ref_prices[32*k +: 32], cfg_band, 1'b0);
            {band_hi_over_next[k], band_hi_next[32*k +: 32]} = sum;
            sum = add32(cfg_ref_prices[32*k +: 32], ~cfg_band, 1'b1);
            {band_lo_under_next[k], band_lo_next[32*k +: 32]} = {!sum[32], sum[31:0]};
        end
        for (k = 0; k < 8; k = k + 1) begin
            working_next[W*k +: W] = (take && a_side_hot[k]) ? add36(working[W*k +: W], prev, 1'b0)
                                                             : working[W*k +: W];
            room_next[W*k +: W] = (take && a_side_hot[k]) ? add36(room[W*k +: W], ~prev, 1'b1)
                                                          : add36(limit[W*k +: W], ~working[W*k +: W], 1'b1);
        end
    end

    // ---- output queue: the accepted orders, the head is q[0] -------------------------------------------------
    reg  [98:0] q [0:1];
    always @* begin
        m_valid = q_count != 2'd0;
        {m_slot, m_sell, m_price, m_shares, m_tag} = q[0];
    end

    always @(posedge clk) begin
        if (rst) begin
            now       <= 32'd0;
            now2      <= 32'd2;
            stays     <= {RATE_DEPTH{1'b0}};
            rate_full <= 1'b0;
            a_valid   <= 1'b0;
            q_count   <= 2'd0;
            v_valid   <= 1'b0;
            working   <= {8*W{1'b0}};
        end else begin
            now       <= inc32(now);
            now2      <= inc32(now2);
            stays     <= stays_next;
            rate_full <= take ? rate_full_taken : |(stays & nth);
            a_valid   <= s_fire;
            q_count   <= q_count - {1'b0, pop} + {1'b0, take};
            v_valid   <= a_valid;
            working   <= working_next;
        end
    end

    // The bounds and the datapath need no reset (the bounds are recomputed every cycle).
    always @(posedge clk) begin
        for (i = 0; i < RATE_DEPTH; i = i + 1) begin
            nth[i]        <= cfg_rate_max[3:0] - 4'd1 == i[3:0];
            nth_before[i] <= cfg_rate_max[3:0] - 4'd2 == i[3:0] && cfg_rate_max != 5'd1;
        end
        nth_first  <= cfg_rate_max == 5'd1;
        lives      <= cfg_rate_window > 32'd1;
        window_m1  <= sum_m1[31:0];
        // before_last is now + window_m1 - 1 (cfg_rate_window - 2 from rst): whether it is now, now + 1 or
        // now + 2 is a comparison of the window alone
        bl_now     <= rst ? cfg_rate_window == 32'd2 : window_m1 == 32'd1;
        bl_now1    <= rst ? cfg_rate_window == 32'd3 : window_m1 == 32'd2;
        bl_now2    <= rst ? cfg_rate_window == 32'd4 : window_m1 == 32'd3;
        before_last <= before_last_next;
        twice_max  <= {{(W-33){1'b0}}, cfg_max_position, 1'b0};
        limit      <= limit_next;
        band_hi    <= band_hi_next;
        band_lo    <= band_lo_next;
        band_hi_over  <= band_hi_over_next;
        band_lo_under <= band_lo_under_next;
        room       <= room_next;
        last_next  <= last_next_next;
        near       <= near_next;
        if (take) lasts <= {lasts[32*(RATE_DEPTH-1)-1:0], before_last};
        if (s_fire) begin
            a_slot      <= s_slot;
            a_sell      <= s_sell;
            a_price     <= s_price;
            a_shares    <= s_shares;
            a_tag       <= s_tag;
            a_side_hot  <= side_hot;
            a_slot_hot  <= 4'b0001 << s_slot;
            a_kill      <= kill;
            a_bad_qty   <= s_shares > cfg_max_shares;
            a_band      <= band_out;
            a_pos       <= pos_now;
            a_pos_after <= pos_after;
            a_short_after <= short_after;
            a_no_qty    <= no_qty;
            a_after     <= take && a_side_hot == side_hot;
        end
        if (a_valid) begin
            v_accept  <= accept;
            v_reasons <= reasons;
        end
        if (pop) q[0] <= q[1];
        if (take) q[q_count - {1'b0, pop} == 2'd0 ? 0 : 1] <= {a_slot, a_sell, a_price, a_shares, a_tag};
    end

    // x + y + z + c < 0 (W bits, two's complement, c of 0 to 3): the three summed as two (carry-save), then added.
    function below3(input [W-1:0] x, input [W-1:0] y, input [W-1:0] z, input [1:0] c);
        reg [W-1:0] s, cy, t;
        begin
            s      = x ^ y ^ z;
            cy     = {(x[W-2:0] & y[W-2:0]) | (x[W-2:0] & z[W-2:0]) | (y[W-2:0] & z[W-2:0]), c[1]};
            t      = add36(s, cy, c[0]);
            below3 = t[W-1];
        end
    endfunction

    // x + y + cin in 33 bits (bit 32: the carry out), as adders of 10 bits summed for a carry in of 0 and of 1
    // and chosen by the carry into each, looked ahead over the ones below: no carry chain longer than 12 bits
    // between the inputs and the result ({x, 1} + {y, c} is x + y + c in one adder, above its lowest bit).
    function [32:0] add32(input [31:0] x, input [31:0] y, input cin);
        /* verilator lint_off UNUSEDSIGNAL */     // the lowest bit of each sum
        reg [11:0] s0, s1a, s1b, s2a, s2b;
        reg [3:0]  s3a, s3b;
        /* verilator lint_on UNUSEDSIGNAL */
        reg        c1, c2, c3;
        begin
            s0  = {1'b0, x[9:0], 1'b1} + {1'b0, y[9:0], cin};
            s1a = {1'b0, x[19:10], 1'b1} + {1'b0, y[19:10], 1'b0};
            s1b = {1'b0, x[19:10], 1'b1} + {1'b0, y[19:10], 1'b1};
            s2a = {1'b0, x[29:20], 1'b1} + {1'b0, y[29:20], 1'b0};
            s2b = {1'b0, x[29:20], 1'b1} + {1'b0, y[29:20], 1'b1};
            s3a = {1'b0, x[31:30], 1'b1} + {1'b0, y[31:30], 1'b0};
            s3b = {1'b0, x[31:30], 1'b1} + {1'b0, y[31:30], 1'b1};
            c1  = s0[11];
            c2  = s1a[11] | s1b[11] & s0[11];
            c3  = s2a[11] | s2b[11] & (s1a[11] | s1b[11] & s0[11]);
            add32 = {s3a[3] | s3b[3] & c3, c3 ? s3b[2:1] : s3a[2:1], c2 ? s2b[10:1] : s2a[10:1],
                     c1 ? s1b[10:1] : s1a[10:1], s0[10:1]};
        end
    endfunction

    // x + y + cin in 36 bits (carry out dropped), as add32 does it: adders of 10 bits chosen by the carry
    // looked ahead into each.
    function [35:0] add36(input [35:0] x, input [35:0] y, input cin);
        /* verilator lint_off UNUSEDSIGNAL */     // the lowest bit of each sum, the carry out
        reg [11:0] s0, s1a, s1b, s2a, s2b;
        reg [7:0]  s3a, s3b;
        /* verilator lint_on UNUSEDSIGNAL */
        reg        c1, c2, c3;
        begin
            s0  = {1'b0, x[9:0], 1'b1} + {1'b0, y[9:0], cin};
            s1a = {1'b0, x[19:10], 1'b1} + {1'b0, y[19:10], 1'b0};
            s1b = {1'b0, x[19:10], 1'b1} + {1'b0, y[19:10], 1'b1};
            s2a = {1'b0, x[29:20], 1'b1} + {1'b0, y[29:20], 1'b0};
            s2b = {1'b0, x[29:20], 1'b1} + {1'b0, y[29:20], 1'b1};
            s3a = {1'b0, x[35:30], 1'b1} + {1'b0, y[35:30], 1'b0};
            s3b = {1'b0, x[35:30], 1'b1} + {1'b0, y[35:30], 1'b1};
            c1  = s0[11];
            c2  = s1a[11] | s1b[11] & s0[11];
            c3  = s2a[11] | s2b[11] & (s1a[11] | s1b[11] & s0[11]);
            add36 = {c3 ? s3b[6:1] : s3a[6:1], c2 ? s2b[10:1] : s2a[10:1], c1 ? s1b[10:1] : s1a[10:1], s0[10:1]};
        end
    endfunction

    // x + 1, wrapping.
    function [31:0] inc32(input [31:0] x);
        /* verilator lint_off UNUSEDSIGNAL */     // the carry out
        reg [32:0] wide;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            wide  = add32(x, 32'd1, 1'b0);
            inc32 = wide[31:0];
        end
    endfunction

endmodule

`default_nettype wire
