"""The ladder's price axis: a fixed grid of one row per tick that moves only when the trader (or the market
leaving the view) asks it to.

Knows nothing of Qt: the ladder, the heatmap and the volume profile all read the same axis so their rows line up.
"""

from __future__ import annotations

from core.numbers import Price


class PriceAxis:
    """Which price each visible row shows: row 0 (the top) is the highest price, one tick per row downwards.

    The axis does not move with each update. It recentres on the mid when asked (:meth:`center_on`), and
    :meth:`keep_inside` recentres it by itself only when the inside market leaves the visible rows while the
    axis is following the market. Scrolling the inside out of view stops following until it is back in view
    (or the trader recentres), so the view never jumps away from where the trader scrolled.
    """

    def __init__(self, tick: Price) -> None:
        if tick <= 0:
            raise ValueError(f"tick must be positive, got {tick}")
        self.tick = tick
        self.top: Price | None = None
        """Price of row 0; None until the first price is known."""
        self.rows = 1
        """How many rows are visible (the last one may be partly cut)."""
        self.follow = True
        """Whether the axis recentres when the inside market leaves the view."""
        self.version = 0
        """Changes whenever the visible prices change."""

    def reset(self, tick: Price) -> None:
        """Forget the position (another instrument): the next price known centres the axis."""
        if tick <= 0:
            raise ValueError(f"tick must be positive, got {tick}")
        self.tick = tick
        self.top = None
        self.follow = True
        self.version += 1

    def set_rows(self, rows: int) -> None:
        """The number of visible rows (the widget was resized); the top row keeps its price."""
        rows = max(1, rows)
        if rows != self.rows:
            self.rows = rows
            self.version += 1

    @property
    def bottom(self) -> Price | None:
        """Price of the last visible row."""
        return None if self.top is None else self.top - (self.rows - 1) * self.tick

    def price_at_row(self, row: int) -> Price | None:
        """Price shown by ``row`` (rows past the visible ones extend the grid), None before the first price."""
        return None if self.top is None else self.top - row * self.tick

    def row_at_price(self, price: Price) -> int | None:
        """The visible row of ``price`` (an off-grid price goes to the nearest row), or None when not visible."""
        if self.top is None:
            return None
        row = (self.top - price + self.tick // 2) // self.tick
        return row if 0 <= row < self.rows else None

    def visible(self, price: Price) -> bool:
        """True when ``price`` has a visible row."""
        return self.row_at_price(price) is not None

    def center_on(self, price: Price) -> None:
        """Put ``price`` (rounded down to the grid) in the middle row and follow the market again."""
        on_grid = price - price % self.tick
        top = on_grid + (self.rows // 2) * self.tick
        self.follow = True
        if top != self.top:
            self.top = top
            self.version += 1

    def scroll(self, rows: int, inside: tuple[Price | None, Price | None] = (None, None)) -> None:
        """Move the view ``rows`` rows towards higher prices (negative: lower); ``inside`` is the best bid and
        ask, to know whether the axis still follows the market afterwards."""
        if self.top is None or rows == 0:
            return
        self.top += rows * self.tick
        self.version += 1
        self.follow = self._inside_visible(inside)

    def keep_inside(self, best_bid: Price | None, best_ask: Price | None, mid: Price | None) -> bool:
        """Recentre on ``mid`` when there is no position yet, or when the inside left the view while following.

        Returns True when the axis moved.
        """
        if mid is None:
            return False
        if self.top is None:
            self.center_on(mid)
            return True
        if self._inside_visible((best_bid, best_ask)):
            self.follow = True
            return False
        if not self.follow:
            return False
        before = self.top
        self.center_on(mid)
        return self.top != before

    def _inside_visible(self, inside: tuple[Price | None, Price | None]) -> bool:
        return all(self.visible(price) for price in inside if price is not None)
