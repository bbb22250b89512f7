"""Performance metrics of a run from its equity curve and fills: P&L, Sharpe, drawdown, fill ratio."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.numbers import Money

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMetrics:
    """What a trader reads first about a run. Money in integer money units (see :mod:`core.numbers`)."""

    pnl: Money
    fees: Money
    sharpe: float
    max_drawdown: Money
    trades: int
    fill_ratio: float


def max_drawdown(equity: Sequence[Money]) -> Money:
    """Largest fall of the equity curve from a previous peak (zero if it never falls)."""
    peak = 0
    worst = 0
    for value in equity:
        peak = max(peak, value)
        worst = max(worst, peak - value)
    return worst


def sharpe_ratio(equity: Sequence[Money], sample_interval_s: float) -> float:
    """Annualised Sharpe ratio of equity changes sampled every ``sample_interval_s`` (0 when flat or too short).

    P&L changes are used directly (no capital base), annualised over 252 trading days of 6.5 hours.
    """
    if len(equity) < 3:
        return 0.0
    changes = [float(b - a) for a, b in itertools.pairwise(equity)]
    mean = math.fsum(changes) / len(changes)
    variance = math.fsum((change - mean) ** 2 for change in changes) / (len(changes) - 1)
    if variance <= 0.0:
        return 0.0
    periods = TRADING_SECONDS_PER_YEAR / sample_interval_s
    return round(mean / math.sqrt(variance) * math.sqrt(periods), 4)


def compute_metrics(
    *,
    equity: Sequence[Money],
    sample_interval_s: float,
    pnl: Money,
    fees: Money,
    trades: int,
    filled_qty: int,
    submitted_qty: int,
) -> RunMetrics:
    """Metrics of a finished run. ``fill_ratio`` is filled quantity over submitted quantity."""
    return RunMetrics(
        pnl=pnl,
        fees=fees,
        sharpe=sharpe_ratio(equity, sample_interval_s),
        max_drawdown=max_drawdown(equity),
        trades=trades,
        fill_ratio=round(filled_qty / submitted_qty, 4) if submitted_qty else 0.0,
    )
