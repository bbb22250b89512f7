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
// Internals: a circular buffer of 32 bytes holds the unconsumed bytes of the current packet: the packet's byte s
// is in byte s mod 32, the oldest at rd, the next input beat going to wr. Each cycle consumes the header (20
// bytes), or a length prefix with the first words of its message, or up to two words (16 bytes) of the current
// message, from rd, and writes the accepted input beat at wr. Sending whole words, twice the input rate, keeps at
// most 15 bytes of a message waiting, so its last word always leaves in one beat. A packet's beats are not
// accepted before the previous packet has left the buffer, so one buffer never holds two packets.
// Depth: consuming moves rd and moves no byte, so the buffer's next value is only the beat written at wr (a
// register), and the output is the buffer read from rd (a register). What the front allows is worked out for both
// cases (a length prefix consumed this cycle or not) from the registers, then picked; the next rd, fill and fill - 2
// are worked out for each way of consuming (a constant, or a count held in a register) and picked one-hot, with
// whether a beat leaves picking last. The next length prefix is read beside the decision, at each place a way of
// consuming can leave it (behind the header, the prefix, a whole message), and registered (len_value), picked by
// the state alone; s_tready is worked out a cycle ahead. The next expected sequence number is worked out over the 2
// cycles after a header, and the number after the current message's is kept in a register.
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

    reg [255:0] buffer;     // circular: the packet's stream byte s in byte s mod 32 (buffer[8k+7:8k] is byte k)
    reg [4:0]   rd;         // where the unconsumed bytes start
    reg [4:0]   wr;         // where the next input beat goes: rd + fill (mod 32)
    reg [5:0]   fill;       // bytes held, 0..32
    reg [5:0]   fill2;      // fill - 2 (mod 64): what the front holds behind a length prefix
    reg [15:0]  len_value;  // the two bytes at rd, big-endian: the length prefix in ST_LEN once fill >= 2
    reg [4:0]   msg_end;    // rd + msg_left (mod 32) in ST_MSG: where the next length prefix is
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

    // The buffer from rd on (a rotation by a register: nothing is shifted when bytes are consumed).
    wire [511:0] twice = {buffer, buffer};
    /* verilator lint_off UNUSEDSIGNAL */     // (its first 18 bytes are read)
    wire [255:0] ahead = twice[{1'b0, rd, 3'b000} +: 256];
    /* verilator lint_on UNUSEDSIGNAL */

    // --- what the front of the buffer allows this cycle -------------------------------------------------
    // left: bytes of the message still to send; have: of them, bytes in the buffer (at most). Both cases (the
    // length prefix consumed this cycle, or not) are worked out from the registers, then one is picked.
    wire        len_step  = (state == ST_LEN) && fill >= 6'd2;   // the length prefix is consumed this cycle
    wire        sending   = (state == ST_MSG) || (len_step && len_value != 16'd0);
    // (the bytes kept behind the message's rest when all of it is in the buffer)
    wire [5:0]  kept_lwhole = fill2 - len_value[5:0], kept_mwhole = fill - msg_left[5:0];
    wire        whole_p, cut_p, whole_m, cut_m;                  // with the prefix (left len_value, have
    wire [4:0]  send_p, send_m;                                  // fill - 2), without (msg_left, fill)
    assign {whole_p, cut_p, send_p} = allows(len_value, fill2, at_least(fill2, len_value[5:0]), last_in);
    assign {whole_m, cut_m, send_m} = allows(msg_left, fill, at_least(fill, msg_left[5:0]), last_in);
    wire        whole     = len_step ? whole_p : whole_m;        // the rest of the message is here, one beat
    wire        cut       = len_step ? cut_p : cut_m;
    wire [4:0]  send      = len_step ? send_p : send_m;           // bytes sent
    // (a beat leaves with the rest, a cut, or whole words: 8 bytes or more in the buffer)
    wire        out_beat  = sending && (len_step ? whole_p || cut_p || fill >= 6'd10
                                                 : whole_m || cut_m || fill >= 6'd8);
    wire        out_last  = whole || cut;
    wire [127:0] front    = len_step ? ahead[143:16] : ahead[127:0];

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
    wire        none_after   = len_step ? blocks_left == 16'd1 : blocks_left == 16'd0;

    // A packet ends when its last beat is in and the state cannot consume what is left, or when its last
    // message leaves with nothing behind it.
    wire        len_cut  = (state == ST_LEN) && last_in && fill < 6'd2;
    wire        hdr_cut  = (state == ST_HDR) && last_in && fill < 6'd20;
    wire        drained  = (state == ST_DRAIN) && last_in && fill <= 6'd16;
    // (the whole rest of a message leaves, and nothing is behind it: fill == take)
    wire        clean    = out_fire && whole && none_after && last_in &&
                           (len_step ? fill2 == len_value[5:0] : fill == msg_left[5:0]);
    wire        pkt_done = hdr_cut || len_cut || drained || (out_fire && cut) || clean;

    // --- input ------------------------------------------------------------------------------------------
    reg         ready;      // s_tready: !last_in && fill <= 24, worked out a cycle ahead
    assign s_tready = ready;
    wire        in_fire  = s_tvalid && s_tready;
    wire [3:0]  in_bytes = s_tlast ? keep_count(s_tkeep) : 4'd8;
    wire [63:0] in_beat  = s_tdata & lane_keep(s_tlast ? s_tkeep : 8'hFF);

    // The input beat is written at wr (a register; s_tready keeps fill <= 24, so the 8 bytes from wr are free).
    reg  [31:0]  at_wr;                          // one-hot: wr
    reg  [255:0] buffer_next;
    reg          hit;
    reg  [7:0]   byte_in;
    integer b, j;
    always @(*) begin
        for (b = 0; b < 32; b = b + 1) at_wr[b] = wr == b[4:0];
        for (b = 0; b < 32; b = b + 1) begin
            hit     = 1'b0;
            byte_in = 8'd0;
            for (j = 0; j < 8; j = j + 1) begin
                hit     = hit | at_wr[(b + 32 - j) % 32];
                byte_in = byte_in | {8{at_wr[(b + 32 - j) % 32]}} & in_beat[8*j +: 8];
            end
            buffer_next[8*b +: 8] = (in_fire && hit) ? byte_in : buffer[8*b +: 8];
        end
    end
    wire [5:0]   in_count = in_fire ? {2'b0, in_bytes} : 6'd0;

    // What is consumed: when a beat leaves (out_fire), the prefix (if consumed) and the bytes sent
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
    wire [4:0]   after_l  = rd + 5'd2 + len_value[4:0];         // after a whole message with its prefix
    wire [4:0]   rd_fire =
          {5{f_lwhole}} & after_l
        | {5{f_l16}} & (rd + 5'd18)
        | {5{f_l8}} & (rd + 5'd10)
        | {5{f_mwhole}} & msg_end
        | {5{f_m16}} & (rd + 5'd16)
        | {5{f_m8}} & (rd + 5'd8)
        | {5{f_all}} & wr;
    wire [4:0]   rd_held =
          {5{n_none}} & rd
        | {5{n_hdr}} & 5'd20                                    // (rd is 0 in ST_HDR)
        | {5{len_step}} & (rd + 5'd2)
        | {5{n_d16}} & (rd + 5'd16)
        | {5{n_all}} & wr;
    wire [4:0]   rd_next = out_fire ? rd_fire : rd_held;
    // (the bytes kept, from the registers, then the input's count added: the input is not on the kept's adders)
    wire [5:0]   fill_fire =
          {6{f_lwhole}} & (kept_lwhole + in_count)
        | {6{f_l16}} & ((fill - 6'd18) + in_count)
        | {6{f_l8}} & ((fill - 6'd10) + in_count)
        | {6{f_mwhole}} & (kept_mwhole + in_count)
        | {6{f_m16}} & ((fill - 6'd16) + in_count)
        | {6{f_m8}} & ((fill - 6'd8) + in_count)
        | {6{f_all}} & in_count;
    wire [5:0]   fill_held =
          {6{n_none}} & (fill + in_count)
        | {6{n_hdr}} & ((fill - 6'd20) + in_count)
        | {6{len_step}} & ((fill - 6'd2) + in_count)
        | {6{n_d16}} & ((fill - 6'd16) + in_count)
        | {6{n_all}} & in_count;
    wire [5:0]   fill_next = out_fire ? fill_fire : fill_held;
    wire [5:0]   fill2_fire =
          {6{f_lwhole}} & ((kept_lwhole - 6'd2) + in_count)
        | {6{f_l16}} & ((fill - 6'd20) + in_count)
        | {6{f_l8}} & ((fill - 6'd12) + in_count)
        | {6{f_mwhole}} & ((kept_mwhole - 6'd2) + in_count)
        | {6{f_m16}} & ((fill - 6'd18) + in_count)
        | {6{f_m8}} & ((fill - 6'd10) + in_count)
        | {6{f_all}} & (in_count - 6'd2);
    wire [5:0]   fill2_held =
          {6{n_none}} & (fill2 + in_count)
        | {6{n_hdr}} & ((fill - 6'd22) + in_count)
        | {6{len_step}} & ((fill - 6'd4) + in_count)
        | {6{n_d16}} & ((fill - 6'd18) + in_count)
        | {6{n_all}} & (in_count - 6'd2);
    wire [5:0]   fill2_next = out_fire ? fill2_fire : fill2_held;
    // s_tready next: the bytes kept leave room for a beat behind this cycle's (kept <= 16) or for one (<= 24);
    // a beat that is not the last is 8 bytes (after the last, s_tready stays low).
    wire         room16 = out_fire ? !(f_lwhole && kept_lwhole > 6'd16 || f_l8 && fill > 6'd26 ||
                                       f_mwhole && kept_mwhole > 6'd16 || f_m8 && fill > 6'd24)
                                   : !(n_none && fill > 6'd16 || len_step && fill > 6'd18);
    wire         room24 = out_fire ? !(f_lwhole && kept_lwhole > 6'd24 || f_mwhole && kept_mwhole > 6'd24)
                                   : !(n_none && fill > 6'd24 || len_step && fill > 6'd26);
    wire         ready_next = !last_in && !(in_fire && s_tlast) && (in_fire ? room16 : room24);

    // The next length prefix: the two bytes at the next rd, read for each way of consuming that can leave one
    // there, from the buffer (a rotation by a register) or the input beat's first bytes (when the bytes kept
    // after it are fewer than 2: the beat is written right behind them).
    wire [15:0]  len_hdr  = next_prefix(buffer[167:160], buffer[175:168], fill >= 6'd21, fill >= 6'd22,
                                        fill == 6'd21, in_beat[15:0]);
    wire [15:0]  len_none = next_prefix(ahead[7:0], ahead[15:8], fill >= 6'd1, fill >= 6'd2,
                                        fill == 6'd1, in_beat[15:0]);
    wire [15:0]  len_pfx  = next_prefix(ahead[23:16], ahead[31:24], fill >= 6'd3, fill >= 6'd4,
                                        fill == 6'd3, in_beat[15:0]);
    // (the bytes at rd + 2 + len_value: one read at a sum of the registers, not a shift of the rotated buffer)
    wire [15:0]  next_bytes = {byte_of(buffer, after_l + 5'd1), byte_of(buffer, after_l)};
    wire         kept_l0  = fill2 == len_value[5:0];
    wire         kept_l1  = fill2 == len_value[5:0] + 6'd1;
    wire [15:0]  len_lwhole = next_prefix(next_bytes[7:0], next_bytes[15:8], !kept_l0, !kept_l0 && !kept_l1, kept_l1,
                                          in_beat[15:0]);
    wire         kept_m0  = fill == msg_left[5:0];
    wire         kept_m1  = fill == msg_left[5:0] + 6'd1;
    wire [15:0]  len_mwhole = next_prefix(byte_of(buffer, msg_end), byte_of(buffer, msg_end + 5'd1), !kept_m0,
                                          !kept_m0 && !kept_m1, kept_m1,
                                          in_beat[15:0]);
    // (picked by the state alone: a prefix read where no way of consuming leaves one is never used, as the
    // state then goes to ST_MSG, ST_DRAIN or ST_HDR, and each of those reads the next one before ST_LEN)
    wire [15:0]  len_next = state == ST_HDR ? len_hdr
                          : state == ST_MSG ? len_mwhole
                          : !len_step ? len_none
                          : len_value == 16'd0 ? len_pfx : len_lwhole;

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

    // (a packet ends with no beat coming in: the buffer is written only by beats, whatever the decision)
    always @(posedge clk) begin
        if (rst) buffer <= 256'd0;
        else     buffer <= buffer_next;
    end

    // The packet's end (pkt_done) resets only what the next packet's header starts from; the rest is loaded
    // before it is used again (the header's fields, a block's length prefix), so it does not wait for pkt_done.
    wire        msg_done = (len_step && len_value == 16'd0) || (out_fire && out_last);   // a message block ends
    always @(posedge clk) begin
        if (rst || pkt_done) begin
            // (s_tready is low while last_in is set, so no beat arrives in a cycle that ends the packet)
            ready   <= 1'b1;
            rd      <= 5'd0;
            wr      <= 5'd0;
            fill    <= 6'd0;
            fill2   <= 6'd62;
            last_in <= 1'b0;
            state   <= ST_HDR;
        end else begin
            ready <= ready_next;
            rd    <= rd_next;
            wr    <= wr + in_count[4:0];
            fill  <= fill_next;
            fill2 <= fill2_next;
            if (in_fire && s_tlast) last_in <= 1'b1;
            if (n_hdr) state <= (hdr_msgs == 16'd0) ? ST_DRAIN : ST_LEN;
            else if (msg_done) state <= none_after ? ST_DRAIN : ST_LEN;
            else if (len_step) state <= ST_MSG;
        end
        if (rst) trailing <= 1'b0;
        else if (pkt_done) trailing <= 1'b0;
        else if (state == ST_DRAIN && fill != 6'd0) trailing <= 1'b1;
        err_malformed <= !rst && pkt_done && !clean && ((state != ST_DRAIN) || (fill != 6'd0) || trailing);
    end

    always @(posedge clk) begin
        if (rst) begin
            len_value   <= 16'd0;
            msg_end     <= 5'd0;
            blocks_left <= 16'd0;
            msg_left    <= 16'd0;
        end else begin
            len_value <= len_next;
            if (n_hdr) blocks_left <= hdr_msgs;
            if (len_step) begin
                blocks_left <= blocks_after;
                msg_end     <= after_l;
            end
            // (msg_left shows in m_tlast, m_tkeep and m_tdata while m_tvalid is low: it keeps its value at the end)
            if (len_step && !pkt_done) msg_left <= len_value;
            if (out_fire && !pkt_done) msg_left <= msg_rest;
        end
    end

    always @(posedge clk) begin
        stat_valid <= !rst && n_hdr;
        if (exp_pick) expected <= (exp_next > exp_base) ? exp_next : exp_base;
        if (rst) begin
            cur_seq          <= 64'd0;
            seq_after        <= 64'd1;
            cur_drop         <= 1'b0;
            expected         <= 64'd0;
            have_expected    <= 1'b0;
            ended            <= 1'b0;
            stat_seq         <= 64'd0;
            stat_count       <= 16'd0;
            stat_expected    <= 64'd0;
            stat_gap         <= 1'b0;
            stat_heartbeat   <= 1'b0;
            stat_end_session <= 1'b0;
        end else if (n_hdr) begin
            stat_seq         <= hdr_seq;
            stat_count       <= hdr_count;
            stat_expected    <= exp_now;
            stat_gap         <= have_expected && (hdr_seq > expected);
            stat_heartbeat   <= hdr_hb;
            stat_end_session <= ended || hdr_eos;
            ended            <= ended || hdr_eos;
            have_expected    <= 1'b1;
            cur_seq          <= hdr_seq;
            seq_after        <= hdr_after;
            cur_drop         <= hdr_seq < exp_now;
        end else if (msg_done) begin
            cur_seq   <= next_seq;
            seq_after <= seq_after_next;
            cur_drop  <= next_seq < stat_expected;
        end
    end

    // What the front of the buffer allows for a message with `left_in` bytes still to send and `have_in` of them
    // (at most) in the buffer, `fits` when have_in >= left_in[5:0]: {its rest in one beat (whole), the packet cut short (cut), the bytes sent}. The comparisons of the 16-bit
    // count with the 6-bit one are split (its upper bits zero, its lower 6 compared).
    function [6:0] allows(input [15:0] left_in, input [5:0] have_in, input fits, input last);
        reg       short, have_all, whole_f, cut_f;
        reg [4:0] send_f;
        begin
            short    = left_in[15:5] == 11'd0 && (!left_in[4] || left_in[3:0] == 4'd0);   // left_in <= 16
            have_all = left_in[15:6] == 10'd0 && fits;                                       // have_in >= left_in
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

    // x >= y for 6-bit counts, as two table lookups of 6 inputs each (a LUT each) and their combination, not as a
    // subtraction: a carry chain is 3 levels of the path before the decision.
    function at_least(input [5:0] x, input [5:0] y);
        reg [63:0] gt3, ge3;
        begin
            gt3 = 64'h7F3F1F0F07030100;                  // bit {x, y}: x > y, for 3-bit x and y
            ge3 = 64'hFF7F3F1F0F070301;                  // x >= y
            at_least = gt3[{x[5:3], y[5:3]}] || (x[5:3] == y[5:3] && ge3[{x[2:0], y[2:0]}]);
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

    // The next length prefix {hi, lo} from the two bytes at its place, b0 and b1, or from the input beat's first
    // bytes `beat` (written right behind the bytes kept): b0 is in the buffer if `has1`, b1 if `has2`; with only
    // b0 there (`only1`), b1 is the beat's first byte.
    function [15:0] next_prefix(input [7:0] b0, input [7:0] b1, input has1, input has2, input only1,
                                input [15:0] beat);
        begin
            next_prefix[15:8] = has1 ? b0 : beat[7:0];
            next_prefix[7:0]  = has2 ? b1 : only1 ? beat[7:0] : beat[15:8];
        end
    endfunction

    // Byte k of v.
    function [7:0] byte_of(input [255:0] v, input [4:0] k);
        byte_of = v[{k, 3'b000} +: 8];
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
