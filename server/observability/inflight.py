"""HTTP requests being worked on in this process, so background work can wait for a lull.

The mail dispatcher shares the event loop (and, on a small server, the core) with the
requests. Rendering a mail costs about as much CPU as a ticket creation, so a dispatcher that
rendered while tickets were being created made each of them wait for mails nobody is waiting
for: at 16 concurrent creations their p99 doubled. Background work now waits for a moment
when no request is in progress, at most ``max_wait`` seconds, so mail still leaves a saturated
server (one per ``max_wait``) and at full speed as soon as the requests pause.

A request counts from its arrival until its response starts: a long download, once started,
is the network's work, not the CPU's. Websockets never count (a board stays open all day).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

# How long the requests must have paused: a client's next request follows its previous
# answer within a millisecond or two, and that is no lull.
QUIET_SECONDS = 0.005

_in_flight = 0
_last_answer = 0.0
_waiters: list[asyncio.Future[None]] = []


def in_flight() -> int:
    return _in_flight


def waiting() -> int:
    """Background tasks parked until the requests pause (tests watch this)."""
    return len(_waiters)


def request_started() -> None:
    global _in_flight
    _in_flight += 1


def request_answered() -> None:
    global _in_flight, _last_answer
    _in_flight = max(0, _in_flight - 1)
    _last_answer = time.monotonic()
    if _in_flight == 0:
        for waiter in _waiters:
            if not waiter.done():
                waiter.set_result(None)


async def lull(max_wait: float) -> None:
    """Return once no request has been in progress for QUIET_SECONDS, or after ``max_wait``
    seconds at the latest."""
    deadline = time.monotonic() + max_wait
    while (left := deadline - time.monotonic()) > 0:
        if _in_flight == 0:
            quiet_for = time.monotonic() - _last_answer
            if quiet_for >= QUIET_SECONDS:
                return
            await asyncio.sleep(min(left, QUIET_SECONDS - quiet_for))
        else:
            await _until_answered(left)


async def _until_answered(max_wait: float) -> None:
    # A future of the running loop, not a module-wide Event bound to the first loop it saw.
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    _waiters.append(waiter)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter, max_wait)
    finally:
        _waiters.remove(waiter)
