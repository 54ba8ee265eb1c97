"""How long SQLite transactions wait for the one writer connection, and hold it.

The pooled SQLite engine (``server.db.connections``) admits one write transaction at a time,
first come, first served. A transaction's fair wait is the hold times of those ahead of it:
these figures show whether anyone waits longer than that share. Kept in memory (bounded)
and logged when the pool closes; ``bench/writes.py`` prints them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections import deque

log = logging.getLogger("guichet.db.writer")

# Recent transactions kept (about a minute at a busy desk's write rate).
KEPT = 20_000


def _pct(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class WriterStats:
    """Per transaction: the wait for the writer, how many were ahead, how long it held it."""

    __slots__ = ("_ahead", "_holds", "_waits", "count")

    def __init__(self) -> None:
        self._waits: deque[float] = deque(maxlen=KEPT)
        self._ahead: deque[int] = deque(maxlen=KEPT)
        self._holds: deque[float] = deque(maxlen=KEPT)
        self.count = 0

    def waited(self, seconds: float, ahead: int) -> None:
        self.count += 1
        self._waits.append(seconds)
        self._ahead.append(ahead)

    def reset(self) -> None:
        self._waits.clear()
        self._ahead.clear()
        self._holds.clear()
        self.count = 0

    def held(self, seconds: float) -> None:
        self._holds.append(seconds)

    def summary(self) -> str:
        """One line, times in milliseconds. ``excess``: the wait beyond the hold times of
        those ahead (their median hold each), the part that is not one's share."""
        waits, holds = list(self._waits), list(self._holds)
        hold_p50 = _pct(holds, 0.5)
        excess = [max(0.0, w - a * hold_p50) for w, a in zip(waits, self._ahead, strict=False)]
        ms = 1000
        return (
            f"writer transactions={self.count}"
            f" wait_p50={_pct(waits, 0.5) * ms:.2f} wait_p99={_pct(waits, 0.99) * ms:.2f}"
            f" wait_max={max(waits, default=0) * ms:.2f}"
            f" ahead_p99={_pct([float(a) for a in self._ahead], 0.99):.0f}"
            f" hold_p50={hold_p50 * ms:.2f} hold_p99={_pct(holds, 0.99) * ms:.2f}"
            f" hold_max={max(holds, default=0) * ms:.2f}"
            f" excess_p99={_pct(excess, 0.99) * ms:.2f}"
            f" excess_max={max(excess, default=0) * ms:.2f}"
        )


def report_on_signal(stats: WriterStats) -> None:
    """``kill -USR1 <pid>`` logs the figures since the last report and starts afresh (a
    benchmark reads them per run). Only where the loop may take signals (the main thread)."""

    def report() -> None:
        log.info("%s", stats.summary())
        stats.reset()

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, report)
