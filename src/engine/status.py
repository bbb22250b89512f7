"""The compact live status of a running engine, as text for a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from core.numbers import nanos_to_datetime
from engine.client.protocol import StrategyState
from engine.engine import Engine
from engine.text import money_cents, price_text


def render_status(engine: Engine, strategy: StrategyState | None, risk_events: Sequence[str]) -> str:
    """Best bid/ask per instrument, working orders, positions, P&L and the latest risk events."""
    now = engine.scheduler.now_ns()
    lines = [f"workstation engine  {nanos_to_datetime(now):%Y-%m-%d %H:%M:%S} UTC  state {engine.state.value}"]
    if strategy is not None:
        state = "running" if strategy.running else f"stopped ({strategy.error or 'by request'})"
        lines.append(f"strategy {strategy.strategy_id} on account {strategy.account}: {state}")
    lines.append("")
    lines.append(
        f"{'instrument':<10} {'bid qty':>9} {'bid':>10} {'ask':>10} {'ask qty':>9} {'working':>8} "
        f"{'position':>9} {'realized':>12} {'unrealized':>12}"
    )
    for symbol, instrument in engine.instruments.items():
        book = engine.last_book(symbol)
        bid = ask = "-"
        bid_qty = ask_qty = 0
        if book is not None:
            bid = price_text(instrument, book.best_bid) if book.best_bid is not None else "-"
            ask = price_text(instrument, book.best_ask) if book.best_ask is not None else "-"
            bid_qty, ask_qty = book.best_bid_qty, book.best_ask_qty
        working = sum(1 for _ in engine.orders.working(instrument=symbol))
        quantity = realized = unrealized = 0
        for position in engine.portfolio.positions():
            if position.instrument.symbol == symbol:
                quantity += position.quantity
                realized += position.realized
                unrealized += position.unrealized(engine.portfolio.mark(symbol))
        lines.append(
            f"{symbol:<10} {bid_qty:>9} {bid:>10} {ask:>10} {ask_qty:>9} {working:>8} {quantity:>9} "
            f"{money_cents(realized):>12} {money_cents(unrealized):>12}"
        )
    pnl = engine.portfolio.pnl()
    lines.append("")
    lines.append(
        f"P&L {money_cents(pnl.net)}  realized {money_cents(pnl.realized)}  unrealized {money_cents(pnl.unrealized)}"
        f"  fees {money_cents(pnl.fees)}  orders {len(engine.orders)}  fills {engine.fills}"
    )
    lines.append("risk events: " + ("none" if not risk_events else ""))
    lines.extend(f"  {event}" for event in risk_events)
    return "\n".join(lines)
