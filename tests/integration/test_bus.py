"""The event bus: in-process fan-out, and LISTEN/NOTIFY across instances on a real PostgreSQL.

The PostgreSQL tests start their own throwaway cluster (whatever database the suite runs on),
because they restart and stop it, which no shared database would survive.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import pytest

from server.realtime import bus as bus_module
from server.realtime.bus import RESYNC, MemoryBus, Subscription
from server.realtime.bus_postgres import BusUnavailable, PostgresBus
from tests.pg_cluster import PgCluster, throwaway_cluster

# --- MemoryBus -------------------------------------------------------------------------------


async def test_every_subscriber_receives_a_published_message() -> None:
    bus = MemoryBus()
    async with bus.subscribe() as first, bus.subscribe() as second:
        await bus.publish({"kind": "ticket.moved", "ticket_id": 42})
        assert first.queue.get_nowait() == {"kind": "ticket.moved", "ticket_id": 42}
        assert second.queue.get_nowait() == {"kind": "ticket.moved", "ticket_id": 42}
        assert first.queue.empty()
        assert second.queue.empty()
    assert bus.subscriber_count == 0


async def test_a_slow_subscriber_overflows_into_one_resync() -> None:
    bus = MemoryBus()
    async with bus.subscribe() as slow, bus.subscribe() as fast:
        for n in range(bus_module.QUEUE_SIZE + 5):
            await bus.publish({"kind": "ticket.created", "ticket_id": n})
            assert fast.queue.get_nowait() == {"kind": "ticket.created", "ticket_id": n}
        # Overflowing dropped the backlog for a single RESYNC, then the next four queued behind.
        assert slow.queue.get_nowait() == RESYNC
        assert [slow.queue.get_nowait()["ticket_id"] for _ in range(4)] == [
            bus_module.QUEUE_SIZE + 1,
            bus_module.QUEUE_SIZE + 2,
            bus_module.QUEUE_SIZE + 3,
            bus_module.QUEUE_SIZE + 4,
        ]
        assert slow.queue.empty()


async def test_an_oversized_message_is_refused() -> None:
    bus = MemoryBus()
    async with bus.subscribe() as subscription:
        with pytest.raises(ValueError, match="ids, not content"):
            await bus.publish({"kind": "ticket.note", "body": "x" * bus_module.MAX_PAYLOAD})
        assert subscription.queue.empty()


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCluster]:
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
async def buses(pg: PgCluster) -> AsyncIterator[list[PostgresBus]]:
    """Two buses on one database: two Guichet processes."""
    async with AsyncExitStack() as stack:
        started = []
        for _ in range(2):
            bus = PostgresBus(pg.url)
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


# --- PostgresBus -----------------------------------------------------------------------------


async def test_a_message_reaches_every_instance_exactly_once(buses: list[PostgresBus]) -> None:
    a, b = buses
    async with a.subscribe() as on_a, b.subscribe() as on_b:
        await a.publish({"kind": "ticket.moved", "ticket_id": 1})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 1}
        assert await receive(on_b) == {"kind": "ticket.moved", "ticket_id": 1}
        # Exactly once: the next thing each receives is the next message, not a duplicate.
        await b.publish({"kind": "ticket.moved", "ticket_id": 2})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 2}
        assert await receive(on_b) == {"kind": "ticket.moved", "ticket_id": 2}
        await asyncio.sleep(0.2)
        assert on_a.queue.empty()
        assert on_b.queue.empty()


async def test_the_bus_survives_a_database_restart(pg: PgCluster, buses: list[PostgresBus]) -> None:
    a, b = buses
    async with a.subscribe() as on_a, b.subscribe() as on_b:
        await a.publish({"kind": "ticket.created", "ticket_id": 1})
        assert await receive(on_a) == {"kind": "ticket.created", "ticket_id": 1}
        assert await receive(on_b) == {"kind": "ticket.created", "ticket_id": 1}

        await asyncio.to_thread(pg.restart)  # the loop keeps running, as in production

        # Both instances reconnect, then ask their viewers for fresh snapshots...
        assert await receive(on_a, within=15) == RESYNC
        assert await receive(on_b, within=15) == RESYNC
        assert a.connected
        assert b.connected
        # ... and events flow again, through a publishing connection reopened on the way.
        await a.publish({"kind": "ticket.created", "ticket_id": 2})
        assert await receive(on_a) == {"kind": "ticket.created", "ticket_id": 2}
        assert await receive(on_b) == {"kind": "ticket.created", "ticket_id": 2}


async def test_publishing_while_the_database_is_down_fails_fast(
    pg: PgCluster, buses: list[PostgresBus]
) -> None:
    a, b = buses
    async with b.subscribe() as on_b:
        await asyncio.to_thread(pg.stop)
        try:
            await wait_until(lambda: not a.connected and not b.connected, within=5)
            with pytest.raises(BusUnavailable):
                await asyncio.wait_for(a.publish({"kind": "ticket.moved", "ticket_id": 3}), 10)
        finally:
            await asyncio.to_thread(pg.start)
        assert await receive(on_b, within=15) == RESYNC
        await wait_until(lambda: a.connected, within=15)
        await a.publish({"kind": "ticket.moved", "ticket_id": 4})
        assert await receive(on_b) == {"kind": "ticket.moved", "ticket_id": 4}


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """Freeze one server backend: its socket stays open, it just never answers again (like a
    peer lost behind a firewall). It is thawed afterwards, or the cluster could not stop."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_a_silent_listener_is_caught_by_the_health_check(pg: PgCluster) -> None:
    bus = PostgresBus(pg.url, health_interval=0.3, timeout=1)
    await bus.start()
    try:
        async with bus.subscribe() as subscription:
            assert bus._listener is not None
            with frozen(bus._listener.get_server_pid()):
                # No termination callback comes: only the health check notices.
                assert await receive(subscription, within=10) == RESYNC
            assert bus.connected
            await bus.publish({"kind": "ticket.moved", "ticket_id": 7})
            assert await receive(subscription) == {"kind": "ticket.moved", "ticket_id": 7}
    finally:
        await bus.stop()


async def test_a_silent_publishing_connection_is_reopened_once(pg: PgCluster) -> None:
    bus = PostgresBus(pg.url, timeout=1)
    await bus.start()
    try:
        async with bus.subscribe() as subscription:
            await bus.publish({"kind": "ticket.moved", "ticket_id": 8})
            assert await receive(subscription) == {"kind": "ticket.moved", "ticket_id": 8}
            assert bus._publisher is not None
            with frozen(bus._publisher.get_server_pid()):
                # Times out on the frozen connection, then goes through a fresh one.
                await asyncio.wait_for(bus.publish({"kind": "ticket.moved", "ticket_id": 9}), 5)
                assert await receive(subscription) == {"kind": "ticket.moved", "ticket_id": 9}
    finally:
        await bus.stop()


async def test_a_malformed_notify_is_ignored(pg: PgCluster, buses: list[PostgresBus]) -> None:
    import asyncpg

    a, _ = buses
    async with a.subscribe() as on_a:
        conn = await asyncpg.connect(pg.url)
        try:
            await conn.execute("SELECT pg_notify('guichet_events', 'not json')")
        finally:
            await conn.close()
        await a.publish({"kind": "ticket.moved", "ticket_id": 5})
        assert await receive(on_a) == {"kind": "ticket.moved", "ticket_id": 5}
        assert on_a.queue.empty()


async def test_publishing_after_stop_is_refused(pg: PgCluster) -> None:
    bus = PostgresBus(pg.url)
    await bus.start()
    assert bus.connected
    await bus.stop()
    assert not bus.connected
    with pytest.raises(BusUnavailable):
        await bus.publish({"kind": "ticket.moved", "ticket_id": 6})
