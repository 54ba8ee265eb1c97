"""A task that runs passes in the background of the application until it is stopped.

The mail dispatcher and the scheduler share this loop: a pass that fails (the database may be
restarting) is retried later, less and less often, and stopping lets the pass in progress
finish so nothing is left half done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.db.engine import db_session
from server.observability.metrics import background_pass_done

log = logging.getLogger("guichet.background")

STOP_SECONDS = 10


class BackgroundLoop:
    """Subclasses implement :meth:`run_pass`; ``interval`` is the pause between passes and
    ``max_backoff`` caps how many intervals a failing loop waits."""

    task_name = "guichet-background"
    interval: float = 1.0
    max_backoff = 10

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_pass(self) -> bool:
        """One pass; return True when more work is already waiting (run again at once)."""
        raise NotImplementedError

    def start(self) -> None:
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, STOP_SECONDS)
        self._task = None

    async def _loop(self) -> None:
        errors = 0
        while not self._stopping.is_set():
            try:
                # One connection for the whole pass, not one per statement.
                async with db_session():
                    more = await self.run_pass()
                errors = 0
                background_pass_done(self.task_name)
            except Exception as exc:
                errors += 1
                more = False
                log.warning("%s pass failed (%s: %s)", self.task_name, type(exc).__name__, exc)
            if more:
                continue
            wait = self.interval * min(2**errors, self.max_backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)
