// Top of book of up to 4 configured stock locates, kept from the itch_parser's decoded messages.
//
// Input : the itch_parser's output beat (s_valid/s_ready and the decoded fields it needs).
// Config: cfg_locates holds 4 locates (slot k in cfg_locates[16k+15:16k]), cfg_enable one bit per slot; a
//         locate configured in two slots belongs to the lower one. Change them only while no message is in flight.
// Output: one beat per input message (m_valid/m_ready):
//   m_tracked   the message's locate is configured (else every other field is zero)
//   m_slot      its slot
//   m_bid_valid, m_bid_price, m_bid_size; m_ask_*: best level of each side after the message (size is the
//               total shares of the level)
//   m_overflow  sticky: a limit below was exceeded for this slot; its top is not to be trusted
//   m_error     sticky: the feed was inconsistent for this slot (unknown reference, over-execution, duplicate
//               reference, zero price or shares): the engine's book rejects the same message
// A top is exact while both flags of its slot are clear; they clear only with rst. After an overflow m_error may
// follow: the orders beyond the limits are unknown to the block.
//
// Per-order state lives in a table of 2**TABLE_BITS entries (block RAM) indexed by an XOR fold of the order
// reference: {valid, ref, slot, side, price, shares}. An add (or the new half of a replace) whose entry is taken
// by another order sets m_overflow. Each side of each slot aggregates up to 8 price levels (registers); a 9th
// price, or a level size above 2**32-1 shares, sets m_overflow.
//
// Messages: A F add; E C X take shares (C at its own execution price, which the book ignores); D removes; U
// removes the order and adds the new reference on the same side (a new entry, so a new collision check). Other
// types and messages flagged m_bad_len change nothing.
// Latency: the output beat is valid 1 cycle after the input is taken for an untracked locate, 3 cycles for a
// tracked one, 5 for a tracked U whose order is found. One message is in flight at a time; the next is taken in
// the cycle its predecessor's output is. After rst the table is cleared for 2**TABLE_BITS cycles (s_ready low).
`default_nettype none

module book_top #(
    parameter integer TABLE_BITS = 11
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [63:0]  cfg_locates,
    input  wire [3:0]   cfg_enable,

    input  wire         s_valid,
    output wire         s_ready,
    input  wire [7:0]   s_type,
    input  wire         s_bad_len,
    input  wire [15:0]  s_locate,
    input  wire [63:0]  s_order_ref,
    input  wire [63:0]  s_new_ref,
    input  wire [7:0]   s_side,
    input  wire [31:0]  s_shares,
    input  wire [31:0]  s_price,

    output reg          m_valid,
    input  wire         m_ready,
    output reg          m_tracked,
    output reg  [1:0]   m_slot,
    output reg          m_bid_valid,
    output reg  [31:0]  m_bid_price,
    output reg  [31:0]  m_bid_size,
    output reg          m_ask_valid,
    output reg  [31:0]  m_ask_price,
    output reg  [31:0]  m_ask_size,
    output reg          m_overflow,
    output reg          m_error
);

    localparam [7:0] T_A = "A", T_F = "F", T_E = "E", T_C = "C", T_X = "X", T_D = "D", T_U = "U";
    localparam integer LEVELS = 8;                 // price levels per side of a slot
    localparam integer ENTRY = 1 + 64 + 2 + 1 + 32 + 32;
    localparam [2:0] S_CLEAR = 3'd0, S_IDLE = 3'd1, S_LOOK = 3'd2, S_UREAD = 3'd3, S_ULOOK = 3'd4,
                     S_BEST = 3'd5, S_OUT = 3'd6;

    reg  [2:0]            state;
    reg  [TABLE_BITS-1:0] clear_addr;

    // The message in flight.
    reg  [7:0]            r_type;
    reg  [1:0]            r_slot;
    reg  [63:0]           r_ref, r_new_ref;
    reg                   r_sell;                  // side of an add; of the replaced order for U
    reg  [31:0]           r_shares, r_price;
    reg  [TABLE_BITS-1:0] r_addr, r_new_addr;

    reg  [3:0]            overflow, error;         // sticky, per slot

    // ---- the order table --------------------------------------------------------------------------------
    reg  [ENTRY-1:0]      table_mem [0:(1<<TABLE_BITS)-1];
    reg  [ENTRY-1:0]      rd_data;
    wire                  e_valid  = rd_data[ENTRY-1];
    wire [63:0]           e_ref    = rd_data[130:67];
    wire [1:0]            e_slot   = rd_data[66:65];
    wire                  e_sell   = rd_data[64];
    wire [31:0]           e_price  = rd_data[63:32];
    wire [31:0]           e_shares = rd_data[31:0];

    assign s_ready = (state == S_IDLE) || (state == S_OUT && m_ready);
    wire s_fire = s_valid && s_ready;

    // Which slot the incoming message belongs to.
    reg        in_tracked;
    reg  [1:0] in_slot;
    integer    k;
    always @* begin
        in_tracked = 1'b0;
        in_slot    = 2'd0;
        for (k = 3; k >= 0; k = k - 1)
            if (cfg_enable[k] && cfg_locates[16*k +: 16] == s_locate) begin
                in_tracked = 1'b1;
                in_slot    = k[1:0];
            end
    end

    wire [TABLE_BITS-1:0] rd_addr = (state == S_UREAD) ? r_new_addr : fold(s_order_ref);
    wire                  rd_en   = s_fire || state == S_UREAD;

    // ---- what the looked-up entry means for the message (S_LOOK and S_ULOOK) ------------------------------
    wire is_add  = r_type == T_A || r_type == T_F;
    wire is_take = r_type == T_E || r_type == T_C || r_type == T_X;
    wire hit     = e_valid && e_slot == r_slot && e_ref == r_ref;
    wire hit_new = e_valid && e_slot == r_slot && e_ref == r_new_ref;
    wire new_bad = r_shares == 32'd0 || r_price == 32'd0;

    reg              wr_en;
    reg  [ENTRY-1:0] wr_data;
    reg              lv_add, lv_sub, lv_sell, set_overflow, set_error;
    reg  [31:0]      lv_price, lv_qty;

    always @* begin
        wr_en        = 1'b0;
        wr_data      = {ENTRY{1'b0}};
        lv_add       = 1'b0;
        lv_sub       = 1'b0;
        lv_sell      = e_sell;
        lv_price     = e_price;
        lv_qty       = r_shares;
        set_overflow = 1'b0;
        set_error    = 1'b0;
        if (state == S_LOOK) begin
            if (is_add) begin
                lv_sell  = r_sell;
                lv_price = r_price;
                if (new_bad || hit) set_error = 1'b1;
                else if (e_valid) set_overflow = 1'b1;
                else begin
                    wr_en   = 1'b1;
                    wr_data = {1'b1, r_ref, r_slot, r_sell, r_price, r_shares};
                    lv_add  = 1'b1;
                end
            end else if (is_take) begin
                if (!hit || r_shares == 32'd0 || r_shares > e_shares) set_error = 1'b1;
                else begin
                    wr_en   = 1'b1;
                    wr_data = {e_shares != r_shares, rd_data[ENTRY-2:32], e_shares - r_shares};
                    lv_sub  = 1'b1;
                end
            end else if (r_type == T_D || r_type == T_U) begin
                if (!hit) set_error = 1'b1;
                else begin
                    wr_en  = 1'b1;           // the entry cleared
                    lv_sub = 1'b1;
                    lv_qty = e_shares;
                end
            end
        end else if (state == S_ULOOK) begin
            lv_sell  = r_sell;
            lv_price = r_price;
            if (new_bad || hit_new) set_error = 1'b1;
            else if (e_valid) set_overflow = 1'b1;
            else begin
                wr_en   = 1'b1;
                wr_data = {1'b1, r_new_ref, r_slot, r_sell, r_price, r_shares};
                lv_add  = 1'b1;
            end
        end
    end
    wire [TABLE_BITS-1:0] wr_addr = (state == S_ULOOK) ? r_new_addr : r_addr;

    wire                  mem_we   = wr_en || state == S_CLEAR;
    wire [TABLE_BITS-1:0] mem_addr = (state == S_CLEAR) ? clear_addr : wr_addr;
    wire [ENTRY-1:0]      mem_data = (state == S_CLEAR) ? {ENTRY{1'b0}} : wr_data;
    always @(posedge clk) begin
        if (mem_we) table_mem[mem_addr] <= mem_data;
        if (rd_en) rd_data <= table_mem[rd_addr];
    end

    // ---- price levels: 4 slots x 2 sides x 8 levels; group {slot, sell}, entry {group, level} --------------
    localparam integer GROUP = 32 * LEVELS;
    reg  [8*GROUP-1:0]  level_price;
    reg  [8*GROUP-1:0]  level_size;
    reg  [8*LEVELS-1:0] level_valid;

    // The group a level update touches: find the level of lv_price, else the first free one.
    wire [2:0]        lv_group = {r_slot, lv_sell};
    reg  [GROUP-1:0]  g_price, g_size, bid_price, bid_size, ask_price, ask_size;
    reg  [LEVELS-1:0] g_valid, bid_valid, ask_valid;
    integer           g;
    // Group reads as explicit multiplexers (a variable part-select of the whole array synthesizes badly).
    always @* begin
        g_price   = {GROUP{1'b0}};
        g_size    = {GROUP{1'b0}};
        g_valid   = {LEVELS{1'b0}};
        bid_price = {GROUP{1'b0}};
        bid_size  = {GROUP{1'b0}};
        bid_valid = {LEVELS{1'b0}};
        ask_price = {GROUP{1'b0}};
        ask_size  = {GROUP{1'b0}};
        ask_valid = {LEVELS{1'b0}};
        for (g = 0; g < 8; g = g + 1) begin
            if (lv_group == g[2:0]) begin
                g_price = level_price[GROUP*g +: GROUP];
                g_size  = level_size[GROUP*g +: GROUP];
                g_valid = level_valid[LEVELS*g +: LEVELS];
            end
            if ({r_slot, 1'b0} == g[2:0]) begin
                bid_price = level_price[GROUP*g +: GROUP];
                bid_size  = level_size[GROUP*g +: GROUP];
                bid_valid = level_valid[LEVELS*g +: LEVELS];
            end
            if ({r_slot, 1'b1} == g[2:0]) begin
                ask_price = level_price[GROUP*g +: GROUP];
                ask_size  = level_size[GROUP*g +: GROUP];
                ask_valid = level_valid[LEVELS*g +: LEVELS];
            end
        end
    end

    reg               lv_hit, lv_free;
    reg  [2:0]        lv_hit_at, lv_free_at;
    integer           i;
    always @* begin
        lv_hit     = 1'b0;
        lv_free    = 1'b0;
        lv_hit_at  = 3'd0;
        lv_free_at = 3'd0;
        for (i = LEVELS - 1; i >= 0; i = i - 1) begin
            if (g_valid[i] && g_price[32*i +: 32] == lv_price) begin
                lv_hit    = 1'b1;
                lv_hit_at = i[2:0];
            end
            if (!g_valid[i]) begin
                lv_free    = 1'b1;
                lv_free_at = i[2:0];
            end
        end
    end
    wire [5:0]  hit_entry  = {lv_group, lv_hit_at};
    wire [5:0]  free_entry = {lv_group, lv_free_at};
    reg  [31:0] hit_size;
    always @* begin
        hit_size = 32'd0;
        for (i = 0; i < LEVELS; i = i + 1) if (lv_hit_at == i[2:0]) hit_size = g_size[32*i +: 32];
    end
    wire [32:0] lv_sum     = {1'b0, hit_size} + {1'b0, lv_qty};
    wire [32:0] lv_diff    = {1'b0, hit_size} - {1'b0, lv_qty};

    // Best level of each side of the message's slot (read in S_BEST).
    reg               best_bid_valid, best_ask_valid;
    reg  [31:0]       best_bid_price, best_bid_size, best_ask_price, best_ask_size;
    always @* begin
        best_bid_valid = 1'b0;
        best_bid_price = 32'd0;
        best_bid_size  = 32'd0;
        best_ask_valid = 1'b0;
        best_ask_price = 32'd0;
        best_ask_size  = 32'd0;
        for (i = 0; i < LEVELS; i = i + 1) begin
            if (bid_valid[i] && (!best_bid_valid || bid_price[32*i +: 32] > best_bid_price)) begin
                best_bid_valid = 1'b1;
                best_bid_price = bid_price[32*i +: 32];
                best_bid_size  = bid_size[32*i +: 32];
            end
            if (ask_valid[i] && (!best_ask_valid || ask_price[32*i +: 32] < best_ask_price)) begin
                best_ask_valid = 1'b1;
                best_ask_price = ask_price[32*i +: 32];
                best_ask_size  = ask_size[32*i +: 32];
            end
        end
    end

    // ---- control ------------------------------------------------------------------------------------------
    integer e;
    always @(posedge clk) begin
        if (rst) begin
            state       <= S_CLEAR;
            clear_addr  <= {TABLE_BITS{1'b0}};
            overflow    <= 4'd0;
            error       <= 4'd0;
            level_valid <= {8*LEVELS{1'b0}};
            m_valid     <= 1'b0;
        end else begin
            case (state)
                S_CLEAR: begin
                    clear_addr <= clear_addr + 1'b1;
                    if (&clear_addr) state <= S_IDLE;
                end
                S_LOOK:  state <= (r_type == T_U && hit) ? S_UREAD : S_BEST;
                S_UREAD: state <= S_ULOOK;
                S_ULOOK: state <= S_BEST;
                S_BEST: begin
                    m_valid <= 1'b1;
                    state   <= S_OUT;
                end
                S_OUT: if (m_ready) begin
                    m_valid <= 1'b0;
                    state   <= S_IDLE;
                end
                default: ;
            endcase
            if (s_fire) begin
                if (in_tracked) state <= S_LOOK;
                else begin
                    m_valid <= 1'b1;
                    state   <= S_OUT;
                end
            end
            if (set_overflow) overflow[r_slot] <= 1'b1;
            if (set_error)    error[r_slot]    <= 1'b1;
            for (e = 0; e < 8 * LEVELS; e = e + 1) begin
                if (lv_add && lv_hit && !lv_sum[32] && hit_entry == e[5:0])
                    level_size[32*e +: 32] <= lv_sum[31:0];
                if (lv_add && !lv_hit && lv_free && free_entry == e[5:0]) begin
                    level_valid[e]          <= 1'b1;
                    level_price[32*e +: 32] <= lv_price;
                    level_size[32*e +: 32]  <= lv_qty;
                end
                if (lv_sub && lv_hit && !lv_diff[32] && hit_entry == e[5:0]) begin
                    level_size[32*e +: 32] <= lv_diff[31:0];
                    if (lv_diff[31:0] == 32'd0) level_valid[e] <= 1'b0;
                end
            end
            if (lv_add && (lv_hit ? lv_sum[32] : !lv_free)) overflow[r_slot] <= 1'b1;
            if (lv_sub && (!lv_hit || lv_diff[32])) error[r_slot] <= 1'b1;
        end
    end

    // The message's fields, and the output beat; the datapath needs no reset.
    always @(posedge clk) begin
        if (s_fire) begin
            r_type     <= (s_bad_len) ? 8'd0 : s_type;
            r_slot     <= in_slot;
            r_ref      <= s_order_ref;
            r_new_ref  <= s_new_ref;
            r_sell     <= s_side != "B";
            r_shares   <= s_shares;
            r_price    <= s_price;
            r_addr     <= fold(s_order_ref);
            r_new_addr <= fold(s_new_ref);
            m_tracked  <= in_tracked;
            m_slot     <= in_tracked ? in_slot : 2'd0;
            m_bid_valid <= 1'b0;
            m_bid_price <= 32'd0;
            m_bid_size  <= 32'd0;
            m_ask_valid <= 1'b0;
            m_ask_price <= 32'd0;
            m_ask_size  <= 32'd0;
            m_overflow  <= 1'b0;
            m_error     <= 1'b0;
        end
        if (state == S_LOOK && r_type == T_U && hit) r_sell <= e_sell;
        if (state == S_BEST) begin
            m_bid_valid <= best_bid_valid;
            m_bid_price <= best_bid_price;
            m_bid_size  <= best_bid_size;
            m_ask_valid <= best_ask_valid;
            m_ask_price <= best_ask_price;
            m_ask_size  <= best_ask_size;
            m_overflow  <= overflow[r_slot];
            m_error     <= error[r_slot];
        end
    end

    // Table index of an order reference: its 64 bits folded by XOR.
    function [TABLE_BITS-1:0] fold(input [63:0] ref_in);
        integer b;
        begin
            fold = {TABLE_BITS{1'b0}};
            for (b = 0; b < 64; b = b + 1) fold[b % TABLE_BITS] = fold[b % TABLE_BITS] ^ ref_in[b];
        end
    endfunction

endmodule

`default_nettype wire
