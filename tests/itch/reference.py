"""A deliberately naive book used as the independent reference of the tests: a dict of live orders, with depth
computed from scratch by summing them per price."""

from __future__ import annotations

from engine.itch.messages import (
    AddOrder,
    AddOrderMpid,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderReplace,
)


def depth_rows(messages: list[Message], locate: int, levels: int) -> list[list[str]]:
    """The expected CSV rows (without header) of ``itch book`` for ``locate``."""
    orders: dict[int, tuple[str, int, int]] = {}  # ref -> (side, price, shares)
    rows: list[list[str]] = []
    for index, msg in enumerate(messages):
        if msg.stock_locate != locate:
            continue
        if isinstance(msg, AddOrder | AddOrderMpid):
            orders[msg.order_ref] = (msg.side, msg.price, msg.shares)
        elif isinstance(msg, OrderExecuted | OrderExecutedWithPrice | OrderCancel):
            cut = msg.cancelled_shares if isinstance(msg, OrderCancel) else msg.executed_shares
            side, price, shares = orders.pop(msg.order_ref)
            if shares > cut:
                orders[msg.order_ref] = (side, price, shares - cut)
        elif isinstance(msg, OrderDelete):
            del orders[msg.order_ref]
        elif isinstance(msg, OrderReplace):
            side, _, _ = orders.pop(msg.original_order_ref)
            orders[msg.new_order_ref] = (side, msg.price, msg.shares)
        totals: dict[tuple[str, int], int] = {}
        for side, price, shares in orders.values():
            totals[side, price] = totals.get((side, price), 0) + shares
        asks = sorted((p, q) for (s, p), q in totals.items() if s == "S")
        bids = sorted(((p, q) for (s, p), q in totals.items() if s == "B"), reverse=True)
        row = [str(index), str(msg.timestamp)]
        for level in range(levels):
            for side_levels in (asks, bids):
                if level < len(side_levels):
                    row += [str(side_levels[level][0]), str(side_levels[level][1])]
                else:
                    row += ["", ""]
        rows.append(row)
    return rows
