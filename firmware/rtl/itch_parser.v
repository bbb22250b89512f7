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
    reg  [15:0]  count;      // bytes so far, saturating; a multiple of 8 before the last beat

    assign s_tready = !m_valid || m_ready;
    wire         in_fire = s_tvalid && s_tready;

    // The beat's words and where they go: word index count/8 (6 once past the kept bytes).
    wire [127:0] in_data = s_tdata & lane_mask(s_tkeep);
    wire [2:0]   word    = (count >= 16'd48) ? 3'd6 : count[5:3];
    wire [3:0]   word_hi = {1'b0, word} + 4'd1;
    reg  [383:0] msg;        // the whole message as it stands once the incoming beat is put in its place
    integer w;
    always @(*) begin
        msg = {64'd0, held};
        for (w = 0; w < 6; w = w + 1) begin
            if (word == w[2:0]) msg[64*w +: 64] = in_data[63:0];
            if (word_hi == w[3:0]) msg[64*w +: 64] = in_data[127:64];
        end
    end
    wire [16:0]  length_sum = {1'b0, count} + {12'd0, keep_count(s_tkeep)};
    wire [15:0]  length = length_sum[16] ? 16'hFFFF : length_sum[15:0];

    wire [7:0]   kind = msg[7:0];
    wire         is_add = kind == T_A || kind == T_F || kind == T_P;
    wire         is_exec = kind == T_E || kind == T_C;
    wire         known = is_add || is_exec || kind == T_X || kind == T_D || kind == T_U;

    always @(posedge clk) begin
        if (rst) begin
            held    <= 320'd0;
            count   <= 16'd0;
            m_valid <= 1'b0;
        end else begin
            if (m_valid && m_ready) m_valid <= 1'b0;
            if (in_fire) begin
                if (s_tlast) begin
                    count   <= 16'd0;
                    m_valid <= 1'b1;
                end else begin
                    held  <= msg[319:0];
                    count <= length;
                end
            end
        end
    end

    // Decoded fields, registered with the last beat; the datapath needs no reset.
    always @(posedge clk) begin
        if (in_fire && s_tlast) begin
            m_seq         <= s_seq;
            m_type        <= kind;
            m_known       <= known;
            m_bad_len     <= known && length != {8'd0, wire_length(kind)};
            m_length      <= length;
            m_locate      <= be16(msg, 1);
            m_tracking    <= be16(msg, 3);
            m_timestamp   <= {be16(msg, 5), be32(msg, 7)};
            m_order_ref   <= known ? be64(msg, 11) : 64'd0;
            m_new_ref     <= (kind == T_U) ? be64(msg, 19) : 64'd0;
            m_side        <= is_add ? msg[19*8 +: 8] : 8'd0;
            m_shares      <= is_add ? be32(msg, 20)
                           : (is_exec || kind == T_X) ? be32(msg, 19)
                           : (kind == T_U) ? be32(msg, 27) : 32'd0;
            m_price       <= is_add ? be32(msg, 32)
                           : (kind == T_C) ? be32(msg, 32)
                           : (kind == T_U) ? be32(msg, 31) : 32'd0;
            m_match       <= is_exec ? be64(msg, 23) : (kind == T_P) ? be64(msg, 36) : 64'd0;
            m_printable   <= (kind == T_C) ? msg[31*8 +: 8] : 8'd0;
            m_stock       <= is_add ? be64(msg, 24) : 64'd0;
            m_attribution <= (kind == T_F) ? be32(msg, 36) : 32'd0;
        end
    end

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

    function [4:0] keep_count(input [15:0] keep);
        integer k;
        begin
            keep_count = 5'd0;
            for (k = 0; k < 16; k = k + 1) keep_count = keep_count + {4'd0, keep[k]};
        end
    endfunction

endmodule

`default_nettype wire
