"""Memory layout of the matching kernel: indices into its state arrays, status codes and event codes.

The book lives in a handful of ``int64`` numpy arrays so that compiled code can work on it directly:

* ``st``      scalars of the book (``S_*`` indices below);
* ``orders``  one row per order slot (``O_*`` columns); free slots are chained through ``O_NEXT``;
* ``levels``  one row per price level of the ladder (``L_*`` columns). A level holds bids or asks, never both,
  because the book is never left crossed; the side of a level is the side of its head order;
* ``bitmap``  one bit per ladder level, set while the level holds orders (fast best-price scans);
* ``touched`` ladder indices whose L2 quantity changed since the last drain (each at most once);
* ``idmap``   open-addressing hash table ``order id -> slot`` (``M_*`` columns);
* ``events``  the event buffer, one row per event (``E_*`` columns).
"""

from __future__ import annotations

# --- st: scalar state ------------------------------------------------------------------------------------------
S_TICK = 0
S_BASE = 1  # ladder index 0 is price (S_BASE * S_TICK)
S_NLEV = 2  # number of ladder levels, a power of two >= 64
S_BEST_BID = 3  # ladder index, or BID_NONE
S_BEST_ASK = 4  # ladder index, or ASK_NONE
S_FREE = 5  # head of the free slot list, -1 when the pool is exhausted
S_RESTING = 6
S_MATCH_ID = 7
S_NEV = 8  # events recorded
S_NTOUCH = 9  # entries used in ``touched``
S_STP = 10
S_REC = 11  # REC_NONE, REC_OWNED or REC_ALL
S_MAP_COUNT = 12
S_MAP_SHIFT = 13  # 63 - log2(map capacity), for multiplicative hashing
S_NEED = 14  # detail of the last NEED_* status (a price, or a required capacity)
S_FILLS = 15
S_FILLED_QTY = 16
S_CANCELS = 17  # successful cancels by id
S_SIZE = 24

BID_NONE = -1
ASK_NONE = 1 << 62

# --- orders: one row per slot ----------------------------------------------------------------------------------
O_OID = 0
O_SIDE = 1
O_PRICE = 2
O_LEAVES = 3
O_OWNER = 4
O_PREV = 5
O_NEXT = 6
O_TS = 7  # time the order took its place in the queue
O_COLS = 8

# --- levels: one row per ladder level --------------------------------------------------------------------------
L_HEAD = 0
L_TAIL = 1
L_QTY = 2
L_MARK = 3  # bit 0: bid side touched, bit 1: ask side touched (for L2 deltas)
L_COLS = 4

# --- idmap -----------------------------------------------------------------------------------------------------
M_KEY = 0
M_SLOT = 1  # -1: empty bucket

# --- events ----------------------------------------------------------------------------------------------------
E_KIND = 0
E_TS = 1
E_OID = 2  # FILL: maker
E_OWNER = 3  # FILL: maker
E_SIDE = 4  # FILL: aggressor side
E_PRICE = 5
E_QTY = 6
E_LEAVES = 7  # FILL: maker leaves after the fill
E_OID2 = 8  # FILL: taker
E_OWNER2 = 9  # FILL: taker
E_LEAVES2 = 10  # FILL: taker leaves after the fill
E_AUX = 11  # FILL: match id; CANCEL: reason; REPLACE: 1 if priority was kept
E_COLS = 12

EV_ADD = 1
EV_FILL = 2
EV_CANCEL = 3
EV_REPLACE = 4

REASON_USER = 1
REASON_IOC = 2
REASON_FOK = 3
REASON_STP = 4
REASON_NO_LIQUIDITY = 5
REASON_REPLACE_ZERO = 6

# --- inputs ----------------------------------------------------------------------------------------------------
BUY = 0
SELL = 1
TIF_DAY = 0
TIF_IOC = 1
TIF_FOK = 2

STP_NONE = 0
STP_CANCEL_INCOMING = 1
STP_CANCEL_RESTING = 2

REC_NONE = 0
REC_OWNED = 1  # fills, and everything about orders of owner > 0
REC_ALL = 2

# --- status codes returned by kernel operations (negative: nothing was changed) -------------------------------
OK = 0
NEED_LADDER = -1  # st[S_NEED] holds the price that must fit on the ladder
NEED_SLOTS = -2
NEED_MAP = -3
NEED_EVENTS = -4  # st[S_NEED] holds the event capacity required
ERR_DUPLICATE = -10
ERR_OFF_TICK = -11
ERR_QTY = -12
ERR_SIDE = -13
ERR_TIF = -14
