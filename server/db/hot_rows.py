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

import re
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
    await _run(batch, at_commit=True)


async def _run(batch: list[QueryString], at_commit: bool = False) -> None:
    from server.db.engine import engine  # which imports this module

    db = engine()
    if db.engine_type != "postgres" or not batch:
        for statement in batch:
            await db.run_querystring(statement)
        return
    # PostgreSQL runs the expressions nobody reads once the main query is done, last one
    # first: listed backwards, they take their rows in the batch's order, the same for
    # every change (each writer sorts its keys), so two changes never wait in a cycle.
    ctes = ", ".join(f"hot_{i} AS ({{}})" for i in range(len(batch)))
    statement = (
        batch[0] if len(batch) == 1 else QueryString(f"WITH {ctes} SELECT 1", *reversed(batch))
    )
    # The transaction's last statement goes with its COMMIT, in one message (see
    # connections.LeasedPostgresTransaction): the rows stay locked for the commit only.
    finish = getattr(db.current_transaction.get(), "finish_with", None)
    sql = with_literals(statement) if at_commit and finish is not None else None
    if sql is None:
        await db.run_querystring(statement)
        return
    finish(sql)


# What a counter key holds: numbers, flags, NULL and short names of the code's own (statuses,
# measures). Anything else keeps its statement apart, with parameters.
_NAME = re.compile(r"[A-Za-z0-9_.:-]*")
_PLACEHOLDER = re.compile(r"\$(\d+)")


def _literal(value: Any) -> str | None:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str) and _NAME.fullmatch(value):
        return f"'{value}'"
    return None


def with_literals(statement: QueryString) -> str | None:
    """``statement`` for PostgreSQL with its values written in (a simple query takes no
    parameters), or None when one of them is not a plain number, flag or name."""
    sql, args = statement.compile_string(engine_type="postgres")
    literals = [_literal(value) for value in args]
    if any(literal is None for literal in literals):
        return None
    return _PLACEHOLDER.sub(lambda m: str(literals[int(m.group(1)) - 1]), sql)
