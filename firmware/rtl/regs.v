// Register file of the tick-to-trade chain: the configuration of its blocks and read-only counters.
//
// Port  : reg_addr is a byte address of a 32-bit register (a misaligned address reads 0 and is not written);
//         reg_we writes reg_wdata at the clock edge; reg_rdata is the register at reg_addr one cycle earlier
//         (registered read). Unmapped addresses read 0.
// Map   : see firmware/README.md ("Register map"). Configuration registers are read back as written (fields
//         narrower than 32 bits read their width, zero above). After rst the kill switch is engaged, the
//         trigger and every book slot are disabled, RATE_MAX is 16 and every other register is 0.
// Counters: 32 bits, wrapping; they count the ev_* pulses and clear with rst or a write of CONTROL bit 31.
//         LAST_LATENCY holds ev_latency of the last ev_sent_first pulse.
// Change the configuration only while no message is in flight (the blocks read it combinationally).
`default_nettype none

module regs (
    input  wire         clk,
    input  wire         rst,

    input  wire [7:0]   reg_addr,
    input  wire         reg_we,
    input  wire [31:0]  reg_wdata,
    output reg  [31:0]  reg_rdata,

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

    localparam [31:0] VERSION = 32'h5454_0001;   // "TT", version 1

    // register addresses (bytes)
    localparam [7:0] A_VERSION = 8'h00, A_CONTROL = 8'h04, A_SLOT = 8'h08, A_BUY_LIMIT = 8'h0C,
                     A_SELL_LIMIT = 8'h10, A_SHARES = 8'h14, A_BOOK_ENABLE = 8'h18, A_REF_VALID = 8'h1C,
                     A_LOCATE = 8'h20, A_REF_PRICE = 8'h30, A_HELD = 8'h40, A_MAX_SHARES = 8'h50,
                     A_BAND = 8'h54, A_MAX_POSITION = 8'h58, A_RATE_MAX = 8'h5C, A_RATE_WINDOW = 8'h60,
                     A_TOKEN_PREFIX = 8'h64, A_FIRM = 8'h68, A_TIF = 8'h6C, A_MIN_QTY = 8'h70,
                     A_ORDER_FLAGS = 8'h74, A_CUSTOMER_TYPE = 8'h78, A_STOCK = 8'h80, A_PACKETS = 8'hC0,
                     A_GAPS = 8'hC4, A_MALFORMED = 8'hC8, A_MESSAGES = 8'hCC, A_REQUESTS = 8'hD0,
                     A_REJECTED = 8'hD4, A_SENT = 8'hD8, A_LATENCY = 8'hDC;

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

    wire        aligned = reg_addr[1:0] == 2'b00;
    wire        write   = reg_we && aligned;
    wire [1:0]  slot_of = reg_addr[3:2];           // index within a block of 4 registers
    wire [2:0]  word_of = reg_addr[4:2];           // index within the 8 stock words
    wire        clear   = write && reg_addr == A_CONTROL && reg_wdata[31];
    wire [4:0]  rate_in = (reg_wdata[4:0] == 5'd0 || reg_wdata[4:0] > 5'd16) ? 5'd16 : reg_wdata[4:0];

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
        end else if (write) begin
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
            packets   <= packets + {31'd0, ev_packet};
            gaps      <= gaps + {31'd0, ev_gap};
            malformed <= malformed + {31'd0, ev_malformed};
            messages  <= messages + {31'd0, ev_message};
            requests  <= requests + {31'd0, ev_request};
            rejected  <= rejected + {31'd0, ev_reject};
            sent      <= sent + {31'd0, ev_sent};
            if (ev_sent_first) latency <= ev_latency;
        end
    end

    always @(posedge clk) begin
        if (!aligned) reg_rdata <= 32'd0;
        else begin
            case (reg_addr)
                A_VERSION:       reg_rdata <= VERSION;
                A_CONTROL:       reg_rdata <= {29'd0, cfg_sell_enable, cfg_buy_enable, cfg_kill};
                A_SLOT:          reg_rdata <= {30'd0, cfg_slot};
                A_BUY_LIMIT:     reg_rdata <= cfg_buy_limit;
                A_SELL_LIMIT:    reg_rdata <= cfg_sell_limit;
                A_SHARES:        reg_rdata <= cfg_shares;
                A_BOOK_ENABLE:   reg_rdata <= {28'd0, cfg_book_enable};
                A_REF_VALID:     reg_rdata <= {28'd0, cfg_ref_valid};
                A_MAX_SHARES:    reg_rdata <= cfg_max_shares;
                A_BAND:          reg_rdata <= cfg_band;
                A_MAX_POSITION:  reg_rdata <= cfg_max_position;
                A_RATE_MAX:      reg_rdata <= {27'd0, cfg_rate_max};
                A_RATE_WINDOW:   reg_rdata <= cfg_rate_window;
                A_TOKEN_PREFIX:  reg_rdata <= cfg_token_prefix;
                A_FIRM:          reg_rdata <= cfg_firm;
                A_TIF:           reg_rdata <= cfg_tif;
                A_MIN_QTY:       reg_rdata <= cfg_min_qty;
                A_ORDER_FLAGS:   reg_rdata <= {cfg_cross_type, cfg_iso, cfg_capacity, cfg_display};
                A_CUSTOMER_TYPE: reg_rdata <= {24'd0, cfg_customer_type};
                A_PACKETS:       reg_rdata <= packets;
                A_GAPS:          reg_rdata <= gaps;
                A_MALFORMED:     reg_rdata <= malformed;
                A_MESSAGES:      reg_rdata <= messages;
                A_REQUESTS:      reg_rdata <= requests;
                A_REJECTED:      reg_rdata <= rejected;
                A_SENT:          reg_rdata <= sent;
                A_LATENCY:       reg_rdata <= latency;
                default: begin
                    if (reg_addr[7:4] == A_LOCATE[7:4])         reg_rdata <= {16'd0, locate[slot_of]};
                    else if (reg_addr[7:4] == A_REF_PRICE[7:4]) reg_rdata <= ref_price[slot_of];
                    else if (reg_addr[7:4] == A_HELD[7:4])      reg_rdata <= held[slot_of];
                    else if (reg_addr[7:5] == A_STOCK[7:5])     reg_rdata <= stock[word_of];
                    else                                        reg_rdata <= 32'd0;
                end
            endcase
        end
    end

endmodule

`default_nettype wire
