"""Garbage-collector settings for a long-running engine process (the FIX server, ``sim``, the desktop).

CPython's cyclic collector runs its full collection over every tracked object of the process: the libraries
imported at start (numpy, numba, SQLAlchemy, Qt) and every order still held. Measured on the FIX server with the
default thresholds, collections took a third of the time of a sustained order burst, with single pauses of a
third of a second. Almost nothing the engine allocates per message forms a cycle (reports, orders and rows are
freed by reference counting), so :func:`tune_for_live_trading`, called once the process is built and its state
recovered, moves everything alive then out of the collector's sight (``gc.freeze``) and makes collections rarer.
Cycles are still collected, later. ``bench fix`` shows the effect (``docs/performance.md``).
"""

from __future__ import annotations

import gc

LIVE_THRESHOLDS = (50_000, 20, 100)
"""Young collections after 50,000 net new container objects (700 by default); older generations as rarely."""


def tune_for_live_trading() -> None:
    """Collects once, freezes what is alive now and raises the collection thresholds (idempotent)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*LIVE_THRESHOLDS)
