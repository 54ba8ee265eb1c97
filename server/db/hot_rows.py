"""Counter rows that every change adds to (the board's counters, the report and SLA tallies),
written at the end of the change's transaction.

Many changes add to the same few rows (one status, one establishment, one hour), and a row
written stays locked until the commit: written first, it kept every concurrent change waiting
for all the statements the transaction ran after it (on PostgreSQL at 16 clients, ticket
creations waited up to 1.6 s, p99). Inside :func:`server.db.engine.write_transaction` the
deltas are summed per table and written just before the commit, tables in one fixed order
and keys sorted by each writer, so two changes never wait on each other in opposite orders.
Outside one (the bulk loader, the demo) they are written at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from typing import Any

Write = Callable[[Counter[Any]], Awaitable[None]]

_PENDING: ContextVar[dict[str, tuple[Write, Counter[Any]]] | None] = ContextVar(
    "hot_rows", default=None
)


async def add(table: str, deltas: Counter[Any], write: Write) -> None:
    """Add ``deltas`` to ``table``'s rows, through ``write`` (one upsert of summed deltas)."""
    pending = _PENDING.get()
    if pending is None:
        await write(deltas)
        return
    _, summed = pending.setdefault(table, (write, Counter()))
    summed.update(deltas)  # adds, negative deltas included


def collecting() -> bool:
    return _PENDING.get() is not None


def start() -> Token[dict[str, tuple[Write, Counter[Any]]] | None]:
    return _PENDING.set({})


def stop(token: Token[dict[str, tuple[Write, Counter[Any]]] | None]) -> None:
    _PENDING.reset(token)


async def write_pending() -> None:
    """Write what the transaction summed, table by table in name order; keys that came back
    to zero are left alone by the writers."""
    pending = _PENDING.get() or {}
    for table in sorted(pending):
        write, summed = pending[table]
        if any(summed.values()):
            await write(summed)
    pending.clear()
