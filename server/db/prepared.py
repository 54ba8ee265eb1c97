"""Fixed-shape queries compiled to SQL once and re-run with new values.

Building a Piccolo select is Python work proportional to its columns and joins: about a
millisecond for a whole ticket row, more than running it. The queries every request or every
ticket change runs (the ticket row, its shares, the session) are built once per engine from a
sample call, then run directly on the current connection with the caller's values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from piccolo.query.base import Query
from piccolo.querystring import QueryString

from server.db.tables import Ticket


class Prepared:
    """``build(*sample)`` is a Piccolo query (or a ``QueryString`` for SQL Piccolo cannot
    build); each sample value must be distinct and appear as a bound parameter of the
    compiled SQL. Other parameters are kept as constants."""

    __slots__ = ("_build", "_compiled", "_sample")

    def __init__(self, build: Callable[..., Query[Any, Any] | QueryString], *sample: Any) -> None:
        self._build = build
        self._sample = sample
        self._compiled: dict[str, tuple[str, list[tuple[bool, Any]]]] = {}

    def _compile(self, engine_type: str) -> tuple[str, list[tuple[bool, Any]]]:
        query = self._build(*self._sample)
        querystring = query if isinstance(query, QueryString) else query.querystrings[0]
        sql, params = querystring.compile_string(engine_type=engine_type)
        slots: list[tuple[bool, Any]] = []
        used = set()
        for value in params:
            index = next(
                (i for i, s in enumerate(self._sample) if type(s) is type(value) and s == value),
                None,
            )
            if index is None:
                slots.append((False, value))
            else:
                used.add(index)
                slots.append((True, index))
        if len(used) != len(self._sample):
            raise ValueError(f"sample values not found as parameters in: {sql}")
        return sql, slots

    async def rows(self, *args: Any) -> list[dict[str, Any]]:
        db: Any = Ticket._meta.db
        compiled = self._compiled.get(db.engine_type)
        if compiled is None:
            compiled = self._compiled[db.engine_type] = self._compile(db.engine_type)
        sql, slots = compiled
        return await db.run_sql(sql, [args[v] if is_arg else v for is_arg, v in slots])

    async def first(self, *args: Any) -> dict[str, Any] | None:
        found = await self.rows(*args)
        return found[0] if found else None


SAMPLE_ID = 987_654_321  # a sample id no real row is expected to need at compile time
SAMPLE_MOMENT = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)  # a sample timestamp, likewise


class Slots:
    """The values of a query whose shape varies (which clauses, how many ids): each value is
    replaced by a distinct sample as the shape is described, so that equal shapes compare
    equal and key one :class:`Prepared` (``samples()``); ``values`` then run it."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: int) -> int:
        self.values.append(value)
        return SAMPLE_ID + len(self.values) - 1

    def ids(self, ids: frozenset[int]) -> frozenset[int]:
        return frozenset(self(i) for i in sorted(ids))

    def samples(self) -> tuple[int, ...]:
        return tuple(SAMPLE_ID + k for k in range(len(self.values)))


class PreparedIn:
    """``build(ids)``, a query on a list of ids, compiled once per length of the list (pages
    show a few dozen rows at most). Longer lists are built each time: one compiled statement
    per length would pile up."""

    __slots__ = ("_build", "_by_length", "_leading")

    LONGEST = 100

    def __init__(
        self, build: Callable[..., Query[Any, Any]], leading: tuple[Any, ...] = ()
    ) -> None:
        """``leading``: samples of values the query takes before the list, if any (as for
        :class:`Prepared`, each distinct and a bound parameter); ``rows`` takes them first."""
        self._build = build
        self._leading = leading
        self._by_length: dict[int, Prepared] = {}

    async def rows(self, *values: Any) -> list[dict[str, Any]]:
        *lead, ids = values
        if len(ids) > self.LONGEST:
            return await self._build(*lead, list(ids))
        prepared = self._by_length.get(len(ids))
        if prepared is None:
            n = len(self._leading)
            samples = tuple(SAMPLE_ID + k for k in range(len(ids)))
            prepared = Prepared(
                lambda *v: self._build(*v[:n], list(v[n:])), *self._leading, *samples
            )
            self._by_length[len(ids)] = prepared
        return await prepared.rows(*lead, *ids)


_ID = SAMPLE_ID

# The whole ticket row, read by every ticket change (load, notifications, event).
TICKET_ROW = Prepared(lambda i: Ticket.select().where(Ticket.id == i).first(), _ID)


def _shares(ticket_id: int) -> Query[Any, Any]:
    from server.db.tables import TicketShare

    return TicketShare.select(TicketShare.user).where(TicketShare.ticket == ticket_id)


TICKET_SHARES = Prepared(_shares, _ID)


# The same row locked to the commit (PostgreSQL): a change that must wait for the ones before
# it (a follow-up never conflicts, it queues) reads the row they committed, in one statement.
TICKET_ROW_LOCKED = Prepared(
    lambda i: Ticket.select().where(Ticket.id == i).lock_rows().first(), _ID
)


async def ticket_row(ticket_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The whole row; ``lock``: held to the commit on PostgreSQL (SQLite's write transaction
    already admits one writer at a time)."""
    if lock and Ticket._meta.db.engine_type == "postgres":
        return await TICKET_ROW_LOCKED.first(ticket_id)
    return await TICKET_ROW.first(ticket_id)


async def ticket_shares(ticket_id: int) -> frozenset[int]:
    """People the ticket is shared with by name."""
    return frozenset(r["user"] for r in await TICKET_SHARES.rows(ticket_id))


class PreparedInsert:
    """``INSERT`` of any number of rows into fixed columns, its SQL made once per engine and
    row count: building Piccolo table instances for each recipient of a notice cost more
    Python than the statement. Values go as given (plain ints, strings, datetimes, None).
    ``returning``: columns the statement gives back, one row per row inserted."""

    __slots__ = ("_chunk", "_columns", "_names", "_returning", "_sql", "_table")

    # 500 rows per statement: well under either engine's limit of bound values.
    def __init__(
        self,
        table: type[Any],
        columns: tuple[str, ...],
        chunk: int = 500,
        returning: tuple[str, ...] = (),
    ) -> None:
        self._table = table
        self._columns = columns
        self._names = frozenset(columns)
        self._chunk = chunk
        self._returning = returning
        self._sql: dict[tuple[str, int], str] = {}

    def _compile(self, engine_type: str, n: int) -> str:
        width = len(self._columns)
        if engine_type == "postgres":
            groups = (
                "(" + ", ".join(f"${row * width + k + 1}" for k in range(width)) + ")"
                for row in range(n)
            )
        else:
            groups = ("(" + ", ".join("?" * width) + ")" for _ in range(n))
        names = ", ".join(f'"{name}"' for name in self._columns)
        table = self._table._meta.tablename
        back = ", ".join(f'"{name}"' for name in self._returning)
        # Our table and column names only; every value is bound.
        return f'INSERT INTO "{table}" ({names}) VALUES {", ".join(groups)}' + (  # noqa: S608
            f" RETURNING {back}" if back else ""
        )

    async def run(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Insert ``rows`` (values in the order of the columns); the ``returning`` columns
        of the rows inserted (nothing without ``returning``)."""
        db: Any = self._table._meta.db
        back: list[dict[str, Any]] = []
        for start in range(0, len(rows), self._chunk):
            chunk = rows[start : start + self._chunk]
            key = (db.engine_type, len(chunk))
            sql = self._sql.get(key)
            if sql is None:
                sql = self._sql[key] = self._compile(*key)
            found = await db.run_sql(sql, [value for row in chunk for value in row])
            if self._returning:
                back += found
        return back

    async def one(self, values: dict[str, Any]) -> dict[str, Any]:
        """Insert one row given by column name: every column of the statement, no other (a
        column added to the table and forgotten here fails at once, not with a default)."""
        if values.keys() != self._names:
            raise ValueError(f"columns differ: {sorted(values.keys() ^ self._names)}")
        rows = await self.run([tuple(values[name] for name in self._columns)])
        return rows[0] if rows else {}


_PLAIN = frozenset({int, str, float, bool, datetime, type(None)})  # exact types, no enums
_UPDATES: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}


def _update_sql(engine_type: str, names: tuple[str, ...], returning: tuple[str, ...]) -> str:
    marks = iter(f"${i}" if engine_type == "postgres" else "?" for i in range(1, len(names) + 4))
    assignments = [f'"{name}" = {next(marks)}' for name in names]
    assignments += ['"version" = "version" + 1', f'"updated_at" = {next(marks)}']
    where = f'"id" = {next(marks)} AND "version" = {next(marks)}'
    back = ", ".join(f'"{name}"' for name in returning)
    # Our table and column names only; every value is bound.
    return (
        f'UPDATE "{Ticket._meta.tablename}" SET {", ".join(assignments)}'  # noqa: S608
        f" WHERE {where} RETURNING {back}"
    )


async def versioned_ticket_update(
    values: dict[Any, Any],
    ticket_id: int,
    expected_version: int,
    now: datetime,
    returning: tuple[Any, ...],
) -> list[dict[str, Any]]:
    """``values`` (columns to plain values) written if the ticket is still at
    ``expected_version``, the version bumped and ``updated_at`` stamped; the ``returning``
    columns of the row after, or nothing. The SQL is made once per engine and set of columns
    (a Piccolo update cost more Python than its statement); values that are not plain go
    through Piccolo."""
    if not all(type(value) in _PLAIN for value in values.values()):
        return await (
            Ticket.update({**values, Ticket.version: Ticket.version + 1, Ticket.updated_at: now})
            .where((Ticket.id == ticket_id) & (Ticket.version == expected_version))
            .returning(*returning)
        )
    db: Any = Ticket._meta.db
    names = tuple(column._meta.db_column_name for column in values)
    back = tuple(column._meta.db_column_name for column in returning)
    key = (db.engine_type, names, back)
    sql = _UPDATES.get(key)
    if sql is None:
        sql = _UPDATES[key] = _update_sql(*key)
    return await db.run_sql(sql, [*values.values(), now, ticket_id, expected_version])
