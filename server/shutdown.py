"""A clean stop within a few seconds, whatever state the database, the live bus, the mail
relay or the sockets are in.

On SIGTERM (or Ctrl-C) every live socket is closed at once with 1012 "service restart", so
browsers reconnect straight away (to another instance behind a proxy); requests in flight get
``GRACE_SECONDS`` to finish; each step of the lifespan shutdown is bounded (``bounded``);
and a watchdog ends the process at ``HARD_DEADLINE_SECONDS`` if anything still hangs (a frozen
database can hold a query forever).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("guichet.shutdown")

SERVICE_RESTART = 1012  # websocket close code: "come back in a moment"
GRACE_SECONDS = 1.0  # requests in flight, after the sockets are closed
STEP_SECONDS = 1.0  # each stop of the lifespan shutdown
HARD_DEADLINE_SECONDS = 4.5  # from the signal to the end of the process, whatever happens


async def bounded(name: str, stop: Awaitable[Any], seconds: float = STEP_SECONDS) -> bool:
    """Await one stop for at most ``seconds``; give up on it (logged) rather than hang."""
    try:
        async with asyncio.timeout(seconds):
            await stop
    except TimeoutError:
        log.warning("stopping %s took over %.1f s: left behind", name, seconds)
        return False
    except Exception:
        log.warning("stopping %s failed", name, exc_info=True)
        return False
    return True


def _uvicorn_server(handler: Any) -> Any | None:
    """The uvicorn server whose signal handler is installed (its ``handle_exit``), if any."""
    server = getattr(handler, "__self__", None)
    config = getattr(server, "config", None)
    return server if hasattr(config, "timeout_graceful_shutdown") else None


def install(on_signal: Callable[[], None]) -> bool:
    """Chain our stop in front of uvicorn's signal handlers (installed before the lifespan
    starts). ``on_signal`` runs in the event loop. Without a uvicorn server in charge of the
    signals (tests running the app in-process), nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    loop = asyncio.get_running_loop()
    installed = False
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        server = _uvicorn_server(previous)
        if server is None:
            continue

        def handler(
            signum: int, frame: Any, previous: Any = previous, server: Any = server
        ) -> None:
            if not server.should_exit:
                grace = server.config.timeout_graceful_shutdown
                server.config.timeout_graceful_shutdown = min(grace or GRACE_SECONDS, GRACE_SECONDS)
                loop.call_soon_threadsafe(on_signal)
                _watchdog()
            previous(signum, frame)

        signal.signal(sig, handler)
        installed = True
    return installed


def _watchdog() -> None:
    """The last resort: end the process if the graceful stop has not within the deadline."""

    def end() -> None:
        log.error("stop did not finish within %.1f s: exiting now", HARD_DEADLINE_SECONDS)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(HARD_DEADLINE_SECONDS, end)
    timer.daemon = True
    timer.start()
