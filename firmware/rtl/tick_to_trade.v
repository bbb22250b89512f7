// Tick to trade: MoldUDP64 packets of ITCH in, OUCH 4.2 Enter Orders out, configured through a register file.
//
//   s_t* -> moldudp64_framer -> itch_parser -> book_top -> trigger -> pretrade_risk -> ouch_enter -> m_t*
//                                                 regs (AXI4-Lite slave s_axi_*)
//
// Input : the UDP payload of MoldUDP64 packets, one packet per s_tlast (64-bit beats as in moldudp64_framer).
// Output: one 49-byte Enter Order per accepted order, 7 beats on m_t* (as in ouch_enter).
// Config: every block's configuration lives in regs (map in firmware/README.md), reached through its AXI4-Lite
//         port; after rst the kill switch is engaged and nothing is tracked. book_top clears its order table for
//         2048 cycles after rst. CLOCK_PERIOD_PS is the period of clk in picoseconds, readable in CLOCK_PERIOD:
//         the order-rate window is counted in cycles of it.
// Counters: packets, gaps and malformed packets (framer status), messages (framer output), order requests and
//         rejections (pretrade_risk verdicts), orders sent (Enter Orders fully taken), and the latency of the
//         last order: cycles from the itch_parser taking the last beat of the triggering message to the first
//         Enter Order beat being valid. A cycle stamp travels with each message through the chain for it.
// Latency (output ready, no earlier Enter Order still being sent): the first Enter Order beat is valid 12 cycles
//         after the input beat holding the last byte of the triggering message is taken, for every message type,
//         place in the packet and alignment, at line rate or not: framer 1, itch_parser 1, book_top 6, trigger 1,
//         pretrade_risk 2, ouch_enter 1. LAST_LATENCY reads 11 (the framer's cycle is before its stamp).
`default_nettype none

module tick_to_trade #(
    parameter integer CLOCK_PERIOD_PS = 4000
) (
    input  wire         clk,
    input  wire         rst,

    input  wire [63:0]  s_tdata,
    input  wire [7:0]   s_tkeep,
    input  wire         s_tvalid,
    input  wire         s_tlast,
    output wire         s_tready,

    output wire [63:0]  m_tdata,
    output wire [7:0]   m_tkeep,
    output wire         m_tvalid,
    output wire         m_tlast,
    input  wire         m_tready,

    // AXI4-Lite slave of the register file
    input  wire [7:0]   s_axi_awaddr,
    input  wire         s_axi_awvalid,
    output wire         s_axi_awready,
    input  wire [31:0]  s_axi_wdata,
    input  wire [3:0]   s_axi_wstrb,
    input  wire         s_axi_wvalid,
    output wire         s_axi_wready,
    output wire [1:0]   s_axi_bresp,
    output wire         s_axi_bvalid,
    input  wire         s_axi_bready,
    input  wire [7:0]   s_axi_araddr,
    input  wire         s_axi_arvalid,
    output wire         s_axi_arready,
    output wire [31:0]  s_axi_rdata,
    output wire [1:0]   s_axi_rresp,
    output wire         s_axi_rvalid,
    input  wire         s_axi_rready
);

    // ---- configuration ----------------------------------------------------------------------------------
    wire         cfg_kill, cfg_buy_enable, cfg_sell_enable;
    wire [1:0]   cfg_slot;
    wire [31:0]  cfg_buy_limit, cfg_sell_limit, cfg_shares;
    wire [3:0]   cfg_book_enable, cfg_ref_valid;
    wire [63:0]  cfg_locates;
    wire [127:0] cfg_ref_prices, cfg_held;
    wire [31:0]  cfg_max_shares, cfg_band, cfg_max_position, cfg_rate_window;
    wire [4:0]   cfg_rate_max;
    wire [31:0]  cfg_token_prefix, cfg_firm, cfg_tif, cfg_min_qty;
    wire [7:0]   cfg_display, cfg_capacity, cfg_iso, cfg_cross_type, cfg_customer_type;
    wire [255:0] cfg_stocks;

    // ---- framer -> parser -------------------------------------------------------------------------------
    wire [127:0] f_tdata;
    wire [63:0]  f_seq;
    wire [15:0]  f_tkeep;
    wire         f_tvalid, f_tlast, f_tready;
    wire         stat_valid, stat_gap, err_malformed;

    // ---- parser -> book ---------------------------------------------------------------------------------
    wire         p_valid, p_ready, p_bad_len;
    wire [7:0]   p_type, p_side;
    wire [15:0]  p_locate;
    wire [63:0]  p_order_ref, p_new_ref;
    wire [31:0]  p_shares, p_price;

    // ---- book -> trigger --------------------------------------------------------------------------------
    wire         b_valid, b_ready, b_tracked, b_bid_valid, b_ask_valid, b_overflow, b_error;
    wire [1:0]   b_slot;
    wire [31:0]  b_bid_price, b_ask_price, b_tag;
    wire [3:0]   book_overflow, book_error;

    // ---- trigger -> risk -> encoder ---------------------------------------------------------------------
    wire         t_valid, t_ready, t_sell;
    wire [1:0]   t_slot;
    wire [31:0]  t_price, t_shares;
    wire         r_valid, r_ready, r_sell, v_valid, v_accept;
    wire [1:0]   r_slot;
    wire [31:0]  r_price, r_shares;

    // Outputs of the blocks the chain does not use (status detail, decoded fields for other consumers).
    /* verilator lint_off UNUSED */
    wire [63:0]  stat_seq, stat_expected;
    wire [15:0]  stat_count;
    wire         stat_heartbeat, stat_end_session;
    wire [63:0]  p_seq, p_match, p_stock;
    wire         p_known;
    wire [15:0]  p_length, p_tracking;
    wire [47:0]  p_timestamp;
    wire [7:0]   p_printable;
    wire [31:0]  p_attribution;
    wire [31:0]  b_bid_size, b_ask_size;
    wire [4:0]   v_reasons;
    /* verilator lint_on UNUSED */

    moldudp64_framer framer (
        .clk(clk), .rst(rst),
        .s_tdata(s_tdata), .s_tkeep(s_tkeep), .s_tvalid(s_tvalid), .s_tlast(s_tlast), .s_tready(s_tready),
        .m_tdata(f_tdata), .m_tkeep(f_tkeep), .m_tvalid(f_tvalid), .m_tlast(f_tlast), .m_tready(f_tready),
        .m_seq(f_seq),
        .stat_valid(stat_valid), .stat_seq(stat_seq), .stat_count(stat_count), .stat_expected(stat_expected),
        .stat_gap(stat_gap), .stat_heartbeat(stat_heartbeat), .stat_end_session(stat_end_session),
        .err_malformed(err_malformed)
    );

    itch_parser parser (
        .clk(clk), .rst(rst),
        .s_tdata(f_tdata), .s_tkeep(f_tkeep), .s_tvalid(f_tvalid), .s_tlast(f_tlast), .s_tready(f_tready),
        .s_seq(f_seq),
        .m_valid(p_valid), .m_ready(p_ready), .m_seq(p_seq), .m_type(p_type), .m_known(p_known),
        .m_bad_len(p_bad_len), .m_length(p_length), .m_locate(p_locate), .m_tracking(p_tracking),
        .m_timestamp(p_timestamp), .m_order_ref(p_order_ref), .m_new_ref(p_new_ref), .m_side(p_side),
        .m_shares(p_shares), .m_price(p_price), .m_match(p_match), .m_printable(p_printable),
        .m_stock(p_stock), .m_attribution(p_attribution)
    );

    book_top book (
        .clk(clk), .rst(rst),
        .cfg_locates(cfg_locates), .cfg_enable(cfg_book_enable),
        .s_valid(p_valid), .s_ready(p_ready), .s_type(p_type), .s_bad_len(p_bad_len), .s_locate(p_locate),
        .s_order_ref(p_order_ref), .s_new_ref(p_new_ref), .s_side(p_side), .s_shares(p_shares),
        .s_price(p_price), .s_tag(stamp_p),
        .m_valid(b_valid), .m_ready(b_ready), .m_tracked(b_tracked), .m_slot(b_slot),
        .m_bid_valid(b_bid_valid), .m_bid_price(b_bid_price), .m_bid_size(b_bid_size),
        .m_ask_valid(b_ask_valid), .m_ask_price(b_ask_price), .m_ask_size(b_ask_size),
        .m_overflow(b_overflow), .m_error(b_error), .m_tag(b_tag),
        .flags_overflow(book_overflow), .flags_error(book_error)
    );

    trigger trig (
        .clk(clk), .rst(rst),
        .cfg_slot(cfg_slot), .cfg_buy_enable(cfg_buy_enable), .cfg_buy_limit(cfg_buy_limit),
        .cfg_sell_enable(cfg_sell_enable), .cfg_sell_limit(cfg_sell_limit), .cfg_shares(cfg_shares),
        .s_valid(b_valid), .s_ready(b_ready), .s_tracked(b_tracked), .s_slot(b_slot),
        .s_bid_valid(b_bid_valid), .s_bid_price(b_bid_price), .s_ask_valid(b_ask_valid),
        .s_ask_price(b_ask_price), .s_overflow(b_overflow), .s_error(b_error),
        .m_valid(t_valid), .m_ready(t_ready), .m_slot(t_slot), .m_sell(t_sell), .m_price(t_price),
        .m_shares(t_shares)
    );

    pretrade_risk risk (
        .clk(clk), .rst(rst), .kill(cfg_kill),
        .cfg_max_shares(cfg_max_shares), .cfg_ref_prices(cfg_ref_prices), .cfg_ref_valid(cfg_ref_valid),
        .cfg_band(cfg_band), .cfg_held(cfg_held), .cfg_max_position(cfg_max_position),
        .cfg_rate_max(cfg_rate_max), .cfg_rate_window(cfg_rate_window),
        .s_valid(t_valid), .s_ready(t_ready), .s_slot(t_slot), .s_sell(t_sell), .s_price(t_price),
        .s_shares(t_shares), .s_tag(stamp_t),
        .m_valid(r_valid), .m_ready(r_ready), .m_slot(r_slot), .m_sell(r_sell), .m_price(r_price),
        .m_shares(r_shares), .m_tag(stamp_r),
        .v_valid(v_valid), .v_accept(v_accept), .v_reasons(v_reasons)
    );

    ouch_enter encoder (
        .clk(clk), .rst(rst),
        .cfg_stocks(cfg_stocks), .cfg_token_prefix(cfg_token_prefix), .cfg_firm(cfg_firm), .cfg_tif(cfg_tif),
        .cfg_display(cfg_display), .cfg_capacity(cfg_capacity), .cfg_iso(cfg_iso), .cfg_min_qty(cfg_min_qty),
        .cfg_cross_type(cfg_cross_type), .cfg_customer_type(cfg_customer_type),
        .s_valid(r_valid), .s_ready(r_ready), .s_slot(r_slot), .s_sell(r_sell), .s_price(r_price),
        .s_shares(r_shares), .s_tag(stamp_r), .m_start(e_start), .m_tag(e_tag),
        .m_tvalid(m_tvalid), .m_tready(m_tready), .m_tdata(m_tdata), .m_tkeep(m_tkeep), .m_tlast(m_tlast)
    );

    // ---- latency stamps: the cycle the parser took a message's last beat, handed on with every handshake ----
    // (book_top, pretrade_risk and ouch_enter hold several messages: the stamp travels inside them as a tag)
    reg  [31:0] now;
    reg  [31:0] stamp_p, stamp_t;                     // of the beat held by parser, trigger
    wire [31:0] stamp_r;                              // of the order pretrade_risk hands on
    wire [31:0] e_tag;
    wire        e_start;
    wire        f_last = f_tvalid && f_tready && f_tlast;
    wire        b_fire = b_valid && b_ready;

    always @(posedge clk) begin
        if (rst) now <= 32'd0;
        else now <= now + 32'd1;
        if (f_last) stamp_p <= now;
        if (b_fire) stamp_t <= b_tag;
    end

    regs #(.CLOCK_PERIOD_PS(CLOCK_PERIOD_PS)) regfile (
        .clk(clk), .rst(rst),
        .s_axi_awaddr(s_axi_awaddr), .s_axi_awvalid(s_axi_awvalid), .s_axi_awready(s_axi_awready),
        .s_axi_wdata(s_axi_wdata), .s_axi_wstrb(s_axi_wstrb), .s_axi_wvalid(s_axi_wvalid),
        .s_axi_wready(s_axi_wready), .s_axi_bresp(s_axi_bresp), .s_axi_bvalid(s_axi_bvalid),
        .s_axi_bready(s_axi_bready), .s_axi_araddr(s_axi_araddr), .s_axi_arvalid(s_axi_arvalid),
        .s_axi_arready(s_axi_arready), .s_axi_rdata(s_axi_rdata), .s_axi_rresp(s_axi_rresp),
        .s_axi_rvalid(s_axi_rvalid), .s_axi_rready(s_axi_rready),
        .book_overflow(book_overflow), .book_error(book_error),
        .cfg_kill(cfg_kill), .cfg_buy_enable(cfg_buy_enable), .cfg_sell_enable(cfg_sell_enable),
        .cfg_slot(cfg_slot), .cfg_buy_limit(cfg_buy_limit), .cfg_sell_limit(cfg_sell_limit),
        .cfg_shares(cfg_shares), .cfg_book_enable(cfg_book_enable), .cfg_ref_valid(cfg_ref_valid),
        .cfg_locates(cfg_locates), .cfg_ref_prices(cfg_ref_prices), .cfg_held(cfg_held),
        .cfg_max_shares(cfg_max_shares), .cfg_band(cfg_band), .cfg_max_position(cfg_max_position),
        .cfg_rate_max(cfg_rate_max), .cfg_rate_window(cfg_rate_window), .cfg_token_prefix(cfg_token_prefix),
        .cfg_firm(cfg_firm), .cfg_tif(cfg_tif), .cfg_min_qty(cfg_min_qty), .cfg_display(cfg_display),
        .cfg_capacity(cfg_capacity), .cfg_iso(cfg_iso), .cfg_cross_type(cfg_cross_type),
        .cfg_customer_type(cfg_customer_type), .cfg_stocks(cfg_stocks),
        .ev_packet(stat_valid), .ev_gap(stat_valid && stat_gap), .ev_malformed(err_malformed),
        .ev_message(f_last), .ev_request(v_valid), .ev_reject(v_valid && !v_accept),
        .ev_sent(m_tvalid && m_tready && m_tlast), .ev_sent_first(e_start), .ev_latency(now - e_tag)
    );

endmodule

`default_nettype wire
