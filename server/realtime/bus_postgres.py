"""The event bus across processes: PostgreSQL LISTEN/NOTIFY, fanned out locally.

Every instance LISTENs on one channel through one dedicated connection; ``publish`` sends
``pg_notify`` and does not deliver locally, because the server echoes the NOTIFY to every
listener, the publisher included, so each instance receives each message exactly once.

The listening connection is supervised: it is lost when the database restarts (or the network
drops it), and the stock Litestar asyncpg channels backend never comes back from that. Here
loss is noticed two ways — asyncpg's termination callback (fast, but only fires when the
socket is actually closed) and a ``SELECT 1`` health check every couple of seconds (catches
half-open connections) — then the bus reconnects with capped exponential backoff, LISTENs
again and delivers ``RESYNC`` so every subscriber sends a fresh snapshot: NOTIFYs sent while
nobody listened are gone for good, and pushing state again is what makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import asyncpg

from server.realtime.bus import RESYNC, BusUnavailable, MemoryBus, encode, reopen_with_backoff

log = logging.getLogger("guichet.bus")

# Failures that mean "this connection (or the server) is gone", as opposed to a bug in the query.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, "cannot connect now"
)


__all__ = ["BusUnavailable", "PostgresBus"]


class PostgresBus(MemoryBus):
    """LISTEN/NOTIFY relay shared by every Guichet instance on one database."""

    def __init__(
        self,
        database_url: str,
        channel: str = "guichet_events",
        *,
        health_interval: float = 2.0,
        timeout: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        super().__init__()
        self._url = database_url
        self._channel = channel
        self._health_interval = health_interval
        self._timeout = timeout  # for connecting, health checks and publishing
        self._max_backoff = max_backoff
        self._listener: asyncpg.Connection | None = None
        self._lost = asyncio.Event()  # set by the termination callback of the listener
        self._publisher: asyncpg.Connection | None = None
        self._publish_lock = asyncio.Lock()  # one query at a time on the publishing connection
        self._supervisor: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def connected(self) -> bool:
        """Whether the listening connection is up (as far as we know: see the health check)."""
        return self._listener is not None and not self._listener.is_closed()

    async def start(self) -> None:
        """Listen, then watch the connection. Fails if the database is unreachable at boot."""
        if self._supervisor is not None:
            return
        self._stopped = False
        await self._open_listener()
        self._supervisor = asyncio.create_task(self._supervise(), name="guichet-bus-supervisor")

    async def stop(self) -> None:
        self._stopped = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        listener, self._listener = self._listener, None
        await self._close(listener)
        async with self._publish_lock:  # let an in-flight publish finish first
            publisher, self._publisher = self._publisher, None
            await self._close(publisher)
        await super().stop()

    async def publish(self, message: dict[str, Any]) -> None:
        """NOTIFY every instance, this one included (it hears its own NOTIFY).

        Raises ``BusUnavailable`` if the database cannot be reached; the caller has already
        committed, so it should log and carry on."""
        payload = encode(message)
        async with self._publish_lock:
            if self._stopped:
                raise BusUnavailable("the event bus is stopped")
            conn = self._publisher
            if conn is not None and not conn.is_closed():
                try:
                    await self._notify(conn, payload)
                    return
                except _CONNECTION_ERRORS as exc:
                    # Typically the database restarted since our last publish: reopen once.
                    log.info("event bus: publishing connection broken (%r), reopening", exc)
            self._drop_publisher()
            try:
                self._publisher = await asyncpg.connect(self._url, timeout=self._timeout)
                await self._notify(self._publisher, payload)
            except _CONNECTION_ERRORS as exc:
                self._drop_publisher()
                log.error("event bus: cannot publish %s: %r", message.get("kind"), exc)
                raise BusUnavailable(f"cannot publish to PostgreSQL: {exc!r}") from exc

    async def _notify(self, conn: asyncpg.Connection, payload: str) -> None:
        await conn.execute(
            "SELECT pg_notify($1, $2)", self._channel, payload, timeout=self._timeout
        )

    def _drop_publisher(self) -> None:
        conn, self._publisher = self._publisher, None
        if conn is not None:
            conn.terminate()

    # Listening side.

    async def _open_listener(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=self._timeout)
        try:
            await conn.add_listener(self._channel, self._on_notification)
        except BaseException:
            conn.terminate()  # also when cancelled mid-LISTEN: never leak the connection
            raise
        conn.add_termination_listener(self._on_termination)
        self._lost.clear()
        self._listener = conn

    def _on_notification(
        self, connection: asyncpg.Connection, pid: int, channel: str, payload: str
    ) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            # Someone ran NOTIFY by hand: not ours to interpret, and not worth crashing over.
            log.warning("event bus: ignoring malformed payload on %r: %.100r", channel, payload)
            return
        self.deliver(message)

    def _on_termination(self, connection: asyncpg.Connection) -> None:
        # Fired (via call_soon) for connections we terminate ourselves too: only the current
        # listener counts.
        if connection is self._listener:
            self._lost.set()

    async def _supervise(self) -> None:
        """Forever: wait until the listener is lost, reconnect, ask subscribers to resync."""
        while True:
            try:
                await self._wait_until_lost()
                listener, self._listener = self._listener, None
                if listener is not None:
                    listener.terminate()  # broken anyway: a graceful close could hang
                log.warning("event bus: lost the LISTEN connection, reconnecting")
                await self._reconnect()
                # Only now: a snapshot taken before LISTEN is back could miss later events.
                self.deliver(RESYNC)
            except Exception:
                # The supervisor must outlive any surprise, or the bus goes silently deaf.
                log.exception("event bus: supervisor error")
                await asyncio.sleep(1)

    async def _wait_until_lost(self) -> None:
        conn = self._listener
        while conn is not None and not conn.is_closed():
            try:
                async with asyncio.timeout(self._health_interval):
                    await self._lost.wait()
                return  # termination callback: the socket closed
            except TimeoutError:
                pass
            try:
                # Termination callbacks only fire when the socket closes; a dead peer behind a
                # firewall or a frozen server never closes it, so ask.
                await conn.fetchval("SELECT 1", timeout=self._timeout)
            except Exception as exc:
                log.warning("event bus: health check failed: %r", exc)
                return

    async def _reconnect(self) -> None:
        await reopen_with_backoff(self._open_listener, self._max_backoff, "listening")

    async def _close(self, conn: asyncpg.Connection | None) -> None:
        if conn is None or conn.is_closed():
            return
        try:
            await conn.close(timeout=self._timeout)
        except Exception as exc:  # close() has already aborted the connection
            log.info("event bus: connection closed uncleanly: %r", exc)
