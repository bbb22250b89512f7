// MoldUDP64 framer: splits the UDP payload of MoldUDP64 packets into ITCH messages.
//
// Input : one packet per tlast-delimited stream (64-bit beats, stream byte k of a beat in s_tdata[8k+7:8k],
//         s_tkeep all ones except possibly on the last beat, where it is contiguous from lane 0).
// Output: one ITCH message per tlast-delimited stream on a 128-bit stream of 8-byte words, re-aligned so that
//         its type byte is in m_tdata[7:0]. Every beat but the last carries one word (m_tkeep 16'h00FF) or two
//         (16'hFFFF) of the message; the last carries its last 1 to 16 bytes (m_tkeep contiguous from lane 0,
//         unused lanes zero). m_seq is the MoldUDP64 sequence number of the message, valid with every beat.
// Status: one stat_valid pulse per packet once its 20-byte header is in: the packet's sequence number and
//         count, the sequence number expected before it, and the flags. A gap is a packet numbered above the
//         expected number (stat_seq - stat_expected messages are missing; they are skipped, not held).
//         Messages numbered below the expected number are duplicates and are dropped. stat_end_session stays
//         set from the end-of-session packet on. The first packet after reset fixes the expected number.
//         err_malformed pulses when a packet ends before its count of message blocks does (the message cut
//         short is still closed with m_tlast) or carries bytes after them (dropped).
// The session name is not checked. A zero-length message block is counted in the sequence and not output.
//
// Latency and rate: with the output ready, a message's last beat is valid the cycle after the input beat
// holding its last byte is taken, whatever the message's place in its packet or its alignment in the beats, as
// long as no two messages end in one input beat (every message of 7 bytes or more: all of ITCH). The block takes
// one input beat per cycle inside a packet; it waits one cycle after a packet's last beat.
//
// Internals: a byte buffer of 32 bytes holds the unconsumed bytes of the current packet, oldest in byte 0.
// Each cycle consumes the header (20 bytes), or a length prefix with the first words of its message, or up to
// two words (16 bytes) of the current message, from the front, and appends the accepted input beat behind the
// rest. Sending whole words, twice the input rate, keeps at most 15 bytes of a message waiting, so its last
// word always leaves in one beat. A packet's beats are not accepted before the previous packet has left the
// buffer, so one buffer never holds two packets.
// Depth: what the front allows is worked out for both cases (a length prefix consumed this cycle or not) from
// the registers, then picked; the input beat is placed at fill (a register) before the front is consumed, and
// each way of consuming (a constant count, or a count held in a register) is a shift of its own, picked one-hot,
// with whether a beat leaves (the output's ready) picking last. The next expected sequence number is worked out
// over the 2 cycles after a header, and the number after the current message's is kept in a register.
`default_nettype none

module moldudp64_framer (
    input  wire         clk,
    input  wire         rst,
    // UDP payload in
    input  wire [63:0]  s_tdata,
    input  wire [7:0]   s_tkeep,
    input  wire         s_tvalid,
    input  wire         s_tlast,
    output wire         s_tready,
    // ITCH messages out
    output wire [127:0] m_tdata,
    output wire [15:0]  m_tkeep,
    output wire         m_tvalid,
    output wire         m_tlast,
    input  wire         m_tready,
    output wire [63:0]  m_seq,
    // per-packet status
    output reg          stat_valid,
    output reg  [63:0]  stat_seq,
    output reg  [15:0]  stat_count,
    output reg  [63:0]  stat_expected,
    output reg          stat_gap,
    output reg          stat_heartbeat,
    output reg          stat_end_session,
    output reg          err_malformed
);

    localparam [1:0] ST_HDR   = 2'd0;  // the 20-byte header: session name, sequence number, count
    localparam [1:0] ST_LEN   = 2'd1;  // length prefix of the next message block (and its first words)
    localparam [1:0] ST_MSG   = 2'd2;  // message bytes
    localparam [1:0] ST_DRAIN = 2'd3;  // after the last block (or a heartbeat, end of session): wait for tlast

    reg [255:0] buffer;     // byte k in buffer[8k+7:8k]; bytes at and above fill are zero
    reg [5:0]   fill;       // bytes held, 0..32
    reg         last_in;    // the packet's last beat is in the buffer
    reg [1:0]   state;
    reg [15:0]  blocks_left;
    reg [15:0]  msg_left;   // bytes of the current message still to send
    reg [63:0]  cur_seq;    // sequence number of the current message
    reg [63:0]  seq_after;  // cur_seq + 1
    reg         cur_drop;   // the current message is a duplicate
    reg [63:0]  expected;
    reg         have_expected;
    reg         ended;
    reg         trailing;   // bytes after the last message block were dropped

    // --- what the front of the buffer allows this cycle -------------------------------------------------
    // left: bytes of the message still to send; have: of them, bytes in the buffer (at most). Both cases (the
    // length prefix consumed this cycle, or not) are worked out from the registers, then one is picked.
    wire [15:0] len_value = {buffer[7:0], buffer[15:8]};
    wire        len_step  = (state == ST_LEN) && fill >= 6'd2;   // the length prefix is consumed this cycle
    wire [5:0]  fill_m2   = fill - 6'd2;
    wire        sending   = (state == ST_MSG) || (len_step && len_value != 16'd0);
    wire        whole_p, cut_p, whole_m, cut_m;                  // with the prefix (left len_value, have
    wire [4:0]  send_p, send_m;                                  // fill - 2), without (msg_left, fill)
    assign {whole_p, cut_p, send_p} = allows(len_value, fill_m2, last_in);
    assign {whole_m, cut_m, send_m} = allows(msg_left, fill, last_in);
    wire        whole     = len_step ? whole_p : whole_m;        // the rest of the message is here, one beat
    wire        cut       = len_step ? cut_p : cut_m;
    wire [4:0]  send      = len_step ? send_p : send_m;           // bytes sent
    // (a beat leaves with the rest, a cut, or whole words: 8 bytes or more in the buffer)
    wire        out_beat  = sending && (len_step ? whole_p || cut_p || fill_m2 >= 6'd8
                                                 : whole_m || cut_m || fill >= 6'd8);
    wire        out_last  = whole || cut;
    wire [127:0] front    = len_step ? buffer[143:16] : buffer[127:0];

    assign m_tvalid = out_beat && !cur_drop;
    assign m_tlast  = out_last;
    assign m_tkeep  = keep_mask(send);
    assign m_tdata  = front & lane_mask(send);
    assign m_seq    = cur_seq;

    wire        out_fire = out_beat && (m_tready || cur_drop);
    // bytes of the message left once a beat leaves: none after its rest, else 16 or 8 fewer (a cut ends the packet)
    wire [15:0] len_less16 = len_value - 16'd16, len_less8 = len_value - 16'd8;
    wire [15:0] msg_less16 = msg_left - 16'd16, msg_less8 = msg_left - 16'd8;
    wire [15:0] msg_rest   = whole ? 16'd0
                           : len_step ? (send_p == 5'd16 ? len_less16 : len_less8)
                                      : (send_m == 5'd16 ? msg_less16 : msg_less8);
    wire [15:0] blocks_after = len_step ? blocks_left - 16'd1 : blocks_left;

    // A packet ends when its last beat is in and the state cannot consume what is left, or when its last
    // message leaves with nothing behind it.
    wire        hdr_cut  = (state == ST_HDR) && last_in && fill < 6'd20;
    wire        len_cut  = (state == ST_LEN) && last_in && fill < 6'd2;
    wire        drained  = (state == ST_DRAIN) && last_in && fill <= 6'd16;
    // (the whole rest of a message leaves, and nothing is behind it: fill == take)
    wire        clean    = out_fire && whole && (len_step ? blocks_left == 16'd1 : blocks_left == 16'd0) && last_in &&
                           (len_step ? fill_m2 == len_value[5:0] : fill == msg_left[5:0]);
    wire        pkt_done = hdr_cut || len_cut || drained || (out_fire && cut) || clean;

    // --- input ------------------------------------------------------------------------------------------
    assign s_tready = !last_in && fill <= 6'd24;
    wire        in_fire  = s_tvalid && s_tready;
    wire [3:0]  in_bytes = s_tlast ? keep_count(s_tkeep) : 4'd8;

    // The next buffer: the input beat appended at fill (a register: s_tready keeps fill <= 24), then the bytes
    // consumed dropped from the front. What is consumed is one of a few cases, each a shift by a constant or by a
    // count held in a register, worked out beside the decision that picks one (one-hot). Consuming everything
    // leaves only the beat: the bytes at and above fill are zero.
    wire [63:0]  in_beat  = s_tdata & lane_keep(s_tlast ? s_tkeep : 8'hFF);
    reg  [32:0]  at_fill;                        // one-hot: fill
    reg  [255:0] appended;
    integer b, j;
    always @(*) begin
        for (b = 0; b <= 32; b = b + 1) at_fill[b] = fill == b[5:0];
        appended = buffer;
        for (b = 0; b < 32; b = b + 1)
            for (j = 0; j < 8; j = j + 1)
                if (b >= j && b - j <= 24)
                    appended[8*b +: 8] = appended[8*b +: 8] | {8{in_fire && at_fill[b - j]}} & in_beat[8*j +: 8];
    end
    wire [5:0]   in_count = in_fire ? {2'b0, in_bytes} : 6'd0;
    wire [5:0]   grown    = fill + in_count;
    // (a message's rest leaving shifts by a count in a register: the beat is placed apart, behind what is kept)
    wire [5:0]   kept_lwhole = fill_m2 - {1'b0, len_value[4:0]};
    wire [5:0]   kept_mwhole = fill - {1'b0, msg_left[4:0]};
    // when a beat leaves (out_fire): the prefix (if consumed) and the bytes sent
    wire         f_lwhole = len_step && whole_p;                                        // 2 + len_value
    wire         f_l16    = len_step && !whole_p && !cut_p && send_p == 5'd16;          // 18
    wire         f_l8     = len_step && !whole_p && !cut_p && send_p == 5'd8;           // 10
    wire         f_mwhole = !len_step && whole_m;                                       // msg_left
    wire         f_m16    = !len_step && !whole_m && !cut_m && send_m == 5'd16;         // 16
    wire         f_m8     = !len_step && !whole_m && !cut_m && send_m == 5'd8;          // 8
    wire         f_all    = len_step ? cut_p : cut_m;                                   // fill
    // else: the header, the prefix alone, 16 bytes or the rest drained after the last block, or nothing
    wire         n_hdr    = state == ST_HDR && fill >= 6'd20;                           // 20
    wire         n_d16    = state == ST_DRAIN && fill > 6'd16;                          // 16
    wire         n_all    = state == ST_DRAIN && fill <= 6'd16;                         // fill
    wire         n_none   = !(n_hdr || len_step || n_d16 || n_all);                     // 0
    wire [255:0] buffer_fire =
          {256{f_lwhole}} & ((buffer >> {len_value[4:0] + 5'd2, 3'b000}) | place(in_fire, in_beat, kept_lwhole))
        | {256{f_l16}} & (appended >> 144)
        | {256{f_l8}} & (appended >> 80)
        | {256{f_mwhole}} & ((buffer >> {msg_left[4:0], 3'b000}) | place(in_fire, in_beat, kept_mwhole))
        | {256{f_m16}} & (appended >> 128)
        | {256{f_m8}} & (appended >> 64)
        | {256{f_all}} & {192'd0, in_fire ? in_beat : 64'd0};
    wire [255:0] buffer_held =
          {256{n_none}} & appended
        | {256{n_hdr}} & (appended >> 160)
        | {256{len_step}} & (appended >> 16)
        | {256{n_d16}} & (appended >> 128)
        | {256{n_all}} & {192'd0, in_fire ? in_beat : 64'd0};
    wire [255:0] buffer_next = out_fire ? buffer_fire : buffer_held;
    wire [5:0]   fill_fire =
          {6{f_lwhole}} & (grown - 6'd2 - {1'b0, len_value[4:0]})
        | {6{f_l16}} & (grown - 6'd18)
        | {6{f_l8}} & (grown - 6'd10)
        | {6{f_mwhole}} & (grown - {1'b0, msg_left[4:0]})
        | {6{f_m16}} & (grown - 6'd16)
        | {6{f_m8}} & (grown - 6'd8)
        | {6{f_all}} & in_count;
    wire [5:0]   fill_held =
          {6{n_none}} & grown
        | {6{n_hdr}} & (grown - 6'd20)
        | {6{len_step}} & (grown - 6'd2)
        | {6{n_d16}} & (grown - 6'd16)
        | {6{n_all}} & in_count;
    wire [5:0]   fill_next = out_fire ? fill_fire : fill_held;

    // --- header fields (big-endian on the wire) after the 10-byte session name ------------------------------
    wire [63:0] hdr_seq   = {buffer[87:80], buffer[95:88], buffer[103:96], buffer[111:104],
                             buffer[119:112], buffer[127:120], buffer[135:128], buffer[143:136]};
    wire [15:0] hdr_count = {buffer[151:144], buffer[159:152]};
    wire        hdr_hb    = hdr_count == 16'h0000;
    wire        hdr_eos   = hdr_count == 16'hFFFF;
    wire [15:0] hdr_msgs  = (hdr_hb || hdr_eos) ? 16'd0 : hdr_count;
    wire [63:0] exp_now   = have_expected ? expected : hdr_seq;
    wire [63:0] hdr_after = add64(hdr_seq, 64'd1);
    wire [63:0] seq_after_next = add64(seq_after, 64'd1);
    wire [63:0] next_seq  = seq_after;

    // The next expected number, max(seq + count, expected now), is worked out over the 2 cycles after the header
    // (the next header is 4 cycles away at least): the sum, then the comparison.
    reg         exp_sum, exp_pick;                   // a sum is due, a choice is due
    reg  [63:0] exp_seq, exp_base, exp_next;
    reg  [15:0] exp_msgs;
    always @(posedge clk) begin
        if (rst) begin
            exp_sum  <= 1'b0;
            exp_pick <= 1'b0;
        end else begin
            exp_sum  <= n_hdr;
            exp_pick <= exp_sum;
        end
        if (state == ST_HDR) begin
            exp_seq  <= hdr_seq;
            exp_msgs <= hdr_msgs;
            exp_base <= exp_now;
        end
        exp_next <= add64(exp_seq, {48'd0, exp_msgs});
    end

    always @(posedge clk) begin
        stat_valid    <= 1'b0;
        err_malformed <= 1'b0;
        if (exp_pick) expected <= (exp_next > exp_base) ? exp_next : exp_base;
        if (rst) begin
            buffer           <= 256'd0;
            fill             <= 6'd0;
            last_in          <= 1'b0;
            state            <= ST_HDR;
            blocks_left      <= 16'd0;
            msg_left         <= 16'd0;
            cur_seq          <= 64'd0;
            seq_after        <= 64'd1;
            cur_drop         <= 1'b0;
            expected         <= 64'd0;
            have_expected    <= 1'b0;
            ended            <= 1'b0;
            trailing         <= 1'b0;
            stat_seq         <= 64'd0;
            stat_count       <= 16'd0;
            stat_expected    <= 64'd0;
            stat_gap         <= 1'b0;
            stat_heartbeat   <= 1'b0;
            stat_end_session <= 1'b0;
        end else if (pkt_done) begin
            // s_tready is low while last_in is set, so no beat arrives in this cycle.
            buffer        <= 256'd0;
            fill          <= 6'd0;
            last_in       <= 1'b0;
            state         <= ST_HDR;
            trailing      <= 1'b0;
            err_malformed <= !clean && ((state != ST_DRAIN) || (fill != 6'd0) || trailing);
            if (out_fire && out_last) begin
                cur_seq   <= next_seq;
                seq_after <= seq_after_next;
                cur_drop  <= next_seq < stat_expected;
            end
        end else begin
            buffer <= buffer_next;
            fill   <= fill_next;
            if (in_fire && s_tlast) last_in <= 1'b1;
            case (state)
                ST_HDR: if (n_hdr) begin
                    stat_valid       <= 1'b1;
                    stat_seq         <= hdr_seq;
                    stat_count       <= hdr_count;
                    stat_expected    <= exp_now;
                    stat_gap         <= have_expected && (hdr_seq > expected);
                    stat_heartbeat   <= hdr_hb;
                    stat_end_session <= ended || hdr_eos;
                    ended            <= ended || hdr_eos;
                    have_expected    <= 1'b1;
                    blocks_left      <= hdr_msgs;
                    cur_seq          <= hdr_seq;
                    seq_after        <= hdr_after;
                    cur_drop         <= hdr_seq < exp_now;
                    state            <= (hdr_msgs == 16'd0) ? ST_DRAIN : ST_LEN;
                end
                ST_LEN, ST_MSG: begin
                    if (len_step) begin
                        blocks_left <= blocks_after;
                        msg_left    <= len_value;
                        state       <= ST_MSG;
                    end
                    if (out_fire) msg_left <= msg_rest;
                    if ((len_step && len_value == 16'd0) || (out_fire && out_last)) begin
                        state     <= next_block(blocks_after);
                        cur_seq   <= next_seq;
                        seq_after <= seq_after_next;
                        cur_drop  <= next_seq < stat_expected;
                    end
                end
                default: if (fill != 6'd0) trailing <= 1'b1;
            endcase
        end
    end

    // What the front of the buffer allows for a message with `left_in` bytes still to send and `have_in` of them
    // (at most) in the buffer: {its rest in one beat (whole), the packet cut short (cut), the bytes sent}. The
    // comparisons of the 16-bit count with the 6-bit one are split (its upper bits zero, its lower 6 compared).
    function [6:0] allows(input [15:0] left_in, input [5:0] have_in, input last);
        reg       short, have_all, whole_f, cut_f;
        reg [4:0] send_f;
        begin
            short    = left_in[15:5] == 11'd0 && (!left_in[4] || left_in[3:0] == 4'd0);   // left_in <= 16
            have_all = left_in[15:6] == 10'd0 && have_in >= left_in[5:0];                   // have_in >= left_in
            whole_f  = short && have_all;
            cut_f    = last && !have_all && have_in <= 6'd16;
            if (whole_f)                        send_f = left_in[4:0];
            else if (cut_f)                     send_f = have_in[4:0];
            else if (have_in >= 6'd16 && !short) send_f = 5'd16;
            else if (have_in >= 6'd8)           send_f = 5'd8;
            else                                send_f = 5'd0;
            allows = {whole_f, cut_f, send_f};
        end
    endfunction

    // x + y, 64 bits wrapping: two carry-select adders of 32 bits, the upper one summed for both carries in.
    function [63:0] add64(input [63:0] x, input [63:0] y);
        /* verilator lint_off UNUSEDSIGNAL */     // the carries out of the upper half
        reg [32:0] lo, hi0, hi1;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            lo    = add32(x[31:0], y[31:0], 1'b0);
            hi0   = add32(x[63:32], y[63:32], 1'b0);
            hi1   = add32(x[63:32], y[63:32], 1'b1);
            add64 = {lo[32] ? hi1[31:0] : hi0[31:0], lo[31:0]};
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

    // The state after a message block, given the blocks left after it.
    function [1:0] next_block(input [15:0] left_after);
        next_block = (left_after == 16'd0) ? ST_DRAIN : ST_LEN;
    endfunction

    function [15:0] keep_mask(input [4:0] bytes);
        integer k;
        begin
            for (k = 0; k < 16; k = k + 1) keep_mask[k] = {27'd0, bytes} > k;
        end
    endfunction

    function [127:0] lane_mask(input [4:0] bytes);
        integer k;
        begin
            for (k = 0; k < 16; k = k + 1) lane_mask[8*k +: 8] = ({27'd0, bytes} > k) ? 8'hFF : 8'h00;
        end
    endfunction

    // The beat at byte `offset` (0..24) of 32, when `valid`.
    function [255:0] place(input valid, input [63:0] beat, input [5:0] offset);
        integer p, q;
        begin
            place = 256'd0;
            for (p = 0; p < 32; p = p + 1)
                for (q = 0; q < 8; q = q + 1)
                    if (p >= q && p - q <= 24)
                        place[8*p +: 8] = place[8*p +: 8] | {8{valid && {26'd0, offset} == p - q}} & beat[8*q +: 8];
        end
    endfunction

    // A byte mask of the lanes kept (tkeep is contiguous from lane 0).
    function [63:0] lane_keep(input [7:0] keep);
        integer k;
        begin
            for (k = 0; k < 8; k = k + 1) lane_keep[8*k +: 8] = {8{keep[k]}};
        end
    endfunction

    // Bytes of a last beat: tkeep is contiguous from lane 0.
    function [3:0] keep_count(input [7:0] keep);
        integer k;
        begin
            keep_count = 4'd0;
            for (k = 0; k < 8; k = k + 1) if (keep[k]) keep_count = k[3:0] + 4'd1;
        end
    endfunction

endmodule

`default_nettype wire
