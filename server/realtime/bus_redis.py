"""The event bus across processes through Redis pub/sub, fanned out locally.

The same contract as ``PostgresBus``: every instance SUBSCRIBEs to one channel on a dedicated
connection, ``publish`` PUBLISHes and does not deliver locally (Redis sends the message to
every subscriber, the publisher's own instance included), messages keep the same JSON format
and size limit, and a lost subscription is reconnected with capped exponential backoff, then
``RESYNC`` is delivered so every viewer gets a fresh snapshot: pub/sub keeps nothing for a
subscriber that was away.

redis-py reconnects a pub/sub connection by itself and subscribes again, silently: the gap
would go unnoticed and viewers would keep a stale board. So the listening client is built
without retries, and any error ends that client; the supervisor opens a new one and announces
the gap. A frozen server (the socket stays open, nothing arrives) is caught by a PING every
``health_interval`` seconds that must be answered within ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from server.realtime.bus import RESYNC, BusUnavailable, MemoryBus, encode, reopen_with_backoff

log = logging.getLogger("guichet.bus")


class RedisBus(MemoryBus):
    """Redis pub/sub relay shared by every Guichet instance pointed at one Redis."""

    def __init__(
        self,
        redis_url: str,
        channel: str = "guichet_events",
        *,
        health_interval: float = 2.0,
        timeout: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        super().__init__()
        self._url = redis_url
        self._channel = channel
        self._health_interval = health_interval
        self._timeout = timeout  # for connecting, answering a PING and publishing
        self._max_backoff = max_backoff
        self._listener: Redis | None = None
        self._pubsub: PubSub | None = None
        self._publisher: Redis | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def connected(self) -> bool:
        """Whether the subscription is up (as far as the last PING tells)."""
        return self._pubsub is not None

    def _client(self, retries: int) -> Redis:
        return Redis.from_url(
            self._url,
            decode_responses=True,
            socket_connect_timeout=self._timeout,
            socket_timeout=self._timeout,
            retry=Retry(NoBackoff(), retries),
            health_check_interval=0,  # our own PING, whose answer we wait for
        )

    async def start(self) -> None:
        """Subscribe, then watch the connection. Fails if Redis is unreachable at boot."""
        if self._supervisor is not None:
            return
        self._stopped = False
        self._publisher = self._client(retries=1)  # reopen a broken connection once
        try:
            await self._open_listener()
        except BaseException:
            await self._close_publisher()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="guichet-bus-supervisor")

    async def stop(self) -> None:
        self._stopped = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._close_listener()
        await self._close_publisher()
        await super().stop()

    async def publish(self, message: dict[str, Any]) -> None:
        """PUBLISH to every instance, this one included.

        Raises ``BusUnavailable`` if Redis cannot be reached; the caller has already committed,
        so it should log and carry on."""
        payload = encode(message)
        if self._stopped or self._publisher is None:
            raise BusUnavailable("the event bus is stopped")
        try:
            await self._publisher.publish(self._channel, payload)
        except (RedisError, OSError, TimeoutError) as exc:
            log.error("event bus: cannot publish %s: %r", message.get("kind"), exc)
            raise BusUnavailable(f"cannot publish to Redis: {exc!r}") from exc

    # Listening side.

    async def _open_listener(self) -> None:
        client = self._client(retries=0)
        pubsub = client.pubsub()
        try:
            async with asyncio.timeout(self._timeout):
                await pubsub.subscribe(self._channel)
                # Subscribed only once Redis confirms: a snapshot sent before that could miss
                # an event published in between.
                while True:
                    reply = await pubsub.get_message(timeout=self._timeout)
                    if reply is not None and reply["type"] == "subscribe":
                        break
        except BaseException:
            await _quietly_close(pubsub, client)  # also when cancelled: never leak it
            raise
        self._listener, self._pubsub = client, pubsub

    async def _close_listener(self) -> None:
        client, pubsub = self._listener, self._pubsub
        self._listener = self._pubsub = None
        await _quietly_close(pubsub, client)

    async def _close_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        await _quietly_close(None, publisher)

    async def _supervise(self) -> None:
        """Forever: read until the subscription is lost, reconnect, ask for snapshots."""
        while True:
            try:
                await self._read_until_lost()
                await self._close_listener()
                log.warning("event bus: lost the Redis subscription, reconnecting")
                await self._reconnect()
                # Only now: a snapshot taken before the subscription is back could miss events.
                self.deliver(RESYNC)
            except Exception:
                # The supervisor must outlive any surprise, or the bus goes silently deaf.
                log.exception("event bus: supervisor error")
                await asyncio.sleep(1)

    async def _read_until_lost(self) -> None:
        pubsub = self._pubsub
        ping_sent: float | None = None
        while pubsub is not None:
            try:
                reply = await pubsub.get_message(timeout=self._health_interval)
                if reply is None:
                    if ping_sent is None:
                        await pubsub.ping()
                        ping_sent = time.monotonic()
                    elif time.monotonic() - ping_sent > self._timeout:
                        log.warning("event bus: Redis did not answer a PING")
                        return
                    continue
            except Exception as exc:
                # Not only RedisError/OSError: after a restart redis-py may raise RuntimeError
                # from a transport it closed itself. Whatever it is, this subscription is done:
                # retrying it read nothing for good (seen once in the restart test).
                log.warning("event bus: Redis subscription broken: %r", exc)
                return
            ping_sent = None  # anything heard means the server is alive
            if reply["type"] == "message":
                self._on_message(reply["data"])

    def _on_message(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            # Someone ran PUBLISH by hand: not ours to interpret, and not worth crashing over.
            log.warning("event bus: ignoring malformed payload: %.100r", payload)
            return
        self.deliver(message)

    async def _reconnect(self) -> None:
        await reopen_with_backoff(self._open_listener, self._max_backoff, "subscribed")


async def _quietly_close(pubsub: PubSub | None, client: Redis | None) -> None:
    # The connection is usually broken already: closing must neither hang nor raise.
    for closable in (pubsub, client):
        if closable is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await closable.aclose()
