"""The Redis pub/sub bus: the same guarantees as LISTEN/NOTIFY, against a real redis-server the
tests start on loopback (and crash, restart and freeze)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.realtime import bus as bus_module
from server.realtime.bus import RESYNC, BusUnavailable, Subscription, make_bus
from server.realtime.bus_redis import RedisBus
from tests.conftest import DATABASE_URL
from tests.redis_server import RedisServer, throwaway_redis


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with throwaway_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    if not redis_server.answers():  # a test that stopped it and failed before restarting
        redis_server.restart()
    return redis_server


@pytest.fixture
async def buses(redis: RedisServer) -> AsyncIterator[list[RedisBus]]:
    """Two buses on one Redis: two Guichet processes."""
    async with AsyncExitStack() as stack:
        started = []
        for _ in range(2):
            bus = RedisBus(redis.url, health_interval=0.5, timeout=2)
            await bus.start()
            stack.push_async_callback(bus.stop)
            started.append(bus)
        yield started


async def receive(subscription: Subscription, within: float = 5) -> dict[str, Any]:
    return await asyncio.wait_for(subscription.queue.get(), within)


async def wait_until(predicate: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_the_factory_builds_a_redis_bus_only_with_a_url() -> None:
    assert isinstance(make_bus("redis", "sqlite:///x", "redis://127.0.0.1:1/0"), RedisBus)
    with pytest.raises(ValueError, match="GUICHET_REDIS_URL"):
        make_bus("redis", "sqlite:///x", "")


async def test_a_message_reaches_every_instance_exactly_once(buses: list[RedisBus]) -> None:
    a, b = buses
    async with a.subscribe() as on_a, b.subscribe() as on_b:
        await a.publish({"kind": "ticket.moved", "ticket_id": 1})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 1}
        assert await receive(on_b) == {"kind": "ticket.moved", "ticket_id": 1}
        await b.publish({"kind": "ticket.moved", "ticket_id": 2})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 2}
        assert await receive(on_b) == {"kind": "ticket.moved", "ticket_id": 2}
        # Exactly once, and the health-check PINGs (every 0.5 s) are not messages.
        await asyncio.sleep(1.2)
        assert on_a.queue.empty()
        assert on_b.queue.empty()


async def test_an_oversized_message_is_refused(buses: list[RedisBus]) -> None:
    a, _ = buses
    async with a.subscribe() as on_a:
        with pytest.raises(ValueError, match="ids, not content"):
            await a.publish({"kind": "ticket.note", "body": "x" * bus_module.MAX_PAYLOAD})
        await a.publish({"kind": "ticket.moved", "ticket_id": 3})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 3}


async def test_the_bus_survives_a_redis_crash_and_restart(
    redis: RedisServer, buses: list[RedisBus]
) -> None:
    a, b = buses
    async with a.subscribe() as on_a, b.subscribe() as on_b:
        await a.publish({"kind": "ticket.created", "ticket_id": 1})
        assert await receive(on_a) == {"kind": "ticket.created", "ticket_id": 1}
        assert await receive(on_b) == {"kind": "ticket.created", "ticket_id": 1}

        await asyncio.to_thread(redis.restart)  # killed: the clients' sockets just break

        # Both instances subscribe again, then ask their viewers for fresh snapshots...
        assert await receive(on_a, within=15) == RESYNC
        assert await receive(on_b, within=15) == RESYNC
        assert a.connected
        assert b.connected
        # ... and events flow again, through a publishing connection reopened on the way.
        await a.publish({"kind": "ticket.created", "ticket_id": 2})
        assert await receive(on_a) == {"kind": "ticket.created", "ticket_id": 2}
        assert await receive(on_b) == {"kind": "ticket.created", "ticket_id": 2}


async def test_publishing_while_redis_is_down_fails_fast(
    redis: RedisServer, buses: list[RedisBus]
) -> None:
    a, b = buses
    async with b.subscribe() as on_b:
        redis.kill()
        try:
            await wait_until(lambda: not a.connected and not b.connected, within=10)
            with pytest.raises(BusUnavailable):
                await asyncio.wait_for(a.publish({"kind": "ticket.moved", "ticket_id": 3}), 10)
        finally:
            await asyncio.to_thread(redis.start)
        assert await receive(on_b, within=15) == RESYNC
        await wait_until(lambda: a.connected, within=15)
        await a.publish({"kind": "ticket.moved", "ticket_id": 4})
        assert await receive(on_b) == {"kind": "ticket.moved", "ticket_id": 4}


async def test_a_frozen_redis_is_caught_by_the_health_check(
    redis: RedisServer, buses: list[RedisBus]
) -> None:
    a, _ = buses
    async with a.subscribe() as on_a:
        with redis.frozen():
            # The socket stays open and nothing closes it: only the unanswered PING tells.
            await wait_until(lambda: not a.connected, within=10)
        assert await receive(on_a, within=15) == RESYNC
        assert a.connected
        await a.publish({"kind": "ticket.moved", "ticket_id": 7})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 7}


async def test_a_malformed_publish_is_ignored(redis: RedisServer, buses: list[RedisBus]) -> None:
    a, _ = buses
    async with a.subscribe() as on_a:
        client = Redis.from_url(redis.url)
        try:
            await client.publish("guichet_events", "not json")
        finally:
            await client.aclose()
        await a.publish({"kind": "ticket.moved", "ticket_id": 5})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 5}
        assert on_a.queue.empty()


async def test_starting_without_redis_fails_and_publishing_after_stop_is_refused(
    redis: RedisServer, tmp_path: Path
) -> None:
    nowhere = RedisServer(tmp_path)  # a free port nobody listens on
    with pytest.raises(RedisConnectionError):
        await RedisBus(nowhere.url, timeout=2).start()
    bus = RedisBus(redis.url)
    await bus.start()
    assert bus.connected
    await bus.stop()
    assert not bus.connected
    with pytest.raises(BusUnavailable):
        await bus.publish({"kind": "ticket.moved", "ticket_id": 6})


def test_guichet_check_reports_whether_redis_answers(redis: RedisServer, tmp_path: Path) -> None:
    from tests.integration.test_check_command import check, problems

    ok = check(DATABASE_URL=DATABASE_URL, STORAGE_DIR=str(tmp_path), CHANNELS="redis",
               REDIS_URL=redis.url)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok      channels backend" in ok.stdout

    nowhere = RedisServer(tmp_path)  # a free port nobody listens on
    down = check(DATABASE_URL=DATABASE_URL, STORAGE_DIR=str(tmp_path), CHANNELS="redis",
                 REDIS_URL=nowhere.url)  # fmt: skip
    assert down.returncode == 1
    assert problems(down)["channels backend"].startswith("redis backend unavailable")
    assert str(nowhere.port) in problems(down)["channels backend"]

    wrong = check(DATABASE_URL=DATABASE_URL, STORAGE_DIR=str(tmp_path), CHANNELS="redis",
                  REDIS_URL="http://127.0.0.1:6379")  # fmt: skip
    assert "GUICHET_REDIS_URL" in problems(wrong)["configuration"]
