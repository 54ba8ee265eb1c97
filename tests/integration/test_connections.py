"""Connections as a running server uses them (pool on): one per unit of work, persistent
SQLite connections with one writer taken in turn, and concurrent writers that all succeed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
import pytest

from server.db import engine as db
from server.db.connections import PG_POOL_MAX, current_lease
from server.db.tables import FollowUp, HistoryEntry, Ticket
from server.domain.forms import parse_follow_up, parse_new_ticket
from server.domain.vocabulary import Status
from server.services import tickets
from tests import factories
from tests.conftest import IS_POSTGRES

CLIENTS = 16


@pytest.fixture
async def pooled() -> AsyncIterator[None]:
    await db.start(pool=True)
    try:
        yield
    finally:
        await db.stop(pool=True)


async def test_concurrent_writers_all_succeed_on_bounded_connections(
    pooled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await factories.world()
    threads_before = threading.active_count()
    opened: list[object] = []
    real_connect = aiosqlite.connect

    def counting_connect(*args: object, **kwargs: object) -> aiosqlite.Connection:
        opened.append(args)
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(aiosqlite, "connect", counting_connect)
    ids = [await factories.ticket(w.requester_a, title=f"Poste {i}") for i in range(CLIENTS)]

    async def client(i: int) -> None:
        # As a request does: one session for the whole use case and the reads around it.
        async with db.db_session():
            new_id, _ = await tickets.open_ticket(
                w.requester_a, parse_new_ticket({"title": f"Écran {i}", "description": "noir"})
            )
            row = await Ticket.select(Ticket.version).where(Ticket.id == ids[i]).first()
            await tickets.move(w.tech, ids[i], Status.ASSIGNED, row["version"])
            await tickets.add_follow_up(
                w.tech, ids[i], parse_follow_up({"text": "En cours"}, may_be_private=True)
            )
            assert await Ticket.exists().where(Ticket.id == new_id)

    results = await asyncio.gather(*(client(i) for i in range(CLIENTS)), return_exceptions=True)
    assert [r for r in results if r is not None] == []
    assert await Ticket.count() == 2 * CLIENTS
    assert await FollowUp.count() == CLIENTS
    assert await Ticket.count().where(Ticket.status == Status.ASSIGNED.value) == CLIENTS
    assert await HistoryEntry.count().where(HistoryEntry.field == "status") == CLIENTS
    # No connection (and no thread, on SQLite) per query or per request: the pool's
    # connections were opened at start.
    assert opened == []
    # Reads of unknown cost and commits use the loop's executor: a few threads, reused.
    assert threading.active_count() <= threads_before + 8
    pool = getattr(db.engine(), "pool", None)
    if pool is not None:
        assert pool.get_size() <= PG_POOL_MAX


async def test_a_session_keeps_one_connection_and_ends_with_its_work(pooled: None) -> None:
    await factories.world()
    async with db.db_session() as lease:
        await Ticket.count()
        connection = lease.connection
        async with db.write_transaction():
            await Ticket.count()
        await Ticket.count()
        assert lease.connection is connection
        assert lease.statements >= 3
        assert current_lease() is lease
    assert lease.closed and current_lease() is None


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's single-writer lock")
async def test_waiting_for_the_sqlite_lock_does_not_block_the_loop() -> None:
    """Statements run on the loop's thread: one that must wait for another connection's
    write lock waits asynchronously, so the holder (often on the same loop) can finish."""
    sqlite: Any = db.engine()
    holder, waiter = sqlite._open(), sqlite._open()
    try:
        await holder.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(waiter.execute("BEGIN IMMEDIATE"))
        for _ in range(20):  # the loop keeps turning while the second one waits
            await asyncio.sleep(0.01)
        assert not waiting.done()
        await holder.execute("INSERT INTO config_generation (id, value) VALUES (2, 0)")
        await holder.execute("COMMIT")
        await asyncio.wait_for(waiting, timeout=30)
        rows = await waiter.execute("SELECT value FROM config_generation WHERE id = 2")
        assert rows == [{"value": 0}]
        await waiter.execute("ROLLBACK")
    finally:
        await holder.close()
        await waiter.close()


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite statements run in threads")
async def test_a_cancelled_read_leaves_its_connection_usable_then_closable() -> None:
    """A websocket closing cancels its render mid-query: the statement still running in its
    thread must end before the connection is reused or closed (closing it under the thread
    crashed the process)."""
    sqlite: Any = db.engine()
    connection = sqlite._open()
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
        "SELECT count(*) AS c FROM n"
    )
    for _ in range(5):
        task = asyncio.create_task(connection.execute(slow, thread=True))
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await connection.execute("SELECT 1 AS one") == [{"one": 1}]
    await connection.close()


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's one writer connection")
async def test_a_transaction_that_cannot_begin_gives_the_writer_back(pooled: None) -> None:
    """A transaction cancelled while its BEGIN waits for SQLite's lock (held here by another
    connection, as another process would) must give the writer back: every later
    transaction would wait forever."""
    await factories.world()
    sqlite: Any = db.engine()
    other_process = sqlite._open()
    await other_process.execute("BEGIN IMMEDIATE")
    waiting = asyncio.create_task(_begin_elsewhere())
    await asyncio.sleep(0.1)
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await other_process.execute("ROLLBACK")
    await other_process.close()
    for _ in range(3):
        async with asyncio.timeout(10):
            async with db.write_transaction():
                await Ticket.count()


async def _begin_elsewhere() -> None:
    async with db.write_transaction():
        await Ticket.count()


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's one writer connection")
async def test_the_writer_is_handed_on_without_waiting_for_the_loop(pooled: None) -> None:
    """A write transaction keeps the one writer until its COMMIT returns. A COMMIT sent to
    a thread let every callback already queued on the loop run before the transaction
    ended and the next writer could start (the writer stayed held 3-4 times its own work
    with a dozen requests in flight). The pool's COMMIT runs in place: nothing else runs
    between the transaction's last statement and the writer's release."""
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    ticks = 0
    stop = asyncio.Event()

    async def other_work() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    busy = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    sqlite: Any = db.engine()
    stats = sqlite.writer_stats
    stats.reset()
    try:
        for _ in range(5):
            async with db.write_transaction():
                await Ticket.update({Ticket.title: "Écran noir"}).where(Ticket.id == ticket_id)
                seen = ticks
            assert ticks == seen  # the COMMIT did not let the other task run
        # A write outside a transaction commits as it runs: the same.
        seen = ticks
        await Ticket.update({Ticket.title: "Écran noir"}).where(Ticket.id == ticket_id)
        assert ticks == seen
    finally:
        stop.set()
        await busy
    assert ticks > 0
    assert stats.count == 6
    assert "writer transactions=6 " in stats.summary()
    assert (await Ticket.select(Ticket.title).where(Ticket.id == ticket_id).first()) == {
        "title": "Écran noir"
    }


async def test_postgresql_compiles_no_statement(pooled: None) -> None:
    """No JIT on Guichet's connections, pooled or not: compiling a statement PostgreSQL
    guesses costly took 47 ms of a 51 ms search (server.db.connections)."""
    if not IS_POSTGRES:
        return  # SQLite has no such compiler
    async with db.db_session():
        pooled_setting = await db.engine().run_ddl("SHOW jit")
    connection = await db.engine().get_new_connection()  # one of its own, as the CLI's
    try:
        own_setting = await connection.fetchval("SHOW jit")
    finally:
        await connection.close()
    assert [dict(row) for row in pooled_setting] == [{"jit": "off"}]
    assert own_setting == "off"


async def _plan_mode() -> str:
    return (await db.engine().run_ddl("SHOW plan_cache_mode"))[0]["plan_cache_mode"]


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's plan cache")
async def test_generic_plans_hold_for_their_block_of_a_lease_and_never_beyond(
    pooled: None,
) -> None:
    """The search's statements run their generic plans (``generic_plans``); the lease's
    other statements, those after a failure inside the block, and the next user of the
    connection keep PostgreSQL's own choice; inside a transaction nothing changes."""

    class Failed(Exception):
        pass

    async def fail_inside() -> None:
        async with db.engine().generic_plans():
            assert await _plan_mode() == "force_generic_plan"
            raise Failed()

    async with db.db_session():
        assert await _plan_mode() == "auto"
        async with db.engine().generic_plans():
            assert await _plan_mode() == "force_generic_plan"
        assert await _plan_mode() == "auto"
        with pytest.raises(Failed):
            await fail_inside()
        assert await _plan_mode() == "auto"
        async with db.write_transaction(), db.engine().generic_plans():
            assert await _plan_mode() == "auto"
    # A setting left behind (a block that never ended) goes with the lease: the pool resets
    # the connection it gets back.
    async with db.db_session() as lease:
        await db.engine().run_ddl("SET plan_cache_mode = force_generic_plan")
        left = (await lease.get()).get_server_pid()
    reused = False
    for _ in range(2 * PG_POOL_MAX):
        async with db.db_session() as lease:
            reused = reused or (await lease.get()).get_server_pid() == left
            assert await _plan_mode() == "auto"
    assert reused


async def _last_statement_of(pid: int) -> str:
    """What the backend ``pid`` last ran, read on a connection of its own."""
    connection = await db.engine().get_new_connection()
    try:
        for _ in range(200):  # the view is updated when the backend reports: wait for it
            row = await connection.fetchrow(
                "SELECT state, query FROM pg_stat_activity WHERE pid = $1", pid
            )
            if row is not None and row["state"] == "idle":
                return str(row["query"])
            await asyncio.sleep(0.01)
        raise AssertionError(f"backend {pid} never went idle")
    finally:
        await connection.close()


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's pool")
async def test_a_connection_comes_back_to_the_pool_without_a_reset_unless_a_setting_changed(
    pooled: None,
) -> None:
    """asyncpg resets every connection it gets back (advisory locks, cursors, LISTEN,
    settings), a round trip on each request's way to its response. Guichet's pool resets only
    a connection whose settings a statement changed; a transaction left open is still rolled
    back."""
    async with db.db_session() as lease:
        await Ticket.select(Ticket.id).where(Ticket.id == 1)
        plain = (await lease.get()).get_server_pid()
    assert "RESET" not in await _last_statement_of(plain)
    async with db.db_session() as lease:
        await db.engine().run_ddl("SET statement_timeout = '7s'")
        changed = (await lease.get()).get_server_pid()
    assert await _last_statement_of(changed) == "RESET ALL"
    async with db.db_session() as lease:
        connection = await lease.get()
        opened = connection.get_server_pid()
        await connection.execute("BEGIN")
    assert await _last_statement_of(opened) == "ROLLBACK"


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's one writer connection")
async def test_a_read_with_common_table_expressions_does_not_wait_for_the_writer(
    pooled: None,
) -> None:
    """A search's statement begins with WITH: it is read on a reader connection while a
    write transaction holds the writer (taken for a write, it waited for the writer and then
    ran on the loop's thread). One that writes after its WITH still takes the writer."""
    from piccolo.querystring import QueryString

    from server.db.connections import _is_read

    assert _is_read("WITH t AS (SELECT 1 AS one) SELECT one FROM t")
    assert _is_read("  with recursive n(i) AS (SELECT 1) SELECT updated_at FROM n")
    assert not _is_read("WITH old AS (SELECT 1) DELETE FROM ticket WHERE id IN old")
    assert not _is_read("WITH n AS (SELECT 2) INSERT INTO config_generation SELECT 2, 0")
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.db_session(), db.write_transaction():
            await Ticket.count()
            holding.set()
            await release.wait()

    held = asyncio.create_task(writer())
    await asyncio.wait_for(holding.wait(), timeout=30)
    try:
        async with db.db_session():
            rows = await asyncio.wait_for(
                db.engine().run_querystring(
                    QueryString("WITH t AS (SELECT 41 + {} AS n) SELECT n FROM t", 1)
                ),
                timeout=30,
            )
        assert rows == [{"n": 42}]
        assert not held.done()  # the writer was held all along
    finally:
        release.set()
        await held
