"""Transactions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.sqlite import TransactionType

from server.db.tables import Ticket


def engine() -> Engine:
    return Ticket._meta.db


def write_transaction() -> Any:
    """A write transaction. On SQLite it is IMMEDIATE: a DEFERRED one that reads then writes
    fails with "database is locked" under concurrency instead of waiting its turn."""
    db = engine()
    if db.engine_type == "sqlite":
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


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
    elif pool:
        await db.start_connection_pool()


async def stop(pool: bool) -> None:
    db = engine()
    if db.engine_type == "postgres" and pool:
        await db.close_connection_pool()
