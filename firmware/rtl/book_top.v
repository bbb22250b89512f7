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
//   m_tag       s_tag of the message, carried through
// flags_overflow and flags_error hold the sticky flags of the 4 slots as they stand.
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
// Latency: the output beat is valid exactly 4 cycles after the input is taken, for every message (tracked or
// not, a Replace too), while the output is taken: stage 1 reads the order's table entry and updates the table and
// the levels, stage 2 does the same for a Replace's new reference, stage 3 finds the best levels. A message is
// taken every cycle, except that a message of type A F E C X D U (the ones that change the book) is taken only
// when no message was taken the cycle before: ITCH's shortest of them (D, 19 bytes and its 2-byte length
// prefix) spans more than two 8-byte input beats, so at line rate they never wait. An output queue of 5 beats
// holds what the pipeline has started; s_ready falls when it could fill. After rst the table is cleared for
// 2**TABLE_BITS cycles (s_ready low).
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
    input  wire [31:0]  s_tag,

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
    output reg          m_error,
    output reg  [31:0]  m_tag,
    output reg  [3:0]   flags_overflow,
    output reg  [3:0]   flags_error
);

    localparam [7:0] T_A = "A", T_F = "F", T_E = "E", T_C = "C", T_X = "X", T_D = "D", T_U = "U";
    localparam integer LEVELS = 8;                 // price levels per side of a slot
    localparam integer ENTRY = 1 + 64 + 2 + 1 + 32 + 32;
    localparam integer QUEUE = 5;                  // output queue: the 3 stages in flight, the head, one more
    localparam integer BEAT = 1 + 2 + 1 + 32 + 32 + 1 + 32 + 32 + 1 + 1 + 32;

    reg                   clearing;
    reg  [TABLE_BITS-1:0] clear_addr;
    reg  [3:0]            overflow, error;         // sticky, per slot

    // ---- stage 1: the message taken last cycle, with its order's table entry ------------------------------
    reg                   p1_valid, p1_tracked;
    reg  [7:0]            p1_type;                 // 0 for a message flagged bad_len
    reg  [1:0]            p1_slot;
    reg  [63:0]           p1_ref, p1_new_ref;
    reg                   p1_sell;
    reg  [31:0]           p1_shares, p1_price;
    reg  [TABLE_BITS-1:0] p1_addr, p1_new_addr;
    reg  [31:0]           p1_tag, p2_tag, p3_tag;
    // ---- stage 2: a Replace's new reference, with its table entry -------------------------------------------
    reg                   p2_valid, p2_tracked, p2_replace;
    reg  [1:0]            p2_slot;
    reg  [63:0]           p2_new_ref;
    reg                   p2_sell;
    reg  [31:0]           p2_shares, p2_price;
    reg  [TABLE_BITS-1:0] p2_new_addr;
    // ---- stage 3: the best levels of the message's slot -----------------------------------------------------
    reg                   p3_valid, p3_tracked;
    reg  [1:0]            p3_slot;

    // ---- the order table --------------------------------------------------------------------------------
    reg  [ENTRY-1:0]      table_mem [0:(1<<TABLE_BITS)-1];
    reg  [ENTRY-1:0]      rd_data;
    reg                   bypass;                  // last cycle's read was of the entry written that cycle,
    reg  [ENTRY-1:0]      wr_data_q;               // which the read did not see: this is it
    wire [ENTRY-1:0]      entry    = bypass ? wr_data_q : rd_data;
    wire                  e_valid  = entry[ENTRY-1];
    wire [63:0]           e_ref    = entry[130:67];
    wire [1:0]            e_slot   = entry[66:65];
    wire                  e_sell   = entry[64];
    wire [31:0]           e_price  = entry[63:32];
    wire [31:0]           e_shares = entry[31:0];

    // ---- input: a book message is taken only when no message was taken the cycle before ------------------
    reg  [2:0]            q_count;
    wire [2:0]            in_flight = {2'd0, p1_valid} + {2'd0, p2_valid} + {2'd0, p3_valid} + q_count;
    wire                  s_book    = !s_bad_len && (s_type == T_A || s_type == T_F || s_type == T_E ||
                                      s_type == T_C || s_type == T_X || s_type == T_D || s_type == T_U);
    assign s_ready = !clearing && in_flight < QUEUE[2:0] && !(s_book && p1_valid);
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

    // Stage 1 reads a Replace's new entry; otherwise the port reads the incoming message's order.
    wire                  p1_is_u = p1_valid && p1_tracked && p1_type == T_U;
    wire [TABLE_BITS-1:0] rd_addr = p1_is_u ? p1_new_addr : fold(s_order_ref);
    wire                  rd_en   = s_fire || p1_is_u;

    // ---- what the entry means for the message: stage 1 (its order) or stage 2 (a Replace's new reference) --
    // A book message is never taken right after another message, so the two stages never act in one cycle.
    wire look    = p1_valid && p1_tracked;
    wire ulook   = p2_valid && p2_replace;
    wire is_add  = p1_type == T_A || p1_type == T_F;
    wire is_take = p1_type == T_E || p1_type == T_C || p1_type == T_X;
    wire hit     = e_valid && e_slot == p1_slot && e_ref == p1_ref;
    wire hit_new = e_valid && e_slot == p2_slot && e_ref == p2_new_ref;
    wire new_bad = p1_shares == 32'd0 || p1_price == 32'd0;
    wire u_bad   = p2_shares == 32'd0 || p2_price == 32'd0;
    wire [1:0] r_slot = ulook ? p2_slot : p1_slot;

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
        lv_qty       = p1_shares;
        set_overflow = 1'b0;
        set_error    = 1'b0;
        if (ulook) begin
            lv_sell  = p2_sell;
            lv_price = p2_price;
            lv_qty   = p2_shares;
            if (u_bad || hit_new) set_error = 1'b1;
            else if (e_valid) set_overflow = 1'b1;
            else begin
                wr_en   = 1'b1;
                wr_data = {1'b1, p2_new_ref, p2_slot, p2_sell, p2_price, p2_shares};
                lv_add  = 1'b1;
            end
        end else if (look) begin
            if (is_add) begin
                lv_sell  = p1_sell;
                lv_price = p1_price;
                if (new_bad || hit) set_error = 1'b1;
                else if (e_valid) set_overflow = 1'b1;
                else begin
                    wr_en   = 1'b1;
                    wr_data = {1'b1, p1_ref, p1_slot, p1_sell, p1_price, p1_shares};
                    lv_add  = 1'b1;
                end
            end else if (is_take) begin
                if (!hit || p1_shares == 32'd0 || p1_shares > e_shares) set_error = 1'b1;
                else begin
                    wr_en   = 1'b1;
                    wr_data = {e_shares != p1_shares, entry[ENTRY-2:32], e_shares - p1_shares};
                    lv_sub  = 1'b1;
                end
            end else if (p1_type == T_D || p1_type == T_U) begin
                if (!hit) set_error = 1'b1;
                else begin
                    wr_en  = 1'b1;           // the entry cleared
                    lv_sub = 1'b1;
                    lv_qty = e_shares;
                end
            end
        end
    end
    wire [TABLE_BITS-1:0] wr_addr = ulook ? p2_new_addr : p1_addr;

    wire                  mem_we   = wr_en || clearing;
    wire [TABLE_BITS-1:0] mem_addr = clearing ? clear_addr : wr_addr;
    wire [ENTRY-1:0]      mem_data = clearing ? {ENTRY{1'b0}} : wr_data;
    always @(posedge clk) begin
        if (mem_we) table_mem[mem_addr] <= mem_data;
        if (rd_en) rd_data <= table_mem[rd_addr];
    end
    always @(posedge clk) begin
        bypass    <= mem_we && mem_addr == rd_addr;
        wr_data_q <= mem_data;
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
            if ({p3_slot, 1'b0} == g[2:0]) begin
                bid_price = level_price[GROUP*g +: GROUP];
                bid_size  = level_size[GROUP*g +: GROUP];
                bid_valid = level_valid[LEVELS*g +: LEVELS];
            end
            if ({p3_slot, 1'b1} == g[2:0]) begin
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

    // Best level of each side of the slot of the message in stage 3: a tree of pairwise choices (8, 4, 2, 1).
    reg  [65*LEVELS-1:0] bid_tree, ask_tree;    // {valid, price, size} per level, then per winner
    integer t, n;
    always @* begin
        for (t = 0; t < LEVELS; t = t + 1) begin
            bid_tree[65*t +: 65] = bid_valid[t] ? {1'b1, bid_price[32*t +: 32], bid_size[32*t +: 32]} : 65'd0;
            ask_tree[65*t +: 65] = ask_valid[t] ? {1'b1, ask_price[32*t +: 32], ask_size[32*t +: 32]} : 65'd0;
        end
        for (n = LEVELS / 2; n >= 1; n = n / 2)
            for (t = 0; t < n; t = t + 1) begin
                bid_tree[65*t +: 65] = pick(bid_tree[65*(2*t) +: 65], bid_tree[65*(2*t+1) +: 65], 1'b0);
                ask_tree[65*t +: 65] = pick(ask_tree[65*(2*t) +: 65], ask_tree[65*(2*t+1) +: 65], 1'b1);
            end
    end
    wire               best_bid_valid = bid_tree[64];
    wire [31:0]        best_bid_price = bid_tree[63:32];
    wire [31:0]        best_bid_size  = bid_tree[31:0];
    wire               best_ask_valid = ask_tree[64];
    wire [31:0]        best_ask_price = ask_tree[63:32];
    wire [31:0]        best_ask_size  = ask_tree[31:0];

    // ---- pipeline and levels -------------------------------------------------------------------------------
    integer e;
    always @(posedge clk) begin
        if (rst) begin
            clearing    <= 1'b1;
            clear_addr  <= {TABLE_BITS{1'b0}};
            overflow    <= 4'd0;
            error       <= 4'd0;
            level_valid <= {8*LEVELS{1'b0}};
            p1_valid    <= 1'b0;
            p2_valid    <= 1'b0;
            p3_valid    <= 1'b0;
        end else begin
            if (clearing) begin
                clear_addr <= clear_addr + 1'b1;
                if (&clear_addr) clearing <= 1'b0;
            end
            p1_valid <= s_fire;
            p2_valid <= p1_valid;
            p3_valid <= p2_valid;
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

    // The message's fields from stage to stage; the datapath needs no reset.
    always @(posedge clk) begin
        if (s_fire) begin
            p1_tracked  <= in_tracked;
            p1_type     <= s_bad_len ? 8'd0 : s_type;
            p1_slot     <= in_slot;
            p1_ref      <= s_order_ref;
            p1_new_ref  <= s_new_ref;
            p1_sell     <= s_side != "B";
            p1_shares   <= s_shares;
            p1_price    <= s_price;
            p1_addr     <= fold(s_order_ref);
            p1_new_addr <= fold(s_new_ref);
            p1_tag      <= s_tag;
        end
        p2_tag      <= p1_tag;
        p3_tag      <= p2_tag;
        p2_tracked  <= p1_tracked;
        p2_replace  <= p1_is_u && hit;
        p2_slot     <= p1_slot;
        p2_new_ref  <= p1_new_ref;
        p2_sell     <= e_sell;
        p2_shares   <= p1_shares;
        p2_price    <= p1_price;
        p2_new_addr <= p1_new_addr;
        p3_tracked  <= p2_tracked;
        p3_slot     <= p2_slot;
    end

    // ---- output queue: stage 3 pushes the beat, the head is q[0] ---------------------------------------------
    wire [BEAT-1:0] beat_in = p3_tracked
        ? {1'b1, p3_slot, best_bid_valid, best_bid_price, best_bid_size, best_ask_valid, best_ask_price,
           best_ask_size, overflow[p3_slot], error[p3_slot], p3_tag}
        : {{(BEAT-32){1'b0}}, p3_tag};
    reg  [BEAT-1:0] q [0:QUEUE-1];
    wire            pop  = q_count != 3'd0 && m_ready;
    wire [2:0]      slot_in = q_count - {2'd0, pop};
    integer j;
    always @(posedge clk) begin
        if (rst) q_count <= 3'd0;
        else q_count <= q_count - {2'd0, pop} + {2'd0, p3_valid};
        for (j = 0; j < QUEUE; j = j + 1) begin
            if (pop && j < QUEUE - 1) q[j] <= q[j + 1];
            if (p3_valid && slot_in == j[2:0]) q[j] <= beat_in;
        end
    end
    always @* begin
        m_valid = q_count != 3'd0;
        {m_tracked, m_slot, m_bid_valid, m_bid_price, m_bid_size, m_ask_valid, m_ask_price, m_ask_size,
         m_overflow, m_error, m_tag} = q[0];
        flags_overflow = overflow;
        flags_error    = error;
    end

    // The better of two levels {valid, price, size}: the higher bid, or the lower ask when ``ask``; a valid one
    // over an invalid one.
    function [64:0] pick(input [64:0] x, input [64:0] y, input ask);
        pick = (x[64] && (!y[64] || (ask ? x[63:32] <= y[63:32] : x[63:32] >= y[63:32]))) ? x : y;
    endfunction

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
