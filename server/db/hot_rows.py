"""Counter rows that every change adds to (the board's counters, the report and SLA tallies),
written at the end of the change's transaction, in one statement on PostgreSQL.

Many changes add to the same few rows (one status, one establishment, one hour), and a row
written stays locked until the commit: written first, it kept every concurrent change waiting
for all the statements the transaction ran after it (on PostgreSQL at 16 clients, ticket
creations waited up to 1.6 s, p99). Inside :func:`server.db.engine.write_transaction` the
deltas are summed per table and written just before the commit, tables in one fixed order
and keys sorted by each writer, so two changes never wait on each other in opposite orders.
Outside one (the bulk loader, the demo) they are written at once.

On PostgreSQL the upserts of every table go as one statement (data-modifying common table
expressions): written one by one, five or six round trips, each resumed only when the
server's event loop came back to the request, kept the rows locked that long, and the
others' changes queued behind them (at 16 clients creating tickets, half the sessions sampled
were waiting on such a row). SQLite has a single writer: nobody waits on its rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from piccolo.querystring import QueryString

# A table's writer: the upserts (already summed per key) that add ``deltas`` to its rows.
Statements = Callable[[Counter[Any]], list[QueryString]]
_Pending = dict[str, tuple[Statements, Counter[Any]]]

_PENDING: ContextVar[_Pending | None] = ContextVar("hot_rows", default=None)


async def add(table: str, deltas: Counter[Any], statements: Statements) -> None:
    """Add ``deltas`` to ``table``'s rows through ``statements``: at the commit inside a
    write transaction, at once outside one."""
    pending = _PENDING.get()
    if pending is None:
        await _run(statements(deltas))
        return
    _, summed = pending.setdefault(table, (statements, Counter()))
    summed.update(deltas)  # adds, negative deltas included


def collecting() -> bool:
    return _PENDING.get() is not None


def start() -> Token[_Pending | None]:
    return _PENDING.set({})


def stop(token: Token[_Pending | None]) -> None:
    _PENDING.reset(token)


async def write_pending() -> None:
    """Write what the transaction summed, table by table in name order; keys that came back
    to zero are left alone by the writers."""
    pending = _PENDING.get() or {}
    batch = [
        statement
        for table in sorted(pending)
        if any(pending[table][1].values())
        for statement in pending[table][0](pending[table][1])
    ]
    pending.clear()
    await _run(batch)


async def _run(batch: list[QueryString]) -> None:
    from server.db.engine import engine  # which imports this module

    db = engine()
    if db.engine_type != "postgres" or len(batch) < 2:
        for statement in batch:
            await db.run_querystring(statement)
        return
    # PostgreSQL runs the expressions nobody reads once the main query is done, last one
    # first: listed backwards, they take their rows in the batch's order, the same for
    # every change (each writer sorts its keys), so two changes never wait in a cycle.
    ctes = ", ".join(f"hot_{i} AS ({{}})" for i in range(len(batch)))
    await db.run_querystring(QueryString(f"WITH {ctes} SELECT 1", *reversed(batch)))
