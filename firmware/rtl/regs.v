// Register file of the tick-to-trade chain: the configuration of its blocks and read-only counters, behind an
// AXI4-Lite slave port.
//
// Port  : AXI4-Lite, 32-bit data, 8-bit byte addresses (the 2 low bits are ignored: a register is addressed by
//         its word). AW and W are taken independently (each is held until the other has come); once both are
//         in, the value is merged with the bytes not strobed (a cycle), then written and B raised (a cycle); the
//         next write is taken once B is accepted. Byte strobes are honoured: the bytes whose strobe is low keep
//         their value. A read is answered on R the cycle after AR is taken; the next AR is taken once R is
//         accepted. Responses: OKAY; SLVERR for an unmapped address (reads return 0) and for a write to a
//         read-only register (nothing is written).
// Map   : see firmware/README.md ("Register map"). Configuration registers are read back as written (fields
//         narrower than 32 bits read their width, zero above). After rst the kill switch is engaged, the
//         trigger and every book slot are disabled, RATE_MAX is 16 and every other register is 0.
// Counters: 32 bits, wrapping; they count the ev_* pulses and clear with rst or a write of CONTROL bit 31.
//         LAST_LATENCY holds ev_latency of the last ev_sent_first pulse. BOOK_FLAGS shows book_top's sticky
//         flags; CLOCK_PERIOD the CLOCK_PERIOD_PS parameter (the clock period the rate window is counted in).
// Change the configuration only while no message is in flight (the blocks read it combinationally).
`default_nettype none

module regs #(
    parameter integer CLOCK_PERIOD_PS = 4000
) (
    input  wire         clk,
    input  wire         rst,

    // AXI4-Lite slave (the 2 low address bits, a byte within the word, are not used)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [7:0]   s_axi_awaddr,
    input  wire         s_axi_awvalid,
    output wire         s_axi_awready,
    input  wire [31:0]  s_axi_wdata,
    input  wire [3:0]   s_axi_wstrb,
    input  wire         s_axi_wvalid,
    output wire         s_axi_wready,
    output reg  [1:0]   s_axi_bresp,
    output reg          s_axi_bvalid,
    input  wire         s_axi_bready,
    input  wire [7:0]   s_axi_araddr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire         s_axi_arvalid,
    output wire         s_axi_arready,
    output reg  [31:0]  s_axi_rdata,
    output reg  [1:0]   s_axi_rresp,
    output reg          s_axi_rvalid,
    input  wire         s_axi_rready,

    // configuration
    output reg          cfg_kill,
    output reg          cfg_buy_enable,
    output reg          cfg_sell_enable,
    output reg  [1:0]   cfg_slot,
    output reg  [31:0]  cfg_buy_limit,
    output reg  [31:0]  cfg_sell_limit,
    output reg  [31:0]  cfg_shares,
    output reg  [3:0]   cfg_book_enable,
    output reg  [3:0]   cfg_ref_valid,
    output wire [63:0]  cfg_locates,
    output wire [127:0] cfg_ref_prices,
    output wire [127:0] cfg_held,
    output reg  [31:0]  cfg_max_shares,
    output reg  [31:0]  cfg_band,
    output reg  [31:0]  cfg_max_position,
    output reg  [4:0]   cfg_rate_max,
    output reg  [31:0]  cfg_rate_window,
    output reg  [31:0]  cfg_token_prefix,
    output reg  [31:0]  cfg_firm,
    output reg  [31:0]  cfg_tif,
    output reg  [31:0]  cfg_min_qty,
    output reg  [7:0]   cfg_display,
    output reg  [7:0]   cfg_capacity,
    output reg  [7:0]   cfg_iso,
    output reg  [7:0]   cfg_cross_type,
    output reg  [7:0]   cfg_customer_type,
    output wire [255:0] cfg_stocks,

    // status shown
    input  wire [3:0]   book_overflow,
    input  wire [3:0]   book_error,

    // events counted
    input  wire         ev_packet,
    input  wire         ev_gap,
    input  wire         ev_malformed,
    input  wire         ev_message,
    input  wire         ev_request,
    input  wire         ev_reject,
    input  wire         ev_sent,
    input  wire         ev_sent_first,
    input  wire [31:0]  ev_latency
);

    localparam [31:0] VERSION = 32'h5454_0002;   // "TT", version 2
    localparam [1:0]  OKAY = 2'b00, SLVERR = 2'b10;

    // register addresses (bytes)
    localparam [7:0] A_VERSION = 8'h00, A_CONTROL = 8'h04, A_SLOT = 8'h08, A_BUY_LIMIT = 8'h0C,
                     A_SELL_LIMIT = 8'h10, A_SHARES = 8'h14, A_BOOK_ENABLE = 8'h18, A_REF_VALID = 8'h1C,
                     A_LOCATE = 8'h20, A_REF_PRICE = 8'h30, A_HELD = 8'h40, A_MAX_SHARES = 8'h50,
                     A_BAND = 8'h54, A_MAX_POSITION = 8'h58, A_RATE_MAX = 8'h5C, A_RATE_WINDOW = 8'h60,
                     A_TOKEN_PREFIX = 8'h64, A_FIRM = 8'h68, A_TIF = 8'h6C, A_MIN_QTY = 8'h70,
                     A_ORDER_FLAGS = 8'h74, A_CUSTOMER_TYPE = 8'h78, A_STOCK = 8'h80, A_PACKETS = 8'hC0,
                     A_GAPS = 8'hC4, A_MALFORMED = 8'hC8, A_MESSAGES = 8'hCC, A_REQUESTS = 8'hD0,
                     A_REJECTED = 8'hD4, A_SENT = 8'hD8, A_LATENCY = 8'hDC, A_CLOCK_PERIOD = 8'hE0,
                     A_BOOK_FLAGS = 8'hE4;

    reg  [15:0] locate    [0:3];
    reg  [31:0] ref_price [0:3];
    reg  [31:0] held      [0:3];
    reg  [31:0] stock     [0:7];                   // slot k: word 2k first 4 bytes, word 2k+1 last 4
    reg  [31:0] packets, gaps, malformed, messages, requests, rejected, sent, latency;

    genvar g;
    generate
        for (g = 0; g < 4; g = g + 1) begin : slots
            assign cfg_locates[16*g +: 16]    = locate[g];
            assign cfg_ref_prices[32*g +: 32] = ref_price[g];
            assign cfg_held[32*g +: 32]       = held[g];
            assign cfg_stocks[64*g +: 64]     = {stock[2*g], stock[2*g+1]};
        end
    endgenerate

    // ---- AXI4-Lite handshakes -----------------------------------------------------------------------------
    reg         aw_full, w_full;
    reg  [7:0]  aw_addr;
    reg  [31:0] w_data;
    reg  [3:0]  w_strb;
    // The value written (registered a cycle before the write): the register's bytes whose strobe is low kept.
    wire [31:0] strobe_mask = {{8{w_strb[3]}}, {8{w_strb[2]}}, {8{w_strb[1]}}, {8{w_strb[0]}}};
    reg  [31:0] reg_wdata;
    assign s_axi_awready = !aw_full;
    assign s_axi_wready  = !w_full;
    assign s_axi_arready = !s_axi_rvalid;
    reg         merged;                                          // reg_wdata holds the write's value
    wire        merge    = aw_full && w_full && !merged && !s_axi_bvalid;   // both halves in, B taken
    wire        write    = merged;                               // the write is done the cycle after
    wire        read     = s_axi_arvalid && s_axi_arready;

    always @(posedge clk) begin
        if (rst) begin
            aw_full      <= 1'b0;
            w_full       <= 1'b0;
            merged       <= 1'b0;
            s_axi_bvalid <= 1'b0;
            s_axi_rvalid <= 1'b0;
        end else begin
            if (s_axi_awvalid && s_axi_awready) aw_full <= 1'b1;
            if (s_axi_wvalid && s_axi_wready)   w_full  <= 1'b1;
            if (merge) merged <= 1'b1;
            if (write) begin
                aw_full      <= 1'b0;
                w_full       <= 1'b0;
                merged       <= 1'b0;
                s_axi_bvalid <= 1'b1;
            end else if (s_axi_bready) s_axi_bvalid <= 1'b0;
            if (read) s_axi_rvalid <= 1'b1;
            else if (s_axi_rready) s_axi_rvalid <= 1'b0;
        end
    end
    always @(posedge clk) begin
        if (s_axi_awvalid && s_axi_awready) aw_addr <= {s_axi_awaddr[7:2], 2'b00};
        if (s_axi_wvalid && s_axi_wready) begin
            w_data <= s_axi_wdata;
            w_strb <= s_axi_wstrb;
        end
        if (merge) reg_wdata <= (view[32*aw_addr[7:2] +: 32] & ~strobe_mask) | (w_data & strobe_mask);
        if (write) s_axi_bresp <= writable(aw_addr) ? OKAY : SLVERR;
        if (read) begin
            s_axi_rdata <= view[32*s_axi_araddr[7:2] +: 32];
            s_axi_rresp <= mapped({s_axi_araddr[7:2], 2'b00}) ? OKAY : SLVERR;
        end
    end

    wire [7:0]  reg_addr    = aw_addr;
    wire        reg_we      = write && writable(aw_addr);
    wire [1:0]  slot_of     = reg_addr[3:2];           // index within a block of 4 registers
    wire [2:0]  word_of     = reg_addr[4:2];           // index within the 8 stock words
    wire        clear       = reg_we && reg_addr == A_CONTROL && w_strb[3] && w_data[31];
    wire [4:0]  rate_in     = (reg_wdata == 32'd0 || reg_wdata > 32'd16) ? 5'd16 : reg_wdata[4:0];

    integer k;
    always @(posedge clk) begin
        if (rst) begin
            cfg_kill          <= 1'b1;
            cfg_buy_enable    <= 1'b0;
            cfg_sell_enable   <= 1'b0;
            cfg_slot          <= 2'd0;
            cfg_buy_limit     <= 32'd0;
            cfg_sell_limit    <= 32'd0;
            cfg_shares        <= 32'd0;
            cfg_book_enable   <= 4'd0;
            cfg_ref_valid     <= 4'd0;
            cfg_max_shares    <= 32'd0;
            cfg_band          <= 32'd0;
            cfg_max_position  <= 32'd0;
            cfg_rate_max      <= 5'd16;
            cfg_rate_window   <= 32'd0;
            cfg_token_prefix  <= 32'd0;
            cfg_firm          <= 32'd0;
            cfg_tif           <= 32'd0;
            cfg_min_qty       <= 32'd0;
            cfg_display       <= 8'd0;
            cfg_capacity      <= 8'd0;
            cfg_iso           <= 8'd0;
            cfg_cross_type    <= 8'd0;
            cfg_customer_type <= 8'd0;
            for (k = 0; k < 4; k = k + 1) begin
                locate[k]    <= 16'd0;
                ref_price[k] <= 32'd0;
                held[k]      <= 32'd0;
            end
            for (k = 0; k < 8; k = k + 1) stock[k] <= 32'd0;
        end else if (reg_we) begin
            case (reg_addr)
                A_CONTROL: begin
                    cfg_kill        <= reg_wdata[0];
                    cfg_buy_enable  <= reg_wdata[1];
                    cfg_sell_enable <= reg_wdata[2];
                end
                A_SLOT:          cfg_slot          <= reg_wdata[1:0];
                A_BUY_LIMIT:     cfg_buy_limit     <= reg_wdata;
                A_SELL_LIMIT:    cfg_sell_limit    <= reg_wdata;
                A_SHARES:        cfg_shares        <= reg_wdata;
                A_BOOK_ENABLE:   cfg_book_enable   <= reg_wdata[3:0];
                A_REF_VALID:     cfg_ref_valid     <= reg_wdata[3:0];
                A_MAX_SHARES:    cfg_max_shares    <= reg_wdata;
                A_BAND:          cfg_band          <= reg_wdata;
                A_MAX_POSITION:  cfg_max_position  <= reg_wdata;
                A_RATE_MAX:      cfg_rate_max      <= rate_in;
                A_RATE_WINDOW:   cfg_rate_window   <= reg_wdata;
                A_TOKEN_PREFIX:  cfg_token_prefix  <= reg_wdata;
                A_FIRM:          cfg_firm          <= reg_wdata;
                A_TIF:           cfg_tif           <= reg_wdata;
                A_MIN_QTY:       cfg_min_qty       <= reg_wdata;
                A_ORDER_FLAGS: begin
                    cfg_display    <= reg_wdata[7:0];
                    cfg_capacity   <= reg_wdata[15:8];
                    cfg_iso        <= reg_wdata[23:16];
                    cfg_cross_type <= reg_wdata[31:24];
                end
                A_CUSTOMER_TYPE: cfg_customer_type <= reg_wdata[7:0];
                default: begin
                    if (reg_addr[7:4] == A_LOCATE[7:4])    locate[slot_of]    <= reg_wdata[15:0];
                    if (reg_addr[7:4] == A_REF_PRICE[7:4]) ref_price[slot_of] <= reg_wdata;
                    if (reg_addr[7:4] == A_HELD[7:4])      held[slot_of]      <= reg_wdata;
                    if (reg_addr[7:5] == A_STOCK[7:5])     stock[word_of]     <= reg_wdata;
                end
            endcase
        end
    end

    // ev_message comes late in the cycle (the parser's take, which follows book_top's ready): it is the message
    // counter's enable, the sum worked out apart (kept, so that the event is not merged into it).
    (* keep *) wire [31:0] messages_next = count(messages, 1'b1);
    always @(posedge clk) begin
        if (rst || clear) begin
            packets   <= 32'd0;
            gaps      <= 32'd0;
            malformed <= 32'd0;
            messages  <= 32'd0;
            requests  <= 32'd0;
            rejected  <= 32'd0;
            sent      <= 32'd0;
            latency   <= 32'd0;
        end else begin
            packets   <= count(packets, ev_packet);
            gaps      <= count(gaps, ev_gap);
            malformed <= count(malformed, ev_malformed);
            if (ev_message) messages <= messages_next;
            requests  <= count(requests, ev_request);
            rejected  <= count(rejected, ev_reject);
            sent      <= count(sent, ev_sent);
            if (ev_sent_first) latency <= ev_latency;
        end
    end

    // Every register by word address (0 where none is): view[32w+31:32w] is the register at byte address 4w.
    localparam integer W_LOCATE = 8, W_REF_PRICE = 12, W_HELD = 16, W_STOCK = 32;   // word addresses
    reg  [2047:0] view;
    integer v;
    always @* begin
        view = 2048'd0;
        view[32*(A_VERSION/4)       +: 32] = VERSION;
        view[32*(A_CONTROL/4)       +: 32] = {29'd0, cfg_sell_enable, cfg_buy_enable, cfg_kill};
        view[32*(A_SLOT/4)          +: 32] = {30'd0, cfg_slot};
        view[32*(A_BUY_LIMIT/4)     +: 32] = cfg_buy_limit;
        view[32*(A_SELL_LIMIT/4)    +: 32] = cfg_sell_limit;
        view[32*(A_SHARES/4)        +: 32] = cfg_shares;
        view[32*(A_BOOK_ENABLE/4)   +: 32] = {28'd0, cfg_book_enable};
        view[32*(A_REF_VALID/4)     +: 32] = {28'd0, cfg_ref_valid};
        view[32*(A_MAX_SHARES/4)    +: 32] = cfg_max_shares;
        view[32*(A_BAND/4)          +: 32] = cfg_band;
        view[32*(A_MAX_POSITION/4)  +: 32] = cfg_max_position;
        view[32*(A_RATE_MAX/4)      +: 32] = {27'd0, cfg_rate_max};
        view[32*(A_RATE_WINDOW/4)   +: 32] = cfg_rate_window;
        view[32*(A_TOKEN_PREFIX/4)  +: 32] = cfg_token_prefix;
        view[32*(A_FIRM/4)          +: 32] = cfg_firm;
        view[32*(A_TIF/4)           +: 32] = cfg_tif;
        view[32*(A_MIN_QTY/4)       +: 32] = cfg_min_qty;
        view[32*(A_ORDER_FLAGS/4)   +: 32] = {cfg_cross_type, cfg_iso, cfg_capacity, cfg_display};
        view[32*(A_CUSTOMER_TYPE/4) +: 32] = {24'd0, cfg_customer_type};
        view[32*(A_PACKETS/4)       +: 32] = packets;
        view[32*(A_GAPS/4)          +: 32] = gaps;
        view[32*(A_MALFORMED/4)     +: 32] = malformed;
        view[32*(A_MESSAGES/4)      +: 32] = messages;
        view[32*(A_REQUESTS/4)      +: 32] = requests;
        view[32*(A_REJECTED/4)      +: 32] = rejected;
        view[32*(A_SENT/4)          +: 32] = sent;
        view[32*(A_LATENCY/4)       +: 32] = latency;
        view[32*(A_CLOCK_PERIOD/4)  +: 32] = CLOCK_PERIOD_PS;
        view[32*(A_BOOK_FLAGS/4)    +: 32] = {24'd0, book_error, book_overflow};
        for (v = 0; v < 4; v = v + 1) begin
            view[32*(W_LOCATE + v)    +: 32] = {16'd0, locate[v]};
            view[32*(W_REF_PRICE + v) +: 32] = ref_price[v];
            view[32*(W_HELD + v)      +: 32] = held[v];
        end
        for (v = 0; v < 8; v = v + 1) view[32*(W_STOCK + v) +: 32] = stock[v];
    end

    // A register is at the word address.
    function mapped(input [7:0] a);
        mapped = a <= A_CUSTOMER_TYPE || a[7:5] == A_STOCK[7:5] || (a >= A_PACKETS && a <= A_BOOK_FLAGS);
    endfunction

    // A configuration register is at the word address.
    function writable(input [7:0] a);
        writable = a != A_VERSION && (a <= A_CUSTOMER_TYPE || a[7:5] == A_STOCK[7:5]);
    endfunction

    // A counter and its event: x + 1 when ev, wrapping.
    function [31:0] count(input [31:0] x, input ev);
        /* verilator lint_off UNUSEDSIGNAL */     // the carry out
        reg [32:0] wide;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            wide  = add32(x, 32'd0, ev);
            count = wide[31:0];
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

endmodule

`default_nettype wire
