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
    reg         cur_drop;   // the current message is a duplicate
    reg [63:0]  expected;
    reg         have_expected;
    reg         ended;
    reg         trailing;   // bytes after the last message block were dropped

    // --- what the front of the buffer allows this cycle -------------------------------------------------
    wire [15:0] len_value = {buffer[7:0], buffer[15:8]};
    wire        len_step  = (state == ST_LEN) && fill >= 6'd2;   // the length prefix is consumed this cycle
    wire [15:0] left      = len_step ? len_value : msg_left;      // bytes of the message still to send
    wire [5:0]  have      = len_step ? fill - 6'd2 : fill;        // of them, bytes in the buffer (at most)
    wire [15:0] have16    = {10'd0, have};
    wire        sending   = (state == ST_MSG) || (len_step && len_value != 16'd0);
    wire        whole     = left <= 16'd16 && have16 >= left;      // the rest of the message is here, one beat
    wire        cut       = last_in && have16 < left && have <= 6'd16;
    reg  [4:0]  send;                                            // bytes sent
    always @(*) begin
        if (whole)                              send = left[4:0];
        else if (cut)                           send = have[4:0];
        else if (have >= 6'd16 && left > 16'd16) send = 5'd16;
        else if (have >= 6'd8)                  send = 5'd8;
        else                                    send = 5'd0;
    end
    wire        out_beat  = sending && (whole || cut || send != 5'd0);
    wire        out_last  = whole || cut;
    wire [127:0] front    = len_step ? buffer[143:16] : buffer[127:0];

    assign m_tvalid = out_beat && !cur_drop;
    assign m_tlast  = out_last;
    assign m_tkeep  = keep_mask(send);
    assign m_tdata  = front & lane_mask(send);
    assign m_seq    = cur_seq;

    wire        out_fire = out_beat && (m_tready || cur_drop);
    wire [15:0] blocks_after = len_step ? blocks_left - 16'd1 : blocks_left;

    reg  [5:0]  take;        // bytes consumed from the front this cycle
    always @(*) begin
        take = 6'd0;
        case (state)
            ST_HDR:  if (fill >= 6'd20) take = 6'd20;
            ST_LEN:  if (len_step) take = 6'd2 + (out_fire ? {1'b0, send} : 6'd0);
            ST_MSG:  if (out_fire) take = {1'b0, send};
            default: take = (fill > 6'd16) ? 6'd16 : fill;
        endcase
    end

    // A packet ends when its last beat is in and the state cannot consume what is left, or when its last
    // message leaves with nothing behind it.
    wire        hdr_cut  = (state == ST_HDR) && last_in && fill < 6'd20;
    wire        len_cut  = (state == ST_LEN) && last_in && fill < 6'd2;
    wire        drained  = (state == ST_DRAIN) && last_in && fill <= 6'd16;
    wire        clean    = out_fire && whole && blocks_after == 16'd0 && last_in && fill == take;
    wire        pkt_done = hdr_cut || len_cut || drained || (out_fire && cut) || clean;

    // --- input ------------------------------------------------------------------------------------------
    assign s_tready = !last_in && fill <= 6'd24;
    wire        in_fire  = s_tvalid && s_tready;
    wire [3:0]  in_bytes = s_tlast ? keep_count(s_tkeep) : 4'd8;

    wire [5:0]   kept     = fill - take;
    wire [255:0] shifted  = buffer >> {take, 3'b000};
    wire [255:0] incoming = {192'd0, s_tdata & beat_mask(in_bytes)} << {kept, 3'b000};

    // --- header fields (big-endian on the wire) after the 10-byte session name ------------------------------
    wire [63:0] hdr_seq   = {buffer[87:80], buffer[95:88], buffer[103:96], buffer[111:104],
                             buffer[119:112], buffer[127:120], buffer[135:128], buffer[143:136]};
    wire [15:0] hdr_count = {buffer[151:144], buffer[159:152]};
    wire        hdr_hb    = hdr_count == 16'h0000;
    wire        hdr_eos   = hdr_count == 16'hFFFF;
    wire [15:0] hdr_msgs  = (hdr_hb || hdr_eos) ? 16'd0 : hdr_count;
    wire [63:0] exp_now   = have_expected ? expected : hdr_seq;
    wire [63:0] hdr_next  = hdr_seq + {48'd0, hdr_msgs};
    wire [63:0] next_seq  = cur_seq + 64'd1;

    always @(posedge clk) begin
        stat_valid    <= 1'b0;
        err_malformed <= 1'b0;
        if (rst) begin
            buffer           <= 256'd0;
            fill             <= 6'd0;
            last_in          <= 1'b0;
            state            <= ST_HDR;
            blocks_left      <= 16'd0;
            msg_left         <= 16'd0;
            cur_seq          <= 64'd0;
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
                cur_seq  <= next_seq;
                cur_drop <= next_seq < stat_expected;
            end
        end else begin
            buffer <= shifted | (in_fire ? incoming : 256'd0);
            fill   <= kept + (in_fire ? {2'b0, in_bytes} : 6'd0);
            if (in_fire && s_tlast) last_in <= 1'b1;
            case (state)
                ST_HDR: if (take != 6'd0) begin
                    stat_valid       <= 1'b1;
                    stat_seq         <= hdr_seq;
                    stat_count       <= hdr_count;
                    stat_expected    <= exp_now;
                    stat_gap         <= have_expected && (hdr_seq > expected);
                    stat_heartbeat   <= hdr_hb;
                    stat_end_session <= ended || hdr_eos;
                    ended            <= ended || hdr_eos;
                    have_expected    <= 1'b1;
                    expected         <= (hdr_next > exp_now) ? hdr_next : exp_now;
                    blocks_left      <= hdr_msgs;
                    cur_seq          <= hdr_seq;
                    cur_drop         <= hdr_seq < exp_now;
                    state            <= (hdr_msgs == 16'd0) ? ST_DRAIN : ST_LEN;
                end
                ST_LEN, ST_MSG: begin
                    if (len_step) begin
                        blocks_left <= blocks_after;
                        msg_left    <= len_value;
                        state       <= ST_MSG;
                    end
                    if (out_fire) msg_left <= left - {11'd0, send};
                    if ((len_step && len_value == 16'd0) || (out_fire && out_last)) begin
                        state    <= next_block(blocks_after);
                        cur_seq  <= next_seq;
                        cur_drop <= next_seq < stat_expected;
                    end
                end
                default: if (take != 6'd0) trailing <= 1'b1;
            endcase
        end
    end

    // The state after a message block, given the blocks left after it.
    function [1:0] next_block(input [15:0] left_after);
        next_block = (left_after == 16'd0) ? ST_DRAIN : ST_LEN;
    endfunction

    function [15:0] keep_mask(input [4:0] bytes);
        keep_mask = (bytes >= 5'd16) ? 16'hFFFF : ((16'd1 << bytes) - 16'd1);
    endfunction

    function [127:0] lane_mask(input [4:0] bytes);
        integer k;
        begin
            for (k = 0; k < 16; k = k + 1) lane_mask[8*k +: 8] = ({27'd0, bytes} > k) ? 8'hFF : 8'h00;
        end
    endfunction

    function [63:0] beat_mask(input [3:0] bytes);
        integer k;
        begin
            for (k = 0; k < 8; k = k + 1) beat_mask[8*k +: 8] = ({28'd0, bytes} > k) ? 8'hFF : 8'h00;
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
