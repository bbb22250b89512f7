"""Message streams for the ITCH tests, built with the encoder's dataclasses."""

from __future__ import annotations

import random

from engine.itch.messages import (
    AddOrder,
    AddOrderMpid,
    Message,
    OrderCancel,
    OrderDelete,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderReplace,
    StockDirectory,
    SystemEvent,
    Trade,
)

SYMBOLS = {1: "AAPL", 2: "MSFT", 7: "ZVZZT"}


def directory(locate: int, symbol: str, timestamp: int) -> StockDirectory:
    """A plausible Stock Directory message."""
    return StockDirectory(
        stock_locate=locate,
        tracking_number=0,
        timestamp=timestamp,
        stock=symbol,
        market_category="Q",
        financial_status="N",
        round_lot_size=100,
        round_lots_only="N",
        issue_classification="C",
        issue_subtype="Z",
        authenticity="P",
        short_sale_threshold="N",
        ipo_flag="N",
        luld_tier="1",
        etp_flag="N",
        etp_leverage_factor=0,
        inverse_indicator="N",
    )


def session(seed: int = 7, count: int = 600) -> list[Message]:
    """A valid day: system event, directory, then random order flow over three symbols, then end of day.

    Every book message type appears (A, F, E, C, X, D, U) plus P trades; references are unique day-wide.
    """
    rng = random.Random(seed)
    clock = 34_200_000_000_000
    out: list[Message] = [SystemEvent(stock_locate=0, tracking_number=0, timestamp=clock, event_code="O")]
    for locate, symbol in SYMBOLS.items():
        clock += 1000
        out.append(directory(locate, symbol, clock))
    live: dict[int, tuple[int, int]] = {}  # ref -> (locate, shares)
    next_ref = 1
    match = 1
    for _ in range(count):
        clock += rng.randint(1, 50_000)
        action = rng.random()
        if not live or action < 0.4:
            locate = rng.choice(list(SYMBOLS))
            side = rng.choice("BS")
            base = 1_000_000 * locate
            price = base - rng.randint(1, 6) * 100 if side == "B" else base + rng.randint(1, 6) * 100
            shares = rng.randint(1, 5) * 100
            common = dict(stock_locate=locate, tracking_number=0, timestamp=clock, order_ref=next_ref, side=side)
            fields = dict(shares=shares, stock=SYMBOLS[locate], price=price)
            if rng.random() < 0.3:
                out.append(AddOrderMpid(**common, **fields, attribution="GSCO"))
            else:
                out.append(AddOrder(**common, **fields))
            live[next_ref] = (locate, shares)
            next_ref += 1
            continue
        ref = rng.choice(sorted(live))
        locate, shares = live[ref]
        head = dict(stock_locate=locate, tracking_number=0, timestamp=clock)
        if action < 0.5:
            cut = rng.randint(1, shares)
            out.append(OrderExecuted(**head, order_ref=ref, executed_shares=cut, match_number=match))
            match += 1
        elif action < 0.58:
            cut = rng.randint(1, shares)
            out.append(
                OrderExecutedWithPrice(
                    **head,
                    order_ref=ref,
                    executed_shares=cut,
                    match_number=match,
                    printable="Y",
                    execution_price=1_000_000 * locate,
                )
            )
            match += 1
        elif action < 0.7:
            cut = rng.randint(1, shares)
            out.append(OrderCancel(**head, order_ref=ref, cancelled_shares=cut))
        elif action < 0.8:
            cut = shares
            out.append(OrderDelete(**head, order_ref=ref))
        elif action < 0.92:
            new_shares = rng.randint(1, 5) * 100
            price = 1_000_000 * locate + rng.choice((-1, 1)) * rng.randint(1, 6) * 100
            out.append(
                OrderReplace(**head, original_order_ref=ref, new_order_ref=next_ref, shares=new_shares, price=price)
            )
            del live[ref]
            live[next_ref] = (locate, new_shares)
            next_ref += 1
            continue
        else:
            out.append(
                Trade(
                    **head,
                    order_ref=0,
                    side="B",
                    shares=100,
                    stock=SYMBOLS[locate],
                    price=1_000_000 * locate,
                    match_number=match,
                )
            )
            match += 1
            continue
        if cut == shares:
            del live[ref]
        else:
            live[ref] = (locate, shares - cut)
    out.append(SystemEvent(stock_locate=0, tracking_number=0, timestamp=clock + 1, event_code="C"))
    return out
