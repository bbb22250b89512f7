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
// Latency: the output beat is valid exactly 6 cycles after the input is taken, for every message (tracked or
// not, a Replace too), while the output is taken. The cycle a message is taken its order's table entry is read;
// stage 1 decides what the entry means (the table write, done the next cycle, and the level operation); stage 2
// does the level operation and reads a Replace's new reference, which stage 3 decides and adds to the levels;
// stage 4 picks the best level of every group {slot, side}, stage 5 those of the message's slot. A level
// operation is one cycle: each level compares its price with the operation's and sums its own size, and the
// levels of a group keep their order as a matrix of pairwise comparisons (written when a level is made), so that
// no price is compared to find the best. A message is taken every cycle, except that a message of type
// A F E C X D U (the ones that change the book) is taken only when no message was taken the cycle before: ITCH's
// shortest of them (D, 19 bytes and its 2-byte length prefix) spans more than two 8-byte input beats, so at line
// rate they never wait. An output queue of 7 beats holds what the pipeline has started; s_ready falls when it
// could fill. After rst the table is cleared for 2**TABLE_BITS cycles (s_ready low).
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
    localparam integer QUEUE = 7;                  // output queue: the 5 stages in flight, the head, one more
    localparam integer BEAT = 1 + 2 + 1 + 32 + 32 + 1 + 32 + 32 + 1 + 1 + 32;

    reg                   clearing;
    reg  [TABLE_BITS-1:0] clear_addr;
    reg  [3:0]            overflow, error;         // sticky, per slot

    // ---- stage 1: the message taken last cycle, with its order's table entry ------------------------------
    reg                   p1_valid, p1_tracked;
    reg                   p1_add, p1_take, p1_delete, p1_u;  // A F; E C X; D U; U (of a tracked locate)
    reg                   p1_bad, p1_no_shares;    // zero price or shares; zero shares
    reg                   p1_same_fold;            // the order and new references fold to one entry
    reg  [1:0]            p1_slot;
    reg  [63:0]           p1_ref, p1_new_ref;
    reg                   p1_sell;
    reg  [31:0]           p1_shares, p1_price;
    reg  [TABLE_BITS-1:0] p1_addr, p1_new_addr;
    reg  [31:0]           p1_tag, p2_tag, p3_tag, p4_tag;
    // ---- stage 2: a Replace's new reference, with its table entry -------------------------------------------
    reg                   p2_valid, p2_tracked, p2_replace, p2_bad;
    reg  [1:0]            p2_slot;
    reg  [63:0]           p2_new_ref;
    reg                   p2_sell;
    reg  [31:0]           p2_shares, p2_price;
    reg  [TABLE_BITS-1:0] p2_new_addr;
    // ---- stage 3: a Replace's add to the levels; stage 4: the best level of every group ----------------------
    reg                   p3_valid, p3_tracked, p4_valid, p4_tracked;
    reg  [1:0]            p3_slot, p4_slot;
    reg  [3:0]            p4_slot_hot;
    // ---- stage 5: the best level of each group, to pick the message's slot's from ---------------------------
    reg                   p5_valid, p5_tracked, p5_overflow, p5_error;
    reg  [1:0]            p5_slot;
    reg  [3:0]            p5_slot_hot;
    reg  [31:0]           p5_tag;
    reg  [8*32-1:0]       p5_price, p5_size;
    reg  [7:0]            p5_present;

    // ---- the order table --------------------------------------------------------------------------------
    // A decision's write is registered (pw_*) and done the cycle after. A read sees neither the write done in
    // its own cycle nor a Replace's add decided in it: both are compared with the read as it is issued (their
    // address with its address, their entry with the reference looked up) and taken instead of the block RAM's
    // word when they apply. A Replace reads its new reference while its original's removal is decided: when
    // both fold to one entry, the entry read is empty (the read register is cleared instead).
    reg  [ENTRY-1:0]      table_mem [0:(1<<TABLE_BITS)-1];
    reg  [ENTRY-1:0]      rd_data;
    reg                   pw_found, pw_over;       // the write decided but for a take's shares; a take beyond them
    wire                  pw_en    = pw_found && !pw_over;   // the pending write
    reg  [TABLE_BITS-1:0] pw_addr;
    reg  [ENTRY-1:0]      pw_data;
    // A reference is compared above its TABLE_BITS lowest bits: an entry is where its reference folds, so two
    // references read at one address fold alike, and equal above those bits (one bit of each folded class) they
    // are equal in them too.
    reg  [63:TABLE_BITS]  rd_ref;                  // the reference the last read looked up, and its slot
    reg  [1:0]            rd_slot;
    reg                   byp_w, byp_w_hit;        // the write done in the read's cycle applies; it is the order
    reg  [ENTRY-1:0]      byp_w_data;
    reg                   byp_u, byp_u_hit;        // the Replace's add decided in the read's cycle (pw_* now)
    reg  [1:0]            byp_w_slot, byp_u_slot;  // their entries' slots (their hits compare the references)
    reg  [32:0]           byp_w_rest, byp_u_rest;  // their shares less the incoming message's (an execution's)
    wire                  byp_add  = byp_u && pw_en;
    wire [ENTRY-1:0]      entry    = byp_add ? pw_data : byp_w ? byp_w_data : rd_data;
    // The block RAM's word holds the order: its reference and slot compared in pieces of 3 bits, ANDed 6 at a
    // time (kept, so that the compare is three LUTs deep and not wider functions mapped deeper).
    localparam integer HIT_BITS = 66 - TABLE_BITS;             // compared: the reference above TABLE_BITS, slot
    localparam integer HIT_3    = (HIT_BITS + 2) / 3;
    localparam integer HIT_18   = (HIT_3 + 5) / 6;
    wire [3*HIT_3-1:0]    hit_a = {{(3*HIT_3-HIT_BITS){1'b0}}, rd_data[130:67+TABLE_BITS], rd_data[66:65]};
    wire [3*HIT_3-1:0]    hit_b = {{(3*HIT_3-HIT_BITS){1'b0}}, rd_ref, rd_slot};
    (* keep *) reg [HIT_3-1:0]  hit_3;
    (* keep *) reg [HIT_18-1:0] hit_18;
    integer h;
    always @* begin
        for (h = 0; h < HIT_3; h = h + 1) hit_3[h] = hit_a[3*h +: 3] == hit_b[3*h +: 3];
        hit_18 = {HIT_18{1'b1}};
        for (h = 0; h < HIT_3; h = h + 1) hit_18[h / 6] = hit_18[h / 6] & hit_3[h];
    end
    wire                  rd_hit   = rd_data[ENTRY-1] && &hit_18;
    wire                  match    = byp_add ? byp_u_hit && byp_u_slot == rd_slot
                                   : byp_w ? byp_w_hit && byp_w_slot == rd_slot : rd_hit;
    wire                  e_valid  = entry[ENTRY-1];
    wire                  e_sell   = entry[64];
    wire [31:0]           e_price  = entry[63:32];
    wire [31:0]           e_shares = entry[31:0];

    // ---- input: a book message is taken only when no message was taken the cycle before ------------------
    reg  [2:0]            q_count;
    wire [2:0]            in_flight = {2'd0, p1_valid} + {2'd0, p2_valid} + {2'd0, p3_valid} + {2'd0, p4_valid} +
                                     {2'd0, p5_valid} + q_count;
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
    wire                  p1_is_u = p1_valid && p1_u;
    wire [TABLE_BITS-1:0] rd_addr = p1_is_u ? p1_new_addr : fold(s_order_ref);
    wire [63:TABLE_BITS]  rq_ref  = p1_is_u ? p1_new_ref[63:TABLE_BITS] : s_order_ref[63:TABLE_BITS];
    wire [1:0]            rq_slot = p1_is_u ? p1_slot : in_slot;
    wire                  rd_en   = s_fire || p1_is_u;
    wire                  byp_u_now = ulook && p2_new_addr == rd_addr;

    // ---- what the entry means for the message: stage 1 (its order) or stage 2 (a Replace's new reference) --
    // A book message is never taken right after another message, so the two stages never act in one cycle.
    wire look    = p1_valid && p1_tracked;
    wire ulook   = p2_valid && p2_replace;
    wire [1:0] r_slot = ulook ? p2_slot : p1_slot;
    // The shares an execution leaves, and whether it takes more than the order holds, from each place the entry
    // may come from: the block RAM's word now, the other two as the read was issued (bit 32: no borrow).
    /* verilator lint_off UNUSEDSIGNAL */    // the borrow: compared apart (e_over)
    wire [32:0] rd_rest = add32(rd_data[31:0], ~p1_shares, 1'b1);
    /* verilator lint_on UNUSEDSIGNAL */
    wire [31:0] e_rest  = byp_add ? byp_u_rest[31:0] : byp_w ? byp_w_rest[31:0] : rd_rest[31:0];
    wire        e_over  = byp_add ? !byp_u_rest[32] : byp_w ? !byp_w_rest[32] : p1_shares > rd_data[31:0];

    // The decision of the cycle: the table write, and the level operation it asks for (done the next cycle).
    wire m_u     = ulook;                              // a Replace's new reference
    wire m_add   = !ulook && look && p1_add;
    wire m_take  = !ulook && look && p1_take;
    wire m_del   = !ulook && look && p1_delete;
    // (an entry that matches is valid, so an add's verdict needs its entry's valid bit alone)
    wire u_ok    = m_u && !p2_bad && !e_valid;
    wire add_ok  = m_add && !p1_bad && !e_valid;
    // A take is decided from its entry but for whether it takes more than the order holds (e_over, a carry
    // chain): that is registered apart (pw_over, op_over) and cancels the take's table write and level operation,
    // and raises the error, in the cycle they are done.
    wire take_ok = m_take && match && !p1_no_shares;
    wire del_ok  = m_del && match;
    wire wr_en   = u_ok || add_ok || take_ok || del_ok;
    wire lv_add  = u_ok || add_ok;
    wire lv_sub  = take_ok || del_ok;
    wire set_error    = m_u && (p2_bad || match) || m_add && (p1_bad || match) || m_take && !take_ok ||
                        m_del && !match;
    wire take_over    = m_take && e_over;
    wire set_overflow = (m_u && !p2_bad || m_add && !p1_bad) && !match && e_valid;
    wire [31:0] lv_price = m_u ? p2_price : m_add ? p1_price : e_price;
    wire [31:0] lv_qty   = m_u ? p2_shares : m_del ? e_shares : p1_shares;
    // (written only with wr_en; a deletion writes the empty entry)
    wire [ENTRY-1:0] wr_data = m_u ? {1'b1, p2_new_ref, p2_slot, p2_sell, p2_price, p2_shares}
                             : m_add ? {1'b1, p1_ref, p1_slot, p1_sell, p1_price, p1_shares}
                             : m_take ? {e_shares != p1_shares, entry[ENTRY-2:32], e_rest[31:0]}
                             : {ENTRY{1'b0}};

    always @(posedge clk) begin
        if (pw_en || clearing) table_mem[clearing ? clear_addr : pw_addr] <= clearing ? {ENTRY{1'b0}} : pw_data;
        if (p1_is_u && p1_same_fold) rd_data <= {ENTRY{1'b0}};
        else if (rd_en) rd_data <= table_mem[rd_addr];
    end
    always @(posedge clk) begin
        pw_found   <= !rst && wr_en;
        pw_over    <= take_over;
        pw_addr    <= ulook ? p2_new_addr : p1_addr;
        pw_data    <= wr_data;
        rd_ref     <= rq_ref;
        rd_slot    <= rq_slot;
        byp_w      <= pw_en && pw_addr == rd_addr && !(p1_is_u && p1_same_fold);
        byp_w_hit  <= pw_data[ENTRY-1] && pw_data[130:67+TABLE_BITS] == rq_ref;
        byp_w_data <= pw_data;
        byp_u      <= byp_u_now;
        byp_u_hit  <= p2_new_ref[63:TABLE_BITS] == rq_ref;
        byp_u_slot <= p2_slot;
        byp_w_slot <= pw_data[66:65];
        byp_w_rest <= add32(pw_data[31:0], ~s_shares, 1'b1);
        byp_u_rest <= add32(p2_shares, ~s_shares, 1'b1);
    end

    // ---- the level operation, registered: done the cycle after its decision ----------------------------------
    // Stage 1 decides a message's operation (done in stage 2), stage 2 a Replace's add (done in stage 3): never
    // two in one cycle, and each sees the levels the one before it left.
    reg               op_sub;                     // the operation takes op_qty (else it adds it, if any)
    reg  [7:0]        op_gadd, op_gfound;         // add, take: one-hot by group {slot, sell} (a take but for op_over)
    reg  [3:0]        op_over;                    // a take of more than the order holds, per slot: no operation
    wire [7:0]        op_gsub = op_gfound & ~{{2{op_over[3]}}, {2{op_over[2]}}, {2{op_over[1]}}, {2{op_over[0]}}};
    reg  [31:0]       op_price, op_qty;
    reg  [31:0]       op_qx;                      // op_qty, or its complement for a take (added with a carry in)
    reg  [3:0]        op_set_overflow, op_set_error;   // the table's verdict, per slot
    // An add's side is the message's, a take's the entry's; whether the quantity is taken (its complement and a
    // carry in) follows the message's type alone, not the verdict: without an operation it is not used.
    wire              add_sell = m_u ? p2_sell : p1_sell;
    wire              m_sub    = m_take || m_del;
    integer           g;
    always @(posedge clk) begin
        op_sub          <= m_sub;
        for (g = 0; g < 8; g = g + 1) begin
            op_gadd[g]   <= !rst && lv_add && {r_slot, add_sell} == g[2:0];
            op_gfound[g] <= !rst && lv_sub && {p1_slot, e_sell} == g[2:0];
        end
        op_price        <= lv_price;
        op_qty          <= lv_qty;
        op_qx           <= m_sub ? ~lv_qty : lv_qty;
        for (g = 0; g < 4; g = g + 1) begin
            op_set_overflow[g] <= !rst && set_overflow && r_slot == g[1:0];
            op_set_error[g]    <= !rst && set_error && r_slot == g[1:0];
            op_over[g]         <= !rst && take_over && p1_slot == g[1:0];
        end
    end

    // ---- price levels: 4 slots x 2 sides x 8 levels; group {slot, sell}, entry {group, level} --------------
    // Each level compares itself with the operation's price and adds the operation's quantity to its size (or
    // takes it) on its own, so that the operation is a comparison and an adder deep whichever level it touches;
    // the level taken for a new price is the lowest free one of the group. The order of the levels of a group is
    // kept as a matrix of pairwise comparisons, written when a level is made, so that the best level is found
    // from registers without comparing prices.
    localparam integer NLV = 8 * LEVELS;
    reg  [32*NLV-1:0]     level_price;
    reg  [32*NLV-1:0]     level_size;
    reg  [NLV-1:0]        level_valid;
    reg  [LEVELS*LEVELS-1:0] beats [0:7];         // per group: bit LEVELS*a+b, a < b: level a is better than b

    reg  [NLV-1:0]        lv_eq, lv_carry, lv_zero, lv_better, lv_first_free;
    reg  [32*NLV-1:0]     lv_result;
    reg  [7:0]            g_hit, g_full;
    integer               e, c;
    always @* begin
        for (e = 0; e < NLV; e = e + 1) begin
            lv_eq[e]  = level_valid[e] && level_price[32*e +: 32] == op_price;
            {lv_carry[e], lv_result[32*e +: 32]} = add32(level_size[32*e +: 32], op_qx, op_sub);
            lv_zero[e] = level_size[32*e +: 32] == op_qty;
            // the operation's price is better than this level's: higher for a bid, lower for an ask
            lv_better[e] = (e / LEVELS) % 2 == 1 ? op_price < level_price[32*e +: 32]
                                                  : op_price > level_price[32*e +: 32];
            lv_first_free[e] = !level_valid[e];
            for (c = 0; c < LEVELS; c = c + 1)
                if (c < e % LEVELS && !level_valid[e - e % LEVELS + c]) lv_first_free[e] = 1'b0;
        end
        for (g = 0; g < 8; g = g + 1) begin
            g_hit[g]  = |lv_eq[LEVELS*g +: LEVELS];
            g_full[g] = &level_valid[LEVELS*g +: LEVELS];
        end
    end

    // What the operation does to each level: make it (a new price in the lowest free level), change its size
    // (within 32 bits for an add, not below zero for a take), empty it (a take of all its shares).
    // A free level's price, size and place in the order are not used: the lowest free one of the group an add
    // goes to is written whether or not the add's price is held (lv_fill), and made valid only when it is not.
    reg  [NLV-1:0] lv_fill, lv_make, lv_change, lv_empty;
    always @* begin
        for (e = 0; e < NLV; e = e + 1) begin
            lv_fill[e]   = op_gadd[e / LEVELS] && lv_first_free[e];
            lv_make[e]   = lv_fill[e] && !g_hit[e / LEVELS];
            lv_change[e] = lv_eq[e] && (op_gadd[e / LEVELS] && !lv_carry[e] || op_gsub[e / LEVELS] && lv_carry[e]);
            lv_empty[e]  = lv_eq[e] && op_gsub[e / LEVELS] && lv_zero[e];
        end
    end

    // Limits and inconsistencies met by the operation, registered as they are found (per level, per group and
    // the table's verdict per slot) and added to the sticky flags the cycle after; the output beat of the
    // message whose operation it was sees them as pending.
    reg  [NLV-1:0] ev_overflow, ev_error;         // a level add beyond 32 bits, a level take beyond its size
    reg  [7:0]     ev_full, ev_missing;           // a 9th price; a take of a price not held
    reg  [3:0]     ev_set_overflow, ev_set_error; // the table's verdict
    always @(posedge clk) begin
        for (e = 0; e < NLV; e = e + 1) begin
            ev_overflow[e] <= !rst && op_gadd[e / LEVELS] && lv_eq[e] && lv_carry[e];
            ev_error[e]    <= !rst && op_gsub[e / LEVELS] && lv_eq[e] && !lv_carry[e];
        end
        for (g = 0; g < 8; g = g + 1) begin
            ev_full[g]    <= !rst && op_gadd[g] && !g_hit[g] && g_full[g];
            ev_missing[g] <= !rst && op_gsub[g] && !g_hit[g];
        end
        ev_set_overflow <= rst ? 4'd0 : op_set_overflow;
        ev_set_error    <= rst ? 4'd0 : op_set_error | op_over;
    end
    reg  [3:0] pend_overflow, pend_error;
    always @* begin
        for (g = 0; g < 4; g = g + 1) begin
            pend_overflow[g] = ev_set_overflow[g] || |ev_full[2*g +: 2] || |ev_overflow[2*LEVELS*g +: 2*LEVELS];
            pend_error[g]    = ev_set_error[g] || |ev_missing[2*g +: 2] || |ev_error[2*LEVELS*g +: 2*LEVELS];
        end
    end

    integer a;
    always @(posedge clk) begin
        if (rst) begin
            level_valid   <= {NLV{1'b0}};
        end else begin
            for (e = 0; e < NLV; e = e + 1) begin
                if (lv_fill[e]) begin
                    if (lv_make[e]) level_valid[e] <= 1'b1;
                    level_price[32*e +: 32] <= op_price;
                    level_size[32*e +: 32]  <= op_qty;
                end else if (lv_change[e]) level_size[32*e +: 32] <= lv_result[32*e +: 32];
                // (a take of all the level's shares is a change: it does not take more than the level holds)
                if (lv_empty[e]) level_valid[e] <= 1'b0;
            end
        end
        // A level made takes its place among the others of its group (the others' prices differ from its own).
        for (g = 0; g < 8; g = g + 1)
            for (a = 0; a < LEVELS; a = a + 1)
                for (c = a + 1; c < LEVELS; c = c + 1) begin
                    if (lv_fill[LEVELS*g + a]) beats[g][LEVELS*a + c] <= lv_better[LEVELS*g + c];
                    if (lv_fill[LEVELS*g + c]) beats[g][LEVELS*a + c] <= !lv_better[LEVELS*g + a];
                end
    end

    // The best level of each group: the valid one better than every other valid one.
    reg  [NLV-1:0] lv_best;
    reg            better_ab;
    always @* begin
        for (g = 0; g < 8; g = g + 1)
            for (a = 0; a < LEVELS; a = a + 1) begin
                lv_best[LEVELS*g + a] = level_valid[LEVELS*g + a];
                for (c = 0; c < LEVELS; c = c + 1)
                    if (c != a) begin
                        better_ab = a < c ? beats[g][LEVELS*a + c] : !beats[g][LEVELS*c + a];
                        if (level_valid[LEVELS*g + c] && !better_ab) lv_best[LEVELS*g + a] = 1'b0;
                    end
            end
    end

    // ---- pipeline ----------------------------------------------------------------------------------------
    always @(posedge clk) begin
        if (rst) begin
            clearing    <= 1'b1;
            clear_addr  <= {TABLE_BITS{1'b0}};
            overflow    <= 4'd0;
            error       <= 4'd0;
            p1_valid    <= 1'b0;
            p2_valid    <= 1'b0;
            p3_valid    <= 1'b0;
            p4_valid    <= 1'b0;
        end else begin
            if (clearing) begin
                clear_addr <= clear_addr + 1'b1;
                if (&clear_addr) clearing <= 1'b0;
            end
            p1_valid <= s_fire;
            p2_valid <= p1_valid;
            p3_valid <= p2_valid;
            p4_valid <= p3_valid;
            overflow <= overflow | pend_overflow;
            error    <= error | pend_error;
        end
    end

    // The message's fields from stage to stage; the datapath needs no reset.
    always @(posedge clk) begin
        if (s_fire) begin
            p1_tracked  <= in_tracked;
            p1_add      <= !s_bad_len && (s_type == T_A || s_type == T_F);
            p1_take     <= !s_bad_len && (s_type == T_E || s_type == T_C || s_type == T_X);
            p1_delete   <= !s_bad_len && (s_type == T_D || s_type == T_U);
            p1_u        <= !s_bad_len && s_type == T_U && in_tracked;
            p1_bad      <= s_shares == 32'd0 || s_price == 32'd0;
            p1_no_shares <= s_shares == 32'd0;
            p1_same_fold <= fold(s_order_ref) == fold(s_new_ref);
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
        p4_tag      <= p3_tag;
        p2_tracked  <= p1_tracked;
        p2_replace  <= p1_is_u && match;
        p2_bad      <= p1_bad;
        p2_slot     <= p1_slot;
        p2_new_ref  <= p1_new_ref;
        p2_sell     <= e_sell;
        p2_shares   <= p1_shares;
        p2_price    <= p1_price;
        p2_new_addr <= p1_new_addr;
        p3_tracked  <= p2_tracked;
        p3_slot     <= p2_slot;
        p4_tracked  <= p3_tracked;
        p4_slot     <= p3_slot;
        for (g = 0; g < 4; g = g + 1) p4_slot_hot[g] <= p3_slot == g[1:0];
    end

    // ---- stage 4: the best level of every group, once the message's last operation is done ------------------
    reg  [8*32-1:0] best_price, best_size;
    reg  [7:0]      best_valid;
    always @* begin
        best_price = {8*32{1'b0}};
        best_size  = {8*32{1'b0}};
        for (g = 0; g < 8; g = g + 1) begin
            best_valid[g] = |level_valid[LEVELS*g +: LEVELS];
            for (a = 0; a < LEVELS; a = a + 1) begin
                best_price[32*g +: 32] = best_price[32*g +: 32] | {32{lv_best[LEVELS*g + a]}} &
                                         level_price[32*(LEVELS*g + a) +: 32];
                best_size[32*g +: 32]  = best_size[32*g +: 32] | {32{lv_best[LEVELS*g + a]}} &
                                         level_size[32*(LEVELS*g + a) +: 32];
            end
        end
    end
    always @(posedge clk) begin
        if (rst) p5_valid <= 1'b0;
        else p5_valid <= p4_valid;
        p5_price    <= best_price;
        p5_size     <= best_size;
        p5_present  <= best_valid;
        p5_tracked  <= p4_tracked;
        p5_slot     <= p4_slot;
        p5_slot_hot <= p4_slot_hot;
        p5_tag      <= p4_tag;
        p5_overflow <= |(p4_slot_hot & (overflow | pend_overflow));
        p5_error    <= |(p4_slot_hot & (error | pend_error));
    end

    // ---- stage 5: the best levels of the message's slot ----------------------------------------------------
    reg         best_bid_valid, best_ask_valid;
    reg  [31:0] best_bid_price, best_bid_size, best_ask_price, best_ask_size;
    always @* begin
        best_bid_valid = 1'b0;
        best_ask_valid = 1'b0;
        best_bid_price = 32'd0;
        best_bid_size  = 32'd0;
        best_ask_price = 32'd0;
        best_ask_size  = 32'd0;
        for (g = 0; g < 4; g = g + 1) begin
            best_bid_valid = best_bid_valid | p5_slot_hot[g] & p5_present[2*g];
            best_ask_valid = best_ask_valid | p5_slot_hot[g] & p5_present[2*g+1];
            best_bid_price = best_bid_price | {32{p5_slot_hot[g]}} & p5_price[32*(2*g) +: 32];
            best_bid_size  = best_bid_size | {32{p5_slot_hot[g]}} & p5_size[32*(2*g) +: 32];
            best_ask_price = best_ask_price | {32{p5_slot_hot[g]}} & p5_price[32*(2*g+1) +: 32];
            best_ask_size  = best_ask_size | {32{p5_slot_hot[g]}} & p5_size[32*(2*g+1) +: 32];
        end
    end

    // ---- output queue: stage 5 pushes the beat, the head is q[0] ---------------------------------------------
    wire [BEAT-1:0] beat_in = p5_tracked
        ? {1'b1, p5_slot, best_bid_valid, best_bid_price, best_bid_size, best_ask_valid, best_ask_price,
           best_ask_size, p5_overflow, p5_error, p5_tag}
        : {{(BEAT-32){1'b0}}, p5_tag};
    reg  [BEAT-1:0] q [0:QUEUE-1];
    wire            pop  = q_count != 3'd0 && m_ready;
    wire [2:0]      slot_in = q_count - {2'd0, pop};
    integer j;
    always @(posedge clk) begin
        if (rst) q_count <= 3'd0;
        else q_count <= q_count - {2'd0, pop} + {2'd0, p5_valid};
        for (j = 0; j < QUEUE; j = j + 1) begin
            if (pop && j < QUEUE - 1) q[j] <= q[j + 1];
            if (p5_valid && slot_in == j[2:0]) q[j] <= beat_in;
        end
    end
    always @* begin
        m_valid = q_count != 3'd0;
        {m_tracked, m_slot, m_bid_valid, m_bid_price, m_bid_size, m_ask_valid, m_ask_price, m_ask_size,
         m_overflow, m_error, m_tag} = q[0];
        flags_overflow = overflow;
        flags_error    = error;
    end

    // x + y + cin in 33 bits (bit 32: the carry out), as adders of 6 bits summed for a carry in of 0 and of 1
    // and chosen by the carry into each, looked ahead over the ones below: no carry chain longer than 8 bits
    // between the inputs and the result ({x, 1} + {y, c} is x + y + c in one adder, above its lowest bit).
    function [32:0] add32(input [31:0] x, input [31:0] y, input cin);
        /* verilator lint_off UNUSEDSIGNAL */     // the lowest bit of each sum
        reg [7:0] s0, s1a, s1b, s2a, s2b, s3a, s3b, s4a, s4b;
        reg [3:0] s5a, s5b;
        /* verilator lint_on UNUSEDSIGNAL */
        reg       c1, c2, c3, c4, c5;
        begin
            s0  = {1'b0, x[5:0], 1'b1} + {1'b0, y[5:0], cin};
            s1a = {1'b0, x[11:6], 1'b1} + {1'b0, y[11:6], 1'b0};
            s1b = {1'b0, x[11:6], 1'b1} + {1'b0, y[11:6], 1'b1};
            s2a = {1'b0, x[17:12], 1'b1} + {1'b0, y[17:12], 1'b0};
            s2b = {1'b0, x[17:12], 1'b1} + {1'b0, y[17:12], 1'b1};
            s3a = {1'b0, x[23:18], 1'b1} + {1'b0, y[23:18], 1'b0};
            s3b = {1'b0, x[23:18], 1'b1} + {1'b0, y[23:18], 1'b1};
            s4a = {1'b0, x[29:24], 1'b1} + {1'b0, y[29:24], 1'b0};
            s4b = {1'b0, x[29:24], 1'b1} + {1'b0, y[29:24], 1'b1};
            s5a = {1'b0, x[31:30], 1'b1} + {1'b0, y[31:30], 1'b0};
            s5b = {1'b0, x[31:30], 1'b1} + {1'b0, y[31:30], 1'b1};
            c1  = s0[7];
            c2  = s1a[7] | s1b[7] & c1;
            c3  = s2a[7] | s2b[7] & c2;
            c4  = s3a[7] | s3b[7] & c3;
            c5  = s4a[7] | s4b[7] & c4;
            add32 = {s5a[3] | s5b[3] & c5, c5 ? s5b[2:1] : s5a[2:1], c4 ? s4b[6:1] : s4a[6:1],
                     c3 ? s3b[6:1] : s3a[6:1], c2 ? s2b[6:1] : s2a[6:1], c1 ? s1b[6:1] : s1a[6:1], s0[6:1]};
        end
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
