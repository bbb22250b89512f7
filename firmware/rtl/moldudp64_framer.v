// MoldUDP64 framer: splits the UDP payload of MoldUDP64 packets into ITCH messages.
//
// Input : one packet per tlast-delimited stream (64-bit beats, stream byte k of a beat in s_tdata[8k+7:8k],
//         s_tkeep all ones except possibly on the last beat, where it is contiguous from lane 0).
// Output: one ITCH message per tlast-delimited stream, re-aligned so that its type byte is in m_tdata[7:0];
//         m_tkeep marks the valid bytes of the last beat (all ones on the others, unused lanes are zero).
//         m_seq is the MoldUDP64 sequence number of the message, valid with every beat of it.
// Status: one stat_valid pulse per packet once its 20-byte header is in: the packet's sequence number and
//         count, the sequence number expected before it, and the flags. A gap is a packet numbered above the
//         expected number (stat_seq - stat_expected messages are missing; they are skipped, not held).
//         Messages numbered below the expected number are duplicates and are dropped. stat_end_session stays
//         set from the end-of-session packet on. The first packet after reset fixes the expected number.
//         err_malformed pulses when a packet ends before its count of message blocks does (the message cut
//         short is still closed with m_tlast) or carries bytes after them (dropped).
// The session name is not checked. A zero-length message block is counted in the sequence and not output.
//
// Internals: a byte buffer of 24 bytes holds the unconsumed bytes of the current packet, oldest in byte 0.
// Each cycle consumes a header part (10 bytes), a length prefix (2 bytes) or one output beat (up to 8 bytes)
// from the front and appends the accepted input beat behind the rest. A packet's beats are not accepted
// before the previous packet has left the buffer, so one buffer never holds two packets.
`default_nettype none

module moldudp64_framer (
    input  wire        clk,
    input  wire        rst,
    // UDP payload in
    input  wire [63:0] s_tdata,
    input  wire [7:0]  s_tkeep,
    input  wire        s_tvalid,
    input  wire        s_tlast,
    output wire        s_tready,
    // ITCH messages out
    output wire [63:0] m_tdata,
    output wire [7:0]  m_tkeep,
    output wire        m_tvalid,
    output wire        m_tlast,
    input  wire        m_tready,
    output wire [63:0] m_seq,
    // per-packet status
    output reg         stat_valid,
    output reg  [63:0] stat_seq,
    output reg  [15:0] stat_count,
    output reg  [63:0] stat_expected,
    output reg         stat_gap,
    output reg         stat_heartbeat,
    output reg         stat_end_session,
    output reg         err_malformed
);

    localparam [2:0] ST_HDR_A = 3'd0;  // session name (10 bytes)
    localparam [2:0] ST_HDR_B = 3'd1;  // sequence number (8) and count (2)
    localparam [2:0] ST_LEN   = 3'd2;  // length prefix of the next message block
    localparam [2:0] ST_MSG   = 3'd3;  // message bytes
    localparam [2:0] ST_DRAIN = 3'd4;  // after the last block (or a heartbeat, end of session): wait for tlast

    reg [191:0] buffer;     // byte k in buffer[8k+7:8k]; bytes at and above fill are zero
    reg [4:0]   fill;       // bytes held, 0..24
    reg         last_in;    // the packet's last beat is in the buffer
    reg [2:0]   state;
    reg [15:0]  blocks_left;
    reg [15:0]  msg_left;   // bytes of the current message still to consume
    reg [63:0]  cur_seq;    // sequence number of the current message
    reg         cur_drop;   // the current message is a duplicate
    reg [63:0]  expected;
    reg         have_expected;
    reg         ended;
    reg         trailing;   // bytes after the last message block were dropped

    // --- what the front of the buffer allows this cycle -------------------------------------------------
    wire [3:0]  beat_bytes = (msg_left > 16'd8) ? 4'd8 : msg_left[3:0];
    wire        msg_ready  = {1'b0, fill} >= {2'b0, beat_bytes};
    wire        msg_cut    = last_in && !msg_ready;
    wire [3:0]  out_bytes  = msg_cut ? fill[3:0] : beat_bytes;
    wire        out_beat   = (state == ST_MSG) && (msg_ready || msg_cut);

    assign m_tvalid = out_beat && !cur_drop;
    assign m_tlast  = msg_cut || (msg_left <= 16'd8);
    assign m_tkeep  = keep_mask(out_bytes);
    assign m_tdata  = buffer[63:0] & lane_mask(out_bytes);
    assign m_seq    = cur_seq;

    wire        out_fire = out_beat && (m_tready || cur_drop);

    reg  [3:0]  take;        // bytes consumed from the front this cycle
    always @(*) begin
        take = 4'd0;
        case (state)
            ST_HDR_A: if (fill >= 5'd10) take = 4'd10;
            ST_HDR_B: if (fill >= 5'd10) take = 4'd10;
            ST_LEN:   if (fill >= 5'd2)  take = 4'd2;
            ST_MSG:   if (out_fire)      take = out_bytes;
            default:  take = (fill > 5'd10) ? 4'd10 : fill[3:0];
        endcase
    end

    // A packet ends when its last beat is in and the state cannot consume what is left.
    wire        hdr_cut  = (state == ST_HDR_A || state == ST_HDR_B) && last_in && fill < 5'd10;
    wire        len_cut  = (state == ST_LEN) && last_in && fill < 5'd2;
    wire        drained  = (state == ST_DRAIN) && last_in && fill <= 5'd10;
    wire        pkt_done = hdr_cut || len_cut || drained || (out_fire && msg_cut);

    // --- input ------------------------------------------------------------------------------------------
    assign s_tready = !last_in && fill <= 5'd16;
    wire        in_fire  = s_tvalid && s_tready;
    wire [3:0]  in_bytes = s_tlast ? keep_count(s_tkeep) : 4'd8;

    wire [4:0]   kept       = fill - {1'b0, take};
    wire [191:0] shifted    = buffer >> {take, 3'b000};
    wire [191:0] incoming   = {128'd0, s_tdata & lane_mask(in_bytes)} << {kept, 3'b000};

    // --- header fields (big-endian on the wire) -------------------------------------------------------
    wire [63:0] hdr_seq   = {buffer[7:0], buffer[15:8], buffer[23:16], buffer[31:24],
                             buffer[39:32], buffer[47:40], buffer[55:48], buffer[63:56]};
    wire [15:0] hdr_count = {buffer[71:64], buffer[79:72]};
    wire        hdr_hb    = hdr_count == 16'h0000;
    wire        hdr_eos   = hdr_count == 16'hFFFF;
    wire [15:0] hdr_msgs  = (hdr_hb || hdr_eos) ? 16'd0 : hdr_count;
    wire [63:0] exp_now   = have_expected ? expected : hdr_seq;
    wire [63:0] hdr_next  = hdr_seq + {48'd0, hdr_msgs};
    wire [15:0] len_value = {buffer[7:0], buffer[15:8]};

    always @(posedge clk) begin
        stat_valid    <= 1'b0;
        err_malformed <= 1'b0;
        if (rst) begin
            buffer           <= 192'd0;
            fill             <= 5'd0;
            last_in          <= 1'b0;
            state            <= ST_HDR_A;
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
            buffer        <= 192'd0;
            fill          <= 5'd0;
            last_in       <= 1'b0;
            state         <= ST_HDR_A;
            trailing      <= 1'b0;
            err_malformed <= (state != ST_DRAIN) || (fill != 5'd0) || trailing;
        end else begin
            buffer <= shifted | (in_fire ? incoming : 192'd0);
            fill   <= kept + (in_fire ? {1'b0, in_bytes} : 5'd0);
            if (in_fire && s_tlast) last_in <= 1'b1;
            case (state)
                ST_HDR_A: if (take != 4'd0) state <= ST_HDR_B;
                ST_HDR_B: if (take != 4'd0) begin
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
                ST_LEN: if (take != 4'd0) begin
                    msg_left    <= len_value;
                    blocks_left <= blocks_left - 16'd1;
                    state       <= (len_value == 16'd0) ? next_block(blocks_left - 16'd1) : ST_MSG;
                    if (len_value == 16'd0) begin
                        cur_seq  <= cur_seq + 64'd1;
                        cur_drop <= (cur_seq + 64'd1) < stat_expected;
                    end
                end
                ST_MSG: if (out_fire) begin
                    msg_left <= msg_left - {12'd0, out_bytes};
                    if (m_tlast) begin
                        state    <= next_block(blocks_left);
                        cur_seq  <= cur_seq + 64'd1;
                        cur_drop <= (cur_seq + 64'd1) < stat_expected;
                    end
                end
                default: if (take != 4'd0) trailing <= 1'b1;
            endcase
        end
    end

    // The state after a message block, given the blocks left after it.
    function [2:0] next_block(input [15:0] left_after);
        next_block = (left_after == 16'd0) ? ST_DRAIN : ST_LEN;
    endfunction

    function [7:0] keep_mask(input [3:0] bytes);
        keep_mask = (bytes >= 4'd8) ? 8'hFF : ((8'd1 << bytes) - 8'd1);
    endfunction

    function [63:0] lane_mask(input [3:0] bytes);
        integer k;
        begin
            for (k = 0; k < 8; k = k + 1) lane_mask[8*k +: 8] = ({28'd0, bytes} > k) ? 8'hFF : 8'h00;
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
