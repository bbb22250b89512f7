"""Message counts of an ITCH input: in total, per message type and per instrument (by stock locate)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from engine.itch.bulk import FramedFile


@dataclass(frozen=True, slots=True, kw_only=True)
class ItchStats:
    """Counts of one input. A message counts toward a symbol when it carries the stock locate that the Stock
    Directory ('R') gave that symbol; locate 0 (system-wide messages) and locates without a directory entry
    belong to no symbol."""

    messages: int
    by_type: dict[str, int]
    by_symbol: dict[str, int]

    def to_json(self) -> str:
        """``{"messages": N, "by_type": {...}, "by_symbol": {...}}`` (:func:`compute_stats` sorts the keys)."""
        return json.dumps({"messages": self.messages, "by_type": self.by_type, "by_symbol": self.by_symbol})

    def to_text(self) -> str:
        """A short human-readable report, largest counts first."""
        lines = [f"messages: {self.messages}", "by type:"]
        lines += [f"  {kind}  {count}" for kind, count in _largest_first(self.by_type)]
        lines.append("by symbol:")
        width = max((len(symbol) for symbol in self.by_symbol), default=0)
        lines += [f"  {symbol:<{width}}  {count}" for symbol, count in _largest_first(self.by_symbol)]
        return "\n".join(lines)


def _largest_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def compute_stats(framed: FramedFile) -> ItchStats:
    """Count the messages of an indexed input (vectorised)."""
    by_type = dict(sorted(framed.type_counts().items()))
    per_locate = np.bincount(framed.locates(), minlength=1 << 16)
    by_symbol: dict[str, int] = {}
    for locate, symbol in framed.directory().items():
        if locate != 0:
            by_symbol[symbol] = by_symbol.get(symbol, 0) + int(per_locate[locate])
    return ItchStats(messages=len(framed), by_type=by_type, by_symbol=dict(sorted(by_symbol.items())))
