"""What the lab shows of a run, as rows of text: metrics, fills, stored runs and runs side by side. No Qt.

Money stays integer until it is turned into text here (or into floats for the plots).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.enums import Liquidity, Side
from core.events import ExecutionReport
from core.instruments import Instrument
from core.numbers import MONEY_DECIMALS, NANOS_PER_SECOND, Money, Nanos
from engine.backtest import SESSION_START_NS, BacktestResult
from engine.storage.runs import BacktestRunRecord
from engine.text import CENT, money_cents, price_text
from workstation.widgets import datetime_text, time_text

MONEY_UNIT: int = 10**MONEY_DECIMALS

Tone = str
"""A theme colour role for a cell's text ("" for the default foreground)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: its text, its colour role, and whether it is a number (numbers align right)."""

    text: str
    tone: Tone = ""
    numeric: bool = False


def drawdown_curve(equity: Sequence[Money]) -> list[Money]:
    """How far below its previous peak the equity is at each sample (zero or negative; the peak starts at 0)."""
    peak = 0
    curve: list[Money] = []
    for value in equity:
        peak = max(peak, value)
        curve.append(value - peak)
    return curve


def money_float(amount: Money) -> float:
    """Money in currency units as a float, for plotting."""
    return float(amount) / MONEY_UNIT


def elapsed_seconds(times: Sequence[Nanos]) -> list[float]:
    """Simulated seconds since the session start of each time, for plotting."""
    return [(ts - SESSION_START_NS) / NANOS_PER_SECOND for ts in times]


def duration_text(duration_ns: Nanos) -> str:
    """A simulated duration as a trader says it ("30 s", "5 min", "1 h 30 min")."""
    seconds = duration_ns / NANOS_PER_SECOND
    if seconds < 120:
        return f"{seconds:g} s"
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:g} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _tone(value: float) -> Tone:
    return "profit" if value > 0 else "loss" if value < 0 else ""


def money_cell(amount: Money) -> Cell:
    """Money to the cent, green when positive and red when negative."""
    return Cell(money_cents(amount), _tone(amount), numeric=True)


def fee_cell(amount: Money) -> Cell:
    """A fee to the cent: red when paid, green when a rebate (negative)."""
    return Cell(money_cents(amount), _tone(-amount), numeric=True)


def drawdown_cell(amount: Money) -> Cell:
    """A drawdown (a positive fall) to the cent, red unless zero."""
    return Cell(money_cents(amount), "loss" if amount else "", numeric=True)


def stored_money_cell(text: object, *, kind: str = "pnl") -> Cell:
    """A stored money amount (a decimal string) to the cent, coloured as a P&L, a fee or a drawdown."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return Cell(str(text), numeric=True)
    sign = float(value)
    tone = {"pnl": _tone(sign), "fee": _tone(-sign), "drawdown": "loss" if sign else ""}[kind]
    return Cell(str(value.quantize(CENT)), tone, numeric=True)


def number_cell(text: object) -> Cell:
    return Cell(str(text), numeric=True)


def params_text(params: Mapping[str, object]) -> str:
    """``name=value`` pairs, for a compact column."""
    return " ".join(f"{name}={value}" for name, value in params.items())


def metric_rows(result: BacktestResult, run_id: str | None) -> list[tuple[Cell, Cell]]:
    """The metrics table of a finished (or cancelled) run: label and value."""
    metrics = result.metrics
    request = result.request
    status = "completed" if result.completed else "canceled (not saved)"
    rows = [
        ("P&L", money_cell(metrics.pnl)),
        ("Fees", fee_cell(metrics.fees)),
        ("Sharpe", Cell(f"{metrics.sharpe:.2f}", _tone(metrics.sharpe), numeric=True)),
        ("Max drawdown", drawdown_cell(metrics.max_drawdown)),
        ("Trades", number_cell(f"{metrics.trades:,}")),
        ("Fill ratio", number_cell(f"{metrics.fill_ratio:.2%}")),
        ("Orders", number_cell(f"{result.orders:,}")),
        ("Events", number_cell(f"{result.events:,}")),
        ("Events/s", number_cell(f"{result.events_per_s:,.0f}")),
        ("Wall time", number_cell(f"{result.wall_seconds:.2f} s")),
        ("Simulated", number_cell(duration_text(request.duration_ns))),
        ("Seed", number_cell(request.seed)),
    ]
    rows += [(f"Position {symbol}", number_cell(f"{quantity:+,}")) for symbol, quantity in result.positions.items()]
    rows += [
        ("Status", Cell(status, "" if result.completed else "warning", numeric=True)),
        ("Run id", Cell(run_id or "-", numeric=True)),
    ]
    return [(Cell(label, "muted"), value) for label, value in rows]


def fill_rows(fills: Sequence[ExecutionReport], instruments: Mapping[str, Instrument]) -> list[tuple[Cell, ...]]:
    """The trades table: time, instrument, side, quantity, price, fee, liquidity, order."""
    rows: list[tuple[Cell, ...]] = []
    for fill in fills:
        instrument = instruments.get(fill.instrument) or Instrument(symbol=fill.instrument)
        buy = fill.side is Side.BUY
        price = "" if fill.last_price is None else price_text(instrument, fill.last_price)
        rows.append(
            (
                Cell(time_text(fill.ts_ns), "muted", numeric=True),
                Cell(fill.instrument),
                Cell("BUY" if buy else "SELL", "buy" if buy else "sell"),
                number_cell(f"{fill.last_qty:,}"),
                number_cell(price),
                fee_cell(fill.fee),
                Cell({Liquidity.MAKER: "maker", Liquidity.TAKER: "taker"}.get(fill.liquidity, ""), "muted"),
                Cell(fill.client_order_id, "muted"),
            )
        )
    return rows


FILL_HEADERS = ("Time", "Instr", "Side", "Qty", "Price", "Fee", "Liq", "Order")
RUN_HEADERS = (
    "Run",
    "Created",
    "Strategy",
    "Instruments",
    "Seed",
    "Simulated",
    "P&L",
    "Sharpe",
    "Max DD",
    "Trades",
    "Parameters",
)


def run_rows(runs: Sequence[BacktestRunRecord]) -> list[tuple[Cell, ...]]:
    """The stored runs table, newest first as given."""
    rows: list[tuple[Cell, ...]] = []
    for run in runs:
        metrics = run.metrics
        rows.append(
            (
                Cell(run.run_id),
                Cell(datetime_text(run.created_ns)[:19], "muted"),
                Cell(run.strategy),
                Cell(", ".join(run.instruments)),
                number_cell(run.seed),
                number_cell(duration_text(run.duration_ns)),
                stored_money_cell(metrics.get("pnl", "")),
                number_cell(metrics.get("sharpe", "")),
                stored_money_cell(metrics.get("max_drawdown", ""), kind="drawdown"),
                number_cell(metrics.get("trades", "")),
                Cell(params_text(run.params), "muted"),
            )
        )
    return rows


def comparison_rows(runs: Sequence[BacktestRunRecord]) -> list[tuple[Cell, ...]]:
    """Runs side by side: one row per property or metric, one column per run (after the label column)."""

    def row(label: str, cells: list[Cell]) -> tuple[Cell, ...]:
        return (Cell(label, "muted"), *cells)

    rows = [
        row("Strategy", [Cell(run.strategy) for run in runs]),
        row("Instruments", [Cell(", ".join(run.instruments)) for run in runs]),
        row("Scenario", [Cell(str(run.settings.get("scenario", "-"))) for run in runs]),
        row("Seed", [number_cell(run.seed) for run in runs]),
        row("Simulated", [number_cell(duration_text(run.duration_ns)) for run in runs]),
        row("P&L", [stored_money_cell(run.metrics.get("pnl", "")) for run in runs]),
        row("Fees", [stored_money_cell(run.metrics.get("fees", ""), kind="fee") for run in runs]),
        row("Sharpe", [number_cell(run.metrics.get("sharpe", "")) for run in runs]),
        row("Max drawdown", [stored_money_cell(run.metrics.get("max_drawdown", ""), kind="drawdown") for run in runs]),
        row("Trades", [number_cell(run.metrics.get("trades", "")) for run in runs]),
        row("Fill ratio", [number_cell(_percent(run.metrics.get("fill_ratio", ""))) for run in runs]),
        row("Events", [number_cell(f"{run.events:,}") for run in runs]),
    ]
    names: list[str] = []
    for run in runs:
        names += [name for name in run.params if name not in names]
    for name in names:
        rows.append(row(name.replace("_", " "), [number_cell(run.params.get(name, "-")) for run in runs]))
    return rows


def _percent(text: object) -> str:
    """A stored ratio ("0.7143") as a percentage ("71.43%"); anything else as it is."""
    try:
        return f"{float(str(text)):.2%}"
    except ValueError:
        return str(text)
