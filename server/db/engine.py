"""Transactions and connections that behave the same on SQLite and PostgreSQL.

A unit of work (an HTTP request, a websocket render, a background pass) runs inside
:func:`db_session`: its statements share one connection (see ``server.db.connections``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import TransactionType

from server.db import hot_rows, planner_stats
from server.db.connections import Lease, lease_for, recording
from server.db.tables import Ticket

__all__ = ["db_session", "engine", "ping", "recording", "start", "stop", "write_transaction"]


def engine() -> Engine:
    return Ticket._meta.db


@asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A write transaction. On SQLite it is IMMEDIATE: a DEFERRED one that reads then writes
    fails with "database is locked" under concurrency instead of waiting its turn. Counter
    rows many changes share are written last, just before the commit (``db.hot_rows``); a
    write transaction opened inside another leaves them to the outer one."""
    db = engine()
    if db.engine_type == "sqlite":
        transaction = db.transaction(transaction_type=TransactionType.immediate)
    else:
        transaction = db.transaction()
    async with transaction:
        if hot_rows.collecting():
            yield
            return
        token = hot_rows.start()
        try:
            yield
            await hot_rows.write_pending()
        finally:
            hot_rows.stop(token)


def db_session(label: str = "") -> AbstractAsyncContextManager[Lease]:
    """One connection for the enclosed work; inside another session, that one is reused.
    ``label`` names the work for statement counts (``connections.observing``)."""
    return lease_for(engine(), label)


async def ping() -> bool:
    try:
        await engine().run_ddl("SELECT 1")
    except Exception:
        return False
    return True


async def start(pool: bool) -> None:
    db = engine()
    if db.engine_type == "sqlite":
        # WAL lets readers proceed while one writer commits; the setting persists in the file.
        await db.run_ddl("PRAGMA journal_mode=WAL")
        # Before any connection of the pool reads them: an ANALYZE's statistics undone.
        await planner_stats.keep_pinned(db)
    if pool:
        await db.start_connection_pool()


async def stop(pool: bool) -> None:
    if pool:
        await engine().close_connection_pool()
