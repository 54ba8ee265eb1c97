"""Ticket counters: exact per-status counts without reading the ticket table.

Every change of a ticket's counted fields goes through :func:`apply`, in the transaction of
the change, so the counters are exactly as committed. Two grains are kept:
``TicketCounter`` for the board (every field the board filters on and the access policy
reads, plus the day a ticket closed) and ``TicketTally`` for /overview (establishment,
group, assignee).

Access branches that depend on people (a requester's own tickets, tickets shared by name)
cannot be counted in advance; they are counted on the ticket table through their own index
(``requester``, ``ticket_share.user``), excluding what the counters already cover, so the
sum stays exact and cheap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count, Sum
from piccolo.querystring import QueryString

from server.db import hot_rows
from server.db.counter_tables import TicketCounter, TicketTally
from server.db.tables import Ticket, TicketShare
from server.domain.actors import Actor
from server.domain.permissions import Visibility, visibility
from server.domain.vocabulary import Status

# Fields of a ticket that counters are keyed by: a change of any of them moves a count.
KEY_COLUMNS = (
    Ticket.status,
    Ticket.closed_at,
    Ticket.establishment,
    Ticket.assigned_group,
    Ticket.assignee,
    Ticket.category,
    Ticket.priority_rank,
    Ticket.shared,
)
KEY_NAMES = tuple(column._meta.name for column in KEY_COLUMNS)
_KEY_NAMES = frozenset(KEY_NAMES)
# Above any real day, so "closed on or after day D, or not closed" is one range.
NOT_CLOSED = 10_000_000
DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

BoardKey = tuple[str, int, int, int, int, int, int, bool]
TallyKey = tuple[str, int, int, int]


def day_of(moment: datetime) -> int:
    return (moment - EPOCH) // DAY


def start_of_day(day: int) -> datetime:
    return EPOCH + day * DAY


def closed_day(status: str, closed_at: datetime | None) -> int:
    if status != Status.CLOSED.value:
        return NOT_CLOSED
    return day_of(closed_at) if closed_at is not None else 0


def board_key(row: dict[str, Any]) -> BoardKey:
    return (
        row["status"],
        closed_day(row["status"], row["closed_at"]),
        row["establishment"],
        row["assigned_group"] or 0,
        row["assignee"] or 0,
        row["category"] or 0,
        row["priority_rank"],
        bool(row["shared"]),
    )


def tally_key(row: dict[str, Any]) -> TallyKey:
    return (row["status"], row["establishment"], row["assigned_group"] or 0, row["assignee"] or 0)


def changes_keys(values: Iterable[Any]) -> bool:
    """Does an update with these columns move a ticket between counters?"""
    return any(
        getattr(column, "_meta", None) and column._meta.name in _KEY_NAMES for column in values
    )


async def keys_before(ticket_id: int, values: Iterable[Any]) -> dict[str, Any] | None:
    """The counted fields of a ticket about to be updated with ``values`` (None when the
    update leaves them alone: nothing to read, nothing to apply)."""
    if not changes_keys(values):
        return None
    return await Ticket.select(*KEY_COLUMNS).where(Ticket.id == ticket_id).first()


_BOARD_INSERT = (
    "INSERT INTO ticket_counter (status, closed_day, establishment, assigned_group, assignee,"
    " category, priority_rank, shared, n) VALUES "
)
_BOARD_ROW = "({}, {}, {}, {}, {}, {}, {}, {}, {})"
_BOARD_CONFLICT = (
    " ON CONFLICT (status, closed_day, establishment, assigned_group, assignee, category,"
    " priority_rank, shared) DO UPDATE SET n = ticket_counter.n + excluded.n"
)
_TALLY_INSERT = (
    "INSERT INTO ticket_tally (status, establishment, assigned_group, assignee, n) VALUES "
)
_TALLY_ROW = "({}, {}, {}, {}, {})"
_TALLY_CONFLICT = (
    " ON CONFLICT (status, establishment, assigned_group, assignee)"
    " DO UPDATE SET n = ticket_tally.n + excluded.n"
)


async def apply(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Move one ticket's count from its old keys to its new ones. ``before`` is None for a
    new ticket, ``after`` None for a removed one; rows need the fields of KEY_COLUMNS.
    Must run inside the transaction that changes the ticket."""
    await apply_many([before] if before else [], [after] if after else [])


def _upserts(insert: str, row: str, conflict: str, deltas: Counter[Any]) -> list[QueryString]:
    """One statement for every key whose count moves: a change is two keys (-1 and +1)."""
    keys = [key for key in sorted(deltas) if deltas[key]]
    statements = []
    for start in range(0, len(keys), _ROWS_PER_STATEMENT):
        chunk = keys[start : start + _ROWS_PER_STATEMENT]
        sql = insert + ", ".join([row] * len(chunk)) + conflict
        statements.append(QueryString(sql, *[v for key in chunk for v in (*key, deltas[key])]))
    return statements


# Rows per upsert: well under SQLite's bound-parameter limit (9 values a row).
_ROWS_PER_STATEMENT = 100


async def apply_many(removed: list[dict[str, Any]], added: list[dict[str, Any]]) -> None:
    """:func:`apply` for many tickets at once (the bulk loader, the demo)."""
    board: Counter[BoardKey] = Counter()
    tally: Counter[TallyKey] = Counter()
    for row in removed:
        board[board_key(row)] -= 1
        tally[tally_key(row)] -= 1
    for row in added:
        board[board_key(row)] += 1
        tally[tally_key(row)] += 1
    # Rows are locked until commit: written last (db.hot_rows) and always in the same order
    # (keys sorted, a multi-row upsert takes them in its VALUES order), so two changes
    # crossing the same keys in opposite directions wait for each other instead of
    # deadlocking. The keys of one statement are distinct (a Counter's), as PostgreSQL's
    # ON CONFLICT requires.
    await hot_rows.add("ticket_counter", board, _write_board)
    await hot_rows.add("ticket_tally", tally, _write_tally)


def _write_board(deltas: Counter[Any]) -> list[QueryString]:
    return _upserts(_BOARD_INSERT, _BOARD_ROW, _BOARD_CONFLICT, deltas)


def _write_tally(deltas: Counter[Any]) -> list[QueryString]:
    return _upserts(_TALLY_INSERT, _TALLY_ROW, _TALLY_CONFLICT, deltas)


# The same keys as ``board_key`` / ``tally_key``, computed by the database: one pass of
# INSERT ... SELECT ... GROUP BY instead of every ticket through Python (30 min at 1 M).
_SQL_DAY = {
    "postgres": "floor(extract(epoch FROM closed_at) / 86400)::integer",
    # Whole seconds only: SQLite rounds fractions to the millisecond, which would put
    # 23:59:59.9995 on the next day. Piccolo stores timestamps in UTC ("...+00:00").
    "sqlite": "CAST(strftime('%s', substr(closed_at, 1, 19)) AS INTEGER) / 86400",
}
_BOARD_KEY = (
    "status, closed_day, establishment, assigned_group, assignee, category, priority_rank, shared"
)
_TALLY_KEY = "status, establishment, assigned_group, assignee"


def recount_sql(engine_type: str) -> dict[str, str]:
    """Per counter table, the statement that counts its rows from the ticket table: the key
    columns under their own names, then ``n``."""
    closed = Status.CLOSED.value
    day = (
        f"CASE WHEN status <> '{closed}' THEN {NOT_CLOSED}"
        f" ELSE COALESCE({_SQL_DAY[engine_type]}, 0) END"
    )
    board = (
        f"status, {day}, establishment, COALESCE(assigned_group, 0), COALESCE(assignee, 0),"
        " COALESCE(category, 0), priority_rank, shared"
    )
    named_board = (
        f"status, {day} AS closed_day, establishment, COALESCE(assigned_group, 0) AS"
        " assigned_group, COALESCE(assignee, 0) AS assignee, COALESCE(category, 0) AS category,"
        " priority_rank, shared"
    )
    tally = "status, establishment, COALESCE(assigned_group, 0), COALESCE(assignee, 0)"
    named_tally = (
        "status, establishment, COALESCE(assigned_group, 0) AS assigned_group,"
        " COALESCE(assignee, 0) AS assignee"
    )
    # No user input in these statements: the code's own names and numbers.
    return {
        "ticket_counter": f"SELECT {named_board}, COUNT(*) AS n FROM ticket GROUP BY {board}",  # noqa: S608
        "ticket_tally": f"SELECT {named_tally}, COUNT(*) AS n FROM ticket GROUP BY {tally}",  # noqa: S608
    }


_KEYS = {"ticket_counter": _BOARD_KEY, "ticket_tally": _TALLY_KEY}


def rebuild_sql(engine_type: str) -> list[str]:
    """The statements that refill both counter tables from the ticket table."""
    return [
        f"INSERT INTO {table} ({_KEYS[table]}, n) {select}"
        for table, select in recount_sql(engine_type).items()
    ]


async def rebuild() -> None:
    """Recount everything from the ticket table (after a bulk import), in SQL: the same
    rows :func:`apply` keeps. Run it while nothing else writes tickets, inside the caller's
    transaction if any (statements go through the table's query, not ``run_ddl``)."""
    await TicketCounter.delete(force=True)
    await TicketTally.delete(force=True)
    for sql in rebuild_sql(TicketCounter._meta.db.engine_type):
        await TicketCounter.raw(sql)


@dataclass(frozen=True, slots=True)
class Drift:
    """A counter row that a full count does not confirm (a missing row counts 0)."""

    table: str
    key: dict[str, Any]
    stored: int
    counted: int


async def drift() -> list[Drift]:
    """Every counter row that differs from a full count of the ticket table. Each table is
    compared in one statement, so from one snapshot: a change committed meanwhile never
    shows as a difference, and no transaction holds SQLite's writer or a lock."""
    found: list[Drift] = []
    for table, select in recount_sql(TicketCounter._meta.db.engine_type).items():
        keys = _KEYS[table]
        names = [name.strip() for name in keys.split(",")]
        rows = await TicketCounter.raw(
            f"SELECT {keys}, SUM(stored) AS stored, SUM(counted) AS counted FROM ("  # noqa: S608
            f"SELECT {keys}, n AS stored, 0 AS counted FROM {table} "
            f"UNION ALL SELECT {keys}, 0, n FROM ({select}) AS recount) AS both_sides "
            f"GROUP BY {keys} HAVING SUM(stored) <> SUM(counted)"
        )
        found += [
            Drift(table, {n: row[n] for n in names}, int(row["stored"]), int(row["counted"]))
            for row in rows
        ]
    return sorted(found, key=lambda d: (d.table, repr(sorted(d.key.items()))))


async def repair(found: list[Drift]) -> None:
    """Bring the rows of ``found`` to their counted values, through the change's own
    upserts (so at the commit of the caller's write transaction): each gets the difference."""
    writers = {"ticket_counter": _write_board, "ticket_tally": _write_tally}
    for table, write in writers.items():
        deltas: Counter[Any] = Counter()
        for d in found:
            if d.table == table:
                deltas[tuple(d.key.values())] += d.counted - d.stored
        if deltas:
            await hot_rows.add(table, deltas, write)


# --- reading -------------------------------------------------------------------------------


def _counted(scope: Visibility, table: Any) -> Any | None:
    """The access branches a counter table can answer, as a where-clause on it (None: none)."""
    clause: Any = None

    def either(extra: Any) -> None:
        nonlocal clause
        clause = extra if clause is None else clause | extra

    if scope.everything:
        return table.id > 0
    if scope.establishment_id is not None and table is TicketCounter:
        either((table.shared == True) & (table.establishment == scope.establishment_id))  # noqa: E712
    if scope.establishment_ids:
        either(table.establishment.is_in(sorted(scope.establishment_ids)))
    if scope.group_ids:
        either(table.assigned_group.is_in(sorted(scope.group_ids)))
    if scope.assignee_id is not None:
        either(table.assignee == scope.assignee_id)
    return clause


def _not_counted(scope: Visibility, table: Any) -> list[Any]:
    """Where-clauses on tickets excluding every ticket :func:`_counted` covers in ``table``."""
    clauses: list[Any] = []
    if scope.establishment_id is not None and table is TicketCounter:
        clauses.append((Ticket.shared == False) | (Ticket.establishment != scope.establishment_id))  # noqa: E712
    if scope.establishment_ids:
        clauses.append(Ticket.establishment.not_in(sorted(scope.establishment_ids)))
    if scope.group_ids:
        clauses.append(
            Ticket.assigned_group.is_null() | Ticket.assigned_group.not_in(sorted(scope.group_ids))
        )
    if scope.assignee_id is not None:
        clauses.append(Ticket.assignee.is_null() | (Ticket.assignee != scope.assignee_id))
    return clauses


def residual(actor: Actor, table: Any = TicketCounter) -> list[list[Any]]:
    """Where-clauses for the tickets ``actor`` sees through people-bound branches (own
    requests, named shares) and that the counters do not cover, as disjoint branches to
    count separately and add up (none: an empty list). Each branch starts from an index,
    ``ticket.requester`` or ``ticket_share.user``: joined by OR in one query, PostgreSQL
    scans the whole ticket table instead (50 ms at 100 k, linear)."""
    scope = visibility(actor)
    if scope.everything:
        return []
    rest = _not_counted(scope, table)
    branches: list[list[Any]] = []
    if scope.requester_id is not None:
        branches.append([Ticket.requester == scope.requester_id, *rest])
    if scope.shared_with_id is not None:
        named = Ticket.id.is_in(
            TicketShare.select(TicketShare.ticket).where(TicketShare.user == scope.shared_with_id)
        )
        not_own = [Ticket.requester != scope.requester_id] if scope.requester_id is not None else []
        branches.append([named, *not_own, *rest])
    return branches


def counted(actor: Actor, table: Any) -> Any | None:
    return _counted(visibility(actor), table)


def counted_in(scope: Visibility, table: Any) -> Any | None:
    """:func:`counted` for a scope (the reports compile theirs once per shape of scope)."""
    return _counted(scope, table)


async def by_establishment(
    actor: Actor, within: frozenset[int] | None
) -> dict[int, dict[str, int]]:
    """Tickets ``actor`` may see, per establishment and status (all time), from the tally."""
    counts: dict[int, dict[str, int]] = {}

    def add(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["n"]:
                per = counts.setdefault(row["establishment"], {})
                per[row["status"]] = per.get(row["status"], 0) + int(row["n"])

    branch = counted(actor, TicketTally)
    if branch is not None:
        query = TicketTally.select(
            TicketTally.establishment, TicketTally.status, Sum(TicketTally.n, alias="n")
        ).where(branch)
        if within is not None:
            query = query.where(TicketTally.establishment.is_in(sorted(within) or [0]))
        add(await query.group_by(TicketTally.establishment, TicketTally.status))
    for rest in residual(actor, TicketTally):
        query = Ticket.select(Ticket.establishment, Ticket.status, Count(Ticket.id, alias="n"))
        query = query.where(*rest)
        if within is not None:
            query = query.where(Ticket.establishment.is_in(sorted(within) or [0]))
        add(await query.group_by(Ticket.establishment, Ticket.status))
    return counts
