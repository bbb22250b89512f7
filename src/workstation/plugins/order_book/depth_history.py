"""Resting size by price over time, for the depth heatmap: a ring of book samples on a fixed price grid.

Time is cut into slots of ``interval_ns`` (wall time); each sample fills the slot of its time, and slots nobody
sampled (the panel was hidden) stay empty, so the image's time axis is always uniform. The price grid is
``levels`` ticks around the mid; it moves only when the mid drifts out of its middle band, shifting the
history with it. Values are ``log1p(size)``, ready for a colour map. Knows nothing of Qt.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.book import DepthSnapshot
from core.numbers import Nanos, Price

DEFAULT_SLOTS = 600
"""Samples kept: one minute at the default interval."""
DEFAULT_LEVELS = 200
"""Price rows of the grid (ticks)."""
DEFAULT_INTERVAL_NS = 100_000_000
"""Wall time between samples."""
RECENTRE_BAND = 0.3
"""The grid moves when the mid is closer than this share of the grid to its top or bottom."""


class DepthHistory:
    """The last ``slots`` samples of the book on a grid of ``levels`` ticks."""

    def __init__(
        self,
        tick: Price,
        *,
        slots: int = DEFAULT_SLOTS,
        levels: int = DEFAULT_LEVELS,
        interval_ns: Nanos = DEFAULT_INTERVAL_NS,
    ) -> None:
        if tick <= 0 or slots <= 0 or levels <= 0 or interval_ns <= 0:
            raise ValueError("tick, slots, levels and interval must be positive")
        self.tick = tick
        self.slots = slots
        self.levels = levels
        self.interval_ns = interval_ns
        self.sizes = np.zeros((slots, levels), dtype=np.float32)
        """``log1p`` of the resting size, by ring position (axis 0) and grid row (axis 1, lowest price first)."""
        self.best_bid = np.full(slots, np.nan)
        """Best bid of each ring position, in ticks (NaN: none)."""
        self.best_ask = np.full(slots, np.nan)
        self.low: Price | None = None
        """Price of grid row 0."""
        self.slot: int | None = None
        """Absolute slot number (time // interval) of the newest sample."""
        self.samples = 0

    def clear(self, tick: Price | None = None) -> None:
        """Forget every sample (another instrument, possibly on another ``tick``)."""
        if tick is not None:
            self.tick = tick
        self.sizes[:] = 0
        self.best_bid[:] = np.nan
        self.best_ask[:] = np.nan
        self.low = None
        self.slot = None
        self.samples = 0

    def due(self, now_ns: Nanos) -> bool:
        """True when ``now_ns`` falls in a slot not sampled yet."""
        return self.slot is None or now_ns // self.interval_ns > self.slot

    def sample(self, now_ns: Nanos, depth: DepthSnapshot, mid: Price | None, *, live: bool = False) -> bool:
        """Record ``depth`` in the slot of ``now_ns``; False (nothing done) when that slot is already sampled
        or there is no price yet. With ``live``, the current slot is sampled again (the newest column follows
        the book until its slot closes; the grid only moves at a new slot)."""
        if mid is None:
            return False
        slot = now_ns // self.interval_ns
        current = self.slot is not None and slot == self.slot
        if not self.due(now_ns) and not (live and current):
            return False
        if not current:
            self._clear_skipped(slot)
            self._follow(mid)
        assert self.low is not None
        position = slot % self.slots
        column = self.sizes[position]
        column[:] = 0
        for side in (depth.bids, depth.asks):
            if not side:
                continue
            levels = np.asarray(side, dtype=np.int64)
            rows = (levels[:, 0] - self.low) // self.tick
            inside = (rows >= 0) & (rows < self.levels)
            column[rows[inside]] = np.log1p(levels[inside, 1].astype(np.float32))
        self.best_bid[position] = depth.bids[0][0] / self.tick if depth.bids else np.nan
        self.best_ask[position] = depth.asks[0][0] / self.tick if depth.asks else np.nan
        if not current:
            self.slot = slot
            self.samples += 1
        return True

    def _clear_skipped(self, slot: int) -> None:
        if self.slot is None or slot - self.slot >= self.slots:
            self.sizes[:] = 0
            self.best_bid[:] = np.nan
            self.best_ask[:] = np.nan
            return
        for skipped in range(self.slot + 1, slot):
            position = skipped % self.slots
            self.sizes[position] = 0
            self.best_bid[position] = np.nan
            self.best_ask[position] = np.nan

    def _follow(self, mid: Price) -> None:
        centred = mid - mid % self.tick - (self.levels // 2) * self.tick
        if self.low is None:
            self.low = centred
            return
        row = (mid - self.low) / self.tick
        band = self.levels * RECENTRE_BAND
        if band <= row <= self.levels - band:
            return
        shift = (centred - self.low) // self.tick
        self.low = centred
        if abs(shift) >= self.levels:
            self.sizes[:] = 0
        elif shift > 0:
            self.sizes[:, :-shift] = self.sizes[:, shift:]
            self.sizes[:, -shift:] = 0
        elif shift < 0:
            self.sizes[:, -shift:] = self.sizes[:, :shift]
            self.sizes[:, :-shift] = 0

    # --- reading -------------------------------------------------------------------------------------------------

    def _order(self) -> npt.NDArray[np.intp]:
        newest = 0 if self.slot is None else self.slot % self.slots
        return (np.arange(self.slots) + newest + 1) % self.slots

    def image(self) -> npt.NDArray[np.float32]:
        """The samples oldest first: shape ``(slots, levels)``, time along axis 0, price (low to high) along 1."""
        newest = 0 if self.slot is None else self.slot % self.slots
        return np.concatenate((self.sizes[newest + 1 :], self.sizes[: newest + 1]))

    def best_lines(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Best bid and best ask in ticks per slot, oldest first (NaN where there was none)."""
        order = self._order()
        return self.best_bid[order], self.best_ask[order]

    def first_slot(self) -> int:
        """Absolute slot number of the oldest column of :meth:`image`."""
        return (0 if self.slot is None else self.slot) - self.slots + 1
