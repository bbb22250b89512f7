// ITCH 5.0 parser: decodes the order-book messages of a message stream, one output beat per message.
//
// Input : one ITCH message per tlast-delimited stream of 8-byte words (moldudp64_framer's output): type byte in
//         s_tdata[7:0], stream byte k of a beat in s_tdata[8k+7:8k]; every beat but the last carries one word
//         (s_tkeep 16'h00FF) or two (16'hFFFF), the last 1 to 16 bytes (s_tkeep contiguous from lane 0).
//         s_seq (the message's MoldUDP64 sequence number) is taken with the last beat and passed through.
// Output: one beat per message, m_valid/m_ready, one cycle after the message's last beat is taken.
//   m_type      the type byte, for every message
//   m_known     1 for the decoded types A F E C X D U P; 0 for any other type ("ignored": only the common
//               header below is filled, the other fields are zero)
//   m_bad_len   a decoded type whose length differs from the ITCH 5.0 length (its fields are not meaningful)
//   m_length    message length in bytes (saturates at 65535)
//   m_locate, m_tracking, m_timestamp (48 bits): the common header, for every message of 11 bytes or more
//   m_order_ref A F E C X D P: order reference; U: original order reference
//   m_new_ref   U: new order reference
//   m_side      A F P: side byte ("B" or "S")
//   m_shares    A F P U: shares; E C: executed shares; X: cancelled shares
//   m_price     A F P U: price; C: execution price (4 implied decimals)
//   m_match     E C P: match number
//   m_printable C: printable byte
//   m_stock     A F P: the 8 stock bytes as on the wire (first byte in m_stock[63:56])
//   m_attribution F: the 4 MPID bytes as on the wire
// Fields are unsigned and big-endian on the wire, presented here as plain binary numbers.
// The first 48 bytes (6 words) of a message are kept (the longest decoded type, P, has 44).
`default_nettype none

module itch_parser (
    input  wire         clk,
    input  wire         rst,
    input  wire [127:0] s_tdata,
    input  wire [15:0]  s_tkeep,
    input  wire         s_tvalid,
    input  wire         s_tlast,
    output wire         s_tready,
    input  wire [63:0]  s_seq,

    output reg          m_valid,
    input  wire         m_ready,
    output reg  [63:0]  m_seq,
    output reg  [7:0]   m_type,
    output reg          m_known,
    output reg          m_bad_len,
    output reg  [15:0]  m_length,
    output reg  [15:0]  m_locate,
    output reg  [15:0]  m_tracking,
    output reg  [47:0]  m_timestamp,
    output reg  [63:0]  m_order_ref,
    output reg  [63:0]  m_new_ref,
    output reg  [7:0]   m_side,
    output reg  [31:0]  m_shares,
    output reg  [31:0]  m_price,
    output reg  [63:0]  m_match,
    output reg  [7:0]   m_printable,
    output reg  [63:0]  m_stock,
    output reg  [31:0]  m_attribution
);

    localparam [7:0] T_A = "A", T_F = "F", T_E = "E", T_C = "C", T_X = "X", T_D = "D", T_U = "U", T_P = "P";

    reg  [319:0] held;       // words 0..4 of the current message (word 5 is only ever in the last beat)
    // The bytes so far (saturating at 65535; a multiple of 8 before the last beat unless saturated) are kept as
    // the count of words and the counts one and two words on, so that adding the last beat's bytes is a choice.
    reg  [6:0]   at_word;    // one-hot: the word index of the next beat's first word (6: past the kept bytes)
    reg  [12:0]  words, words_1, words_2;   // count / 8, + 1, + 2
    reg          words_1_over, words_2_over, saturated;
    // the type of the current message, decoded from its first beat (used once it is held)
    reg  [7:0]   t_kind;
    reg          t_add, t_exec, t_known, t_x, t_u, t_c, t_f, t_p;
    reg  [2:0]   t_rest;                       // the type's length modulo 8
    reg  [6:0]   t_at_none, t_at_one, t_at_two;   // one-hot: the word a last beat of 0, 1, 2 words and the rest
                                                  // of the type's length starts at

    assign s_tready = !m_valid || m_ready;
    wire         in_fire = s_tvalid && s_tready;

    // The beat's words and where they go.
    wire [127:0] in_data = s_tdata & lane_mask(s_tkeep);
    reg  [383:0] msg;        // the whole message as it stands once the incoming beat is put in its place
    integer w;
    always @(*) begin
        msg = {64'd0, held};
        for (w = 0; w < 6; w = w + 1)
            if (at_word[w]) msg[64*w +: 64] = in_data[63:0];
        for (w = 1; w < 6; w = w + 1)
            if (at_word[w - 1]) msg[64*w +: 64] = in_data[127:64];
    end

    // The length once the beat is in: count (a multiple of 8, or saturated) + the beat's bytes, 8 h + r with
    // h = 0, 1 or 2 (tkeep is contiguous from lane 0), from the counts of words kept ahead.
    wire         h2 = s_tkeep[15];
    wire         h1 = s_tkeep[7] && !s_tkeep[15];
    wire [2:0]   r  = h2 ? 3'd0 : h1 ? ones7(s_tkeep[14:8]) : ones7(s_tkeep[6:0]);
    wire [15:0]  length = saturated || h1 && words_1_over || h2 && words_2_over ? 16'hFFFF
                        : {h2 ? words_2 : h1 ? words_1 : words, r};

    // The type: from the beat when it is the message's first, else the one decoded from the first beat. Every
    // decoded type is longer than one beat: one that ends in its first beat is too short (m_bad_len), and its
    // fields, not meaningful, are left zero.
    wire         first   = at_word[0];
    wire [7:0]   kind    = first ? in_data[7:0] : t_kind;
    wire         known   = first ? type_known(in_data[7:0]) : t_known;
    wire         fields  = !first && t_known;
    wire         is_add  = !first && t_add;
    wire         is_exec = !first && t_exec;
    wire         is_x    = !first && t_x;
    wire         is_u    = !first && t_u;
    wire         is_c    = !first && t_c;
    wire         is_f    = !first && t_f;
    wire         is_p    = !first && t_p;

    // The length equals the type's (44 at most, so 5 words and a rest): the word the beat starts at is the one
    // the type's length asks for, given how many words (h) and bytes (r) the beat holds beyond it.
    // (the word matches are worked out from the registers, the beat's bytes then compared for each h and picked)
    wire         hit_none = |(at_word & t_at_none), hit_one = |(at_word & t_at_one), hit_two = |(at_word & t_at_two);
    wire         length_is_wire = h2 ? t_rest == 3'd0 && hit_two
                                : h1 ? ones7(s_tkeep[14:8]) == t_rest && hit_one
                                     : ones7(s_tkeep[6:0]) == t_rest && hit_none;

    // The next beat's place, and the counts kept ahead, once this beat (not the last) is in.
    // (such a beat carries 8 bytes or 16: the next count of words is words_1 or words_2, and the ones after it
    // are words_2 and words_2 + 1, or words_2 + 1 and words_2 + 2)
    // (the count of words, saturated, for each h from the registers, picked by the beat; saturated once the
    // length is 65535: past it, or at 8191 words and a rest of 7)
    wire [12:0]  words_h0 = saturated ? 13'h1FFF : words;
    wire [12:0]  words_h1 = saturated || words_1_over ? 13'h1FFF : words_1;
    wire [12:0]  words_h2 = saturated || words_2_over ? 13'h1FFF : words_2;
    wire [12:0]  next_words = h2 ? words_h2 : h1 ? words_h1 : words_h0;
    wire         full_0 = words == 13'h1FFF, full_1 = words_1 == 13'h1FFF;
    wire         next_saturated = saturated || h2 && words_2_over
                                || h1 && (words_1_over || full_1 && s_tkeep[14])
                                || !h2 && !h1 && full_0 && s_tkeep[6];
    wire [13:0]  plus_1 = {1'b0, words_2} + 14'd1;
    wire [13:0]  plus_2 = {1'b0, words_2} + 14'd2;
    wire [13:0]  next_1 = h2 ? {plus_1[13] || words_2_over, plus_1[12:0]} : {words_2_over, words_2};
    wire [13:0]  next_2 = h2 ? {plus_2[13] || words_2_over, plus_2[12:0]} : {plus_1[13] || words_2_over, plus_1[12:0]};

    always @(posedge clk) begin
        if (rst) begin
            held      <= 320'd0;
            at_word   <= 7'd1;
            words     <= 13'd0;
            words_1   <= 13'd1;
            words_2   <= 13'd2;
            words_1_over <= 1'b0;
            words_2_over <= 1'b0;
            saturated <= 1'b0;
            m_valid   <= 1'b0;
        end else begin
            if (m_valid && m_ready) m_valid <= 1'b0;
            if (in_fire) begin
                if (s_tlast) begin
                    at_word   <= 7'd1;
                    words     <= 13'd0;
                    words_1   <= 13'd1;
                    words_2   <= 13'd2;
                    words_1_over <= 1'b0;
                    words_2_over <= 1'b0;
                    saturated <= 1'b0;
                    m_valid   <= 1'b1;
                end else begin
                    held      <= msg[319:0];
                    // a beat but the last carries one word or two
                    at_word   <= at_word[6] ? at_word : h2 ? (at_word[5] ? 7'b100_0000 : {at_word[4:0], 2'b00})
                                                           : {at_word[5:0], 1'b0};
                    words     <= next_words;
                    words_1   <= next_1[12:0];
                    words_2   <= next_2[12:0];
                    words_1_over <= next_1[13];
                    words_2_over <= next_2[13];
                    saturated <= next_saturated;
                end
            end
        end
    end

    wire [7:0] in_length = wire_length(in_data[7:0]);
    always @(posedge clk) begin
        if (in_fire && first) begin
            t_kind   <= in_data[7:0];
            t_add    <= type_add(in_data[7:0]);
            t_exec   <= type_exec(in_data[7:0]);
            t_known  <= type_known(in_data[7:0]);
            t_x      <= in_data[7:0] == T_X;
            t_u      <= in_data[7:0] == T_U;
            t_c      <= in_data[7:0] == T_C;
            t_f      <= in_data[7:0] == T_F;
            t_p      <= in_data[7:0] == T_P;
            t_rest    <= in_length[2:0];
            t_at_none <= 7'd1 << in_length[7:3];
            t_at_one  <= 7'd1 << in_length[7:3] >> 1;
            t_at_two  <= 7'd1 << in_length[7:3] >> 2;
        end
    end

    // Decoded fields, registered with the last beat; the datapath needs no reset.
    always @(posedge clk) begin
        if (in_fire && s_tlast) begin
            m_seq         <= s_seq;
            m_type        <= kind;
            m_known       <= known;
            m_bad_len     <= first ? known : t_known && !length_is_wire;
            m_length      <= length;
            m_locate      <= be16(msg, 1);
            m_tracking    <= be16(msg, 3);
            m_timestamp   <= {be16(msg, 5), be32(msg, 7)};
            m_order_ref   <= fields ? be64(msg, 11) : 64'd0;
            m_new_ref     <= is_u ? be64(msg, 19) : 64'd0;
            m_side        <= is_add ? msg[19*8 +: 8] : 8'd0;
            m_shares      <= is_add ? be32(msg, 20)
                           : (is_exec || is_x) ? be32(msg, 19)
                           : is_u ? be32(msg, 27) : 32'd0;
            m_price       <= is_add ? be32(msg, 32)
                           : is_c ? be32(msg, 32)
                           : is_u ? be32(msg, 31) : 32'd0;
            m_match       <= is_exec ? be64(msg, 23) : is_p ? be64(msg, 36) : 64'd0;
            m_printable   <= is_c ? msg[31*8 +: 8] : 8'd0;
            m_stock       <= is_add ? be64(msg, 24) : 64'd0;
            m_attribution <= is_f ? be32(msg, 36) : 32'd0;
        end
    end

    function type_add(input [7:0] t);
        type_add = t == T_A || t == T_F || t == T_P;
    endfunction

    function type_exec(input [7:0] t);
        type_exec = t == T_E || t == T_C;
    endfunction

    function type_known(input [7:0] t);
        type_known = type_add(t) || type_exec(t) || t == T_X || t == T_D || t == T_U;
    endfunction

    // Bytes of a contiguous keep of 7 lanes.
    function [2:0] ones7(input [6:0] keep);
        integer k;
        begin
            ones7 = 3'd0;
            for (k = 0; k < 7; k = k + 1) if (keep[k]) ones7 = k[2:0] + 3'd1;
        end
    endfunction

    // Length of each decoded type in ITCH 5.0 (0 for the others).
    function [7:0] wire_length(input [7:0] t);
        case (t)
            T_A: wire_length = 8'd36;
            T_F: wire_length = 8'd40;
            T_E: wire_length = 8'd31;
            T_C: wire_length = 8'd36;
            T_X: wire_length = 8'd23;
            T_D: wire_length = 8'd19;
            T_U: wire_length = 8'd35;
            T_P: wire_length = 8'd44;
            default: wire_length = 8'd0;
        endcase
    endfunction

    // Big-endian fields at a constant byte offset of the message.
    function [15:0] be16(input [383:0] m, input integer at);
        be16 = {m[8*at +: 8], m[8*(at+1) +: 8]};
    endfunction

    function [31:0] be32(input [383:0] m, input integer at);
        be32 = {be16(m, at), be16(m, at + 2)};
    endfunction

    function [63:0] be64(input [383:0] m, input integer at);
        be64 = {be32(m, at), be32(m, at + 4)};
    endfunction

    function [127:0] lane_mask(input [15:0] keep);
        integer k;
        begin
            for (k = 0; k < 16; k = k + 1) lane_mask[8*k +: 8] = {8{keep[k]}};
        end
    endfunction


endmodule

`default_nettype wire
