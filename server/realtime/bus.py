"""The event bus: small messages published after commit, fanned out to local subscribers.

Messages are small dicts of ids and kinds (``{"kind": "ticket.moved", "ticket_id": 42, ...}``),
never HTML: each websocket renders for its own viewer, and PostgreSQL NOTIFY payloads are
capped at 8000 bytes.

``MemoryBus`` serves one process. ``PostgresBus`` (``bus_postgres.py``) relays through
LISTEN/NOTIFY and ``RedisBus`` (``bus_redis.py``) through Redis pub/sub, so several
instances see each other's events; both deliver locally through the same fan-out. A
subscriber that falls behind, or a bus that lost its connection, receives ``RESYNC`` and
answers with a fresh snapshot: state is pushed, so nothing missed stays missing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

log = logging.getLogger("guichet.bus")

RESYNC: dict[str, Any] = {"kind": "bus.resync"}
QUEUE_SIZE = 1000
MAX_PAYLOAD = 7900  # under PostgreSQL's 8000-byte NOTIFY limit


def encode(message: dict[str, Any]) -> str:
    payload = json.dumps(message, separators=(",", ":"), default=str)
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError("bus messages carry ids, not content")
    return payload


async def reopen_with_backoff(
    open_listener: Callable[[], Awaitable[None]], max_backoff: float, what: str
) -> None:
    """Call ``open_listener`` until it succeeds, waiting longer after each failure (with
    jitter, so that every instance does not knock at the same instant)."""
    delay = 0.25
    attempt = 0
    while True:
        attempt += 1
        try:
            await open_listener()
        except Exception as exc:
            pause = delay * random.uniform(0.5, 1.0)
            log.info(
                "event bus: reconnect attempt %d failed (%r), next in %.1fs", attempt, exc, pause
            )
            await asyncio.sleep(pause)
            delay = min(delay * 2, max_backoff)
        else:
            log.warning(
                "event bus: %s again after %d attempt(s); asking for snapshots", what, attempt
            )
            return


class BusUnavailable(RuntimeError):
    """A message could not be published because the shared backend is unreachable.

    Publishing happens after commit, so nothing is undone: viewers catch up through the
    snapshot they are sent when the bus reconnects."""


class Subscription:
    """One subscriber's queue. Iterate it to receive messages."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # A stuck viewer must not slow the others: drop its backlog, ask for a snapshot.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self.queue.get()


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, message: dict[str, Any]) -> None: ...

    def subscribe(self) -> Any: ...


class MemoryBus:
    """Fan-out inside one process."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subscribers.clear()

    async def publish(self, message: dict[str, Any]) -> None:
        encode(message)  # same size rule as the PostgreSQL bus
        self.deliver(message)

    def deliver(self, message: dict[str, Any]) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(message)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)


def make_bus(kind: str, database_url: str, redis_url: str = "") -> MemoryBus:
    """The bus chosen by ``GUICHET_CHANNELS``: ``memory`` (default), ``postgres`` or
    ``redis`` (``GUICHET_REDIS_URL``)."""
    if kind == "postgres":
        from server.realtime.bus_postgres import PostgresBus

        return PostgresBus(database_url)
    if kind == "redis":
        from server.realtime.bus_redis import RedisBus

        if not redis_url:
            raise ValueError("GUICHET_CHANNELS=redis needs GUICHET_REDIS_URL")
        return RedisBus(redis_url)
    if kind != "memory":
        raise ValueError(f"unknown GUICHET_CHANNELS backend: {kind}")
    return MemoryBus()
