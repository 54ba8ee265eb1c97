"""The reports' read model, kept in the transaction of each change, and read for a period.

Each event is counted under the ticket's establishment, group, category and technician at
the moment it happened (a report of March shows who resolved what in March). Hooks:
:func:`on_change` where counters follow a ticket (``services.tickets._save``), :func:`on_open`
where a ticket is created, :func:`on_follow_up` where a follow-up is written.
"""

# ruff: noqa: S608 - the backfill's SQL is built from constants only, never from input.
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Sum
from piccolo.querystring import QueryString

from server.db import hot_rows
from server.db.counters import counted_in
from server.db.prepared import Prepared, Slots
from server.db.report_tables import (
    TicketDurationDay,
    TicketDurationTally,
    TicketHourSum,
    TicketHourTally,
)
from server.domain import report_figures as rf
from server.domain.actors import Actor
from server.domain.permissions import Visibility, visibility
from server.domain.vocabulary import Status

OPEN = frozenset(s.value for s in Status if s.is_open)
DONE = frozenset({Status.RESOLVED.value, Status.CLOSED.value})
Key = tuple[int, int, int, int, int]  # hour, establishment, group, category, technician

_HOUR_UPSERT = (
    "INSERT INTO ticket_hour_tally (hour, establishment, assigned_group, category, assignee,"
    " created, resolved, reopened, minutes) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})"
    " ON CONFLICT (hour, establishment, assigned_group, category, assignee) DO UPDATE SET"
    " created = ticket_hour_tally.created + excluded.created,"
    " resolved = ticket_hour_tally.resolved + excluded.resolved,"
    " reopened = ticket_hour_tally.reopened + excluded.reopened,"
    " minutes = ticket_hour_tally.minutes + excluded.minutes"
)
_DURATION_UPSERT = (
    "INSERT INTO ticket_duration_tally (hour, establishment, assigned_group, category,"
    " assignee, measure, bucket, n) VALUES ({}, {}, {}, {}, {}, {}, {}, {})"
    " ON CONFLICT (hour, establishment, assigned_group, category, assignee, measure, bucket)"
    " DO UPDATE SET n = ticket_duration_tally.n + excluded.n"
)

_HOUR_SUM_UPSERT = (
    "INSERT INTO ticket_hour_sum (hour, establishment, worker, created, resolved, reopened,"
    " minutes) VALUES ({}, {}, {}, {}, {}, {}, {})"
    " ON CONFLICT (hour, establishment, worker) DO UPDATE SET"
    " created = ticket_hour_sum.created + excluded.created,"
    " resolved = ticket_hour_sum.resolved + excluded.resolved,"
    " reopened = ticket_hour_sum.reopened + excluded.reopened,"
    " minutes = ticket_hour_sum.minutes + excluded.minutes"
)
_DURATION_DAY_UPSERT = (
    "INSERT INTO ticket_duration_day (day, establishment, measure, bucket, n)"
    " VALUES ({}, {}, {}, {}, {})"
    " ON CONFLICT (day, establishment, measure, bucket)"
    " DO UPDATE SET n = ticket_duration_day.n + excluded.n"
)
HOURS_A_DAY = 24


def key_of(row: dict[str, Any], moment: datetime, technician: int | None = None) -> Key:
    return (
        rf.hour_of(moment),
        row["establishment"],
        row["assigned_group"] or 0,
        row["category"] or 0,
        (row["assignee"] if technician is None else technician) or 0,
    )


_HOUR_FIELDS = ("created", "resolved", "reopened", "minutes")
# The technician of a tally row that holds time spent (0 otherwise: the hour's other rows
# fold into one group). Sums per technician stay those of every row with minutes.
_WORKER = "CASE WHEN ticket_hour_tally.minutes <> 0 THEN ticket_hour_tally.assignee ELSE 0 END"


async def _add(key: Key, **amounts: int) -> None:
    """Add to the hour's row (written with the change's other shared rows: db.hot_rows)."""
    await hot_rows.add(
        "ticket_hour_tally", Counter({(key, name): n for name, n in amounts.items()}), _write_hours
    )


async def _duration(key: Key, measure: str, seconds: float) -> None:
    deltas = Counter({(*key, measure, rf.bucket_of(seconds)): 1})
    await hot_rows.add("ticket_duration_tally", deltas, _write_durations)


def _write_hours(deltas: Counter[Any]) -> list[QueryString]:
    rows: dict[Key, Counter[str]] = {}
    sums: dict[tuple[int, int, int], Counter[str]] = {}
    for (key, name), n in deltas.items():
        rows.setdefault(key, Counter())[name] += n
        # Time spent stays with its author; the other counts need no technician.
        worker = key[4] if name == "minutes" else 0
        sums.setdefault((key[0], key[1], worker), Counter())[name] += n
    statements = []
    for key in sorted(rows):  # one order for every change: no crossed waits
        amounts = rows[key]
        if any(amounts.values()):
            fields = (amounts[f] for f in _HOUR_FIELDS)
            statements.append(QueryString(_HOUR_UPSERT, *key, *fields))
    for coarse in sorted(sums):
        amounts = sums[coarse]
        if any(amounts.values()):
            fields = (amounts[f] for f in _HOUR_FIELDS)
            statements.append(QueryString(_HOUR_SUM_UPSERT, *coarse, *fields))
    return statements


def _write_durations(deltas: Counter[Any]) -> list[QueryString]:
    days: Counter[tuple[int, int, str, int]] = Counter()
    statements = []
    for row in sorted(deltas):
        if deltas[row]:
            statements.append(QueryString(_DURATION_UPSERT, *row, deltas[row]))
            hour, establishment, *_, measure, bucket = row
            days[(hour // HOURS_A_DAY, establishment, measure, bucket)] += deltas[row]
    for day in sorted(days):
        if days[day]:
            statements.append(QueryString(_DURATION_DAY_UPSERT, *day, days[day]))
    return statements


async def on_open(row: dict[str, Any]) -> None:
    """A ticket was created (``row``: the counters' key fields and ``created_at``)."""
    await _add(key_of(row, row["created_at"]), created=1)


async def on_change(before: dict[str, Any], after: dict[str, Any], now: datetime) -> None:
    """A ticket's counted fields changed: a resolution (into resolved, or closed straight
    from an open status) or a reopening (from resolved or closed back to open) is counted."""
    was, status = before["status"], after["status"]
    if was in OPEN and status in DONE:
        key = key_of(after, now)
        await _add(key, resolved=1)
        await _duration(key, rf.RESOLUTION, (now - after["created_at"]).total_seconds())
    elif was in DONE and status in OPEN:
        await _add(key_of(after, now), reopened=1)


async def on_follow_up(
    row: dict[str, Any], author_id: int, minutes: int, first_response: bool, now: datetime
) -> None:
    """Time spent by its author; a ticket's first public answer from the desk."""
    if minutes:
        await _add(key_of(row, now, technician=author_id), minutes=minutes)
    if first_response:
        seconds = (now - row["created_at"]).total_seconds()
        await _duration(key_of(row, now, technician=author_id), rf.FIRST_RESPONSE, seconds)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportFilters:
    start_hour: int
    end_hour: int
    establishment_ids: frozenset[int] | None = None
    group_id: int | None = None
    category_id: int | None = None
    technician_id: int | None = None


@dataclass(slots=True)
class Totals:
    per_hour: dict[int, Counter[str]] = field(default_factory=dict)
    per_day: dict[date, Counter[str]] = field(default_factory=dict)  # read with a zone
    minutes_by_technician: Counter[int] = field(default_factory=Counter)
    durations: dict[str, Counter[int]] = field(default_factory=dict)


def _filters(table: Any, f: ReportFilters) -> list[Any]:
    clauses = []
    if f.establishment_ids is not None:
        clauses.append(table.establishment.is_in(sorted(f.establishment_ids) or [0]))
    if f.group_id:
        clauses.append(table.assigned_group == f.group_id)
    if f.category_id:
        clauses.append(table.category == f.category_id)
    if f.technician_id:
        clauses.append(table.assignee == f.technician_id)
    return clauses


def _hours(table: Any, start: int, end: int) -> list[Any]:
    return [table.hour >= start, table.hour < end]


def _summed_branch(scope: Visibility, table: Any) -> list[Any] | None:
    """The access branches the summed tables (per establishment) answer, as where-clauses:
    everything (none needed: the reads stay on their covering index, which an ``id``
    clause would leave), or the reader's establishments (None: no branch of theirs)."""
    if scope.everything:
        return []
    if scope.establishment_ids:
        return [table.establishment.is_in(sorted(scope.establishment_ids))]
    return None


def _rest_branch(scope: Visibility, table: Any) -> Any | None:
    """The reader's other counted branches (groups, own work), on an hourly tally, without
    what :func:`_summed_branch` covers: disjoint, so the two add up (None: nothing left)."""
    if scope.everything:
        return None
    clause: Any = None
    if scope.group_ids:
        clause = table.assigned_group.is_in(sorted(scope.group_ids))
    if scope.assignee_id is not None:
        own = table.assignee == scope.assignee_id
        clause = own if clause is None else clause | own
    if clause is not None and scope.establishment_ids:
        clause = clause & table.establishment.not_in(sorted(scope.establishment_ids))
    return clause


def _counted_clauses(scope: Visibility, table: Any) -> list[Any] | None:
    """Every counted branch on an hourly tally, as where-clauses (None: none). Everything
    needs no clause: ``counted``'s ``id > 0`` would keep the read off the covering index."""
    if scope.everything:
        return []
    branch = counted_in(scope, table)
    return None if branch is None else [branch]


def _reads_sums(scope: Visibility, f: ReportFilters) -> bool:
    """The summed tables hold establishment and hour (or day) only: they answer a report not
    narrowed by group, category or technician, for a reader who sees whole establishments."""
    narrowed = f.group_id or f.category_id or f.technician_id
    return not narrowed and _summed_branch(scope, TicketHourSum) is not None


# Each read is one statement (its branches joined by UNION ALL: a round trip and its Python
# per branch were most of the report's cost), compiled once per shape (``Prepared``): the
# scope and filters with every id replaced by a sample, which branches, the day SQL. Building
# the Piccolo selects took a millisecond of every report.


class _Slots(Slots):
    """Slots of a report's scope and filters."""

    __slots__ = ()

    def scope(self, scope: Visibility) -> Visibility:
        """The branches a tally answers (no requester or share: tallies have none)."""
        if scope.everything:
            return Visibility(everything=True)
        return Visibility(
            establishment_ids=self.ids(scope.establishment_ids),
            group_ids=self.ids(scope.group_ids),
            assignee_id=None if scope.assignee_id is None else self(scope.assignee_id),
        )

    def filters(self, f: ReportFilters) -> ReportFilters:
        """The filters, hours apart (each read takes its own)."""
        return ReportFilters(
            0,
            0,
            None if f.establishment_ids is None else self.ids(f.establishment_ids),
            self(f.group_id) if f.group_id else None,
            self(f.category_id) if f.category_id else None,
            self(f.technician_id) if f.technician_id else None,
        )


def _union(queries: list[Any]) -> QueryString:
    return QueryString(
        " UNION ALL ".join("{}" for _ in queries), *(q.querystrings[0] for q in queries)
    )


def _hour_statement(
    scope: Visibility, f: ReportFilters, start: int, end: int, days: str | None
) -> QueryString:
    t = TicketHourTally
    worker = QueryString(_WORKER)

    def hourly(branch: list[Any]) -> Any:
        return (
            t.select(
                t.hour,
                worker.as_alias("worker"),
                Sum(t.created, alias="created"),
                Sum(t.resolved, alias="resolved"),
                Sum(t.reopened, alias="reopened"),
                Sum(t.minutes, alias="minutes"),
            )
            .where(*branch, *_hours(t, start, end), *_filters(t, f))
            .group_by(t.hour, worker)
        )

    if not _reads_sums(scope, f):
        selects = [hourly(_counted_clauses(scope, t) or [])]
    else:
        s = TicketHourSum
        selects = [
            s.select(
                s.hour,
                s.worker,
                Sum(s.created, alias="created"),
                Sum(s.resolved, alias="resolved"),
                Sum(s.reopened, alias="reopened"),
                Sum(s.minutes, alias="minutes"),
            )
            .where(*(_summed_branch(scope, s) or []), *_hours(s, start, end), *_filters(s, f))
            .group_by(s.hour, s.worker)
        ]
        rest = _rest_branch(scope, t)
        if rest is not None:
            selects.append(hourly([rest]))
    if days is None:
        return _union(selects)
    # Summed per local day in the database: a month is 720 hours per worker, and reading
    # them into Python cost more than the sums.
    return QueryString(
        f"SELECT {days} AS day, worker, SUM(created) AS created, SUM(resolved) AS resolved,"
        " SUM(reopened) AS reopened, SUM(minutes) AS minutes FROM ({}) AS per_hour"
        " GROUP BY 1, 2",
        _union(selects),
    )


@lru_cache(maxsize=256)
def _hour_read(
    scope: Visibility,
    f: ReportFilters,
    start: int,
    end: int,
    days: str | None,
    samples: tuple[int, ...],
) -> Prepared:
    return Prepared(lambda *_: _hour_statement(scope, f, start, end, days), *samples)


async def _hour_rows(actor: Actor, f: ReportFilters, days: str | None) -> list[Any]:
    """(hour, worker, sums) rows: from the per-establishment sums where they answer, the rest
    from the hourly tally; a row's technician is kept apart only where it logged time. With
    ``days`` (SQL of the local day number of ``hour``), (day, worker, sums) rows instead."""
    scope = visibility(actor)
    if not _reads_sums(scope, f) and _counted_clauses(scope, TicketHourTally) is None:
        return []
    slots = _Slots()
    shape = slots.scope(scope), slots.filters(f), slots(f.start_hour), slots(f.end_hour)
    return await _hour_read(*shape, days, slots.samples()).rows(*slots.values)


def _days_sql(segments: list[tuple[int, int]]) -> str:
    """SQL of ``rf.local_day_number(hour, offset)`` with the offset in force at each hour
    (``rf.offset_segments``: integers computed here, never input)."""
    if len(segments) == 1:
        offset = str(segments[0][1])
    else:
        cases = " ".join(
            f"WHEN hour < {following[0]} THEN {current[1]}"
            for current, following in pairwise(segments)
        )
        offset = f"CASE {cases} ELSE {segments[-1][1]} END"
    return f"(hour * 60 + {offset}) / 1440"


# The parts of a duration read: the daily sums between two days, the summed branch or the
# rest of the reader's branches (``_rest_branch``) or every counted branch over some hours.
DurationPart = tuple[str, int, int]


def _duration_statement(
    scope: Visibility, f: ReportFilters, parts: tuple[DurationPart, ...]
) -> QueryString:
    d = TicketDurationTally
    s = TicketDurationDay
    selects = []
    for kind, start, end in parts:
        if kind == "days":
            selects.append(
                s.select(s.measure, s.bucket, Sum(s.n, alias="n"))
                .where(
                    *(_summed_branch(scope, s) or []), s.day >= start, s.day < end, *_filters(s, f)
                )
                .group_by(s.measure, s.bucket)
            )
            continue
        if kind == "summed":
            branch = _summed_branch(scope, d) or []
        elif kind == "rest":
            branch = [_rest_branch(scope, d)]
        else:
            branch = _counted_clauses(scope, d) or []
        selects.append(
            d.select(d.measure, d.bucket, Sum(d.n, alias="n"))
            .where(*branch, *_hours(d, start, end), *_filters(d, f))
            .group_by(d.measure, d.bucket)
        )
    return _union(selects)


@lru_cache(maxsize=256)
def _duration_read(
    scope: Visibility, f: ReportFilters, parts: tuple[DurationPart, ...], samples: tuple[int, ...]
) -> Prepared:
    return Prepared(lambda *_: _duration_statement(scope, f, parts), *samples)


async def _duration_rows(actor: Actor, f: ReportFilters) -> list[dict[str, Any]]:
    """(measure, bucket, n) rows over the period: its whole UTC days from the daily sums where
    they answer, its first and last hours and the other branches from the hourly tally."""
    scope = visibility(actor)
    slots = _Slots()
    shape = slots.scope(scope), slots.filters(f)
    parts: list[DurationPart] = []
    first_day = -(-f.start_hour // HOURS_A_DAY)
    end_day = f.end_hour // HOURS_A_DAY

    def hours(kind: str, start: int, end: int) -> None:
        if start < end:
            parts.append((kind, slots(start), slots(end)))

    if not _reads_sums(scope, f) or first_day >= end_day:
        if _counted_clauses(scope, TicketDurationTally) is None:
            return []
        hours("counted", f.start_hour, f.end_hour)
    else:
        parts.append(("days", slots(first_day), slots(end_day)))
        hours("summed", f.start_hour, first_day * HOURS_A_DAY)
        hours("summed", end_day * HOURS_A_DAY, f.end_hour)
        if _rest_branch(scope, TicketDurationTally) is not None:
            hours("rest", f.start_hour, f.end_hour)
    if not parts:
        return []
    return await _duration_read(*shape, tuple(parts), slots.samples()).rows(*slots.values)


async def totals(actor: Actor, f: ReportFilters, zone: ZoneInfo | None = None) -> Totals:
    """Sums over the period, within what the actor's scope counts (establishments, groups,
    own work: ``counters.counted``): per hour, or with ``zone`` per local day of that zone
    (summed in the database, summer time included).

    Unnarrowed, a reader's establishments are read from the per-establishment sums
    (``TicketHourSum``, ``TicketDurationDay``): the hourly tally has a row per hour, group,
    category and technician, 31,000 for 30 days at 1 M tickets, and summing them took
    most of the page's database time (15 ms). Own work and groups outside those
    establishments still come from the hourly tally, along its ``assignee`` index."""
    found = Totals()
    days = None
    if zone is not None and f.start_hour < f.end_hour:
        days = _days_sql(rf.offset_segments(f.start_hour, f.end_hour, zone))
    per = found.per_hour if days is None else found.per_day
    by_technician = found.minutes_by_technician
    for row in await _hour_rows(actor, f, days):
        key = row["hour"] if days is None else rf.day_of_number(row["day"])
        sums = per.get(key)
        if sums is None:
            sums = per[key] = Counter()
        for name in _HOUR_FIELDS:
            sums[name] += int(row[name] or 0)
        if row["worker"] and row["minutes"]:
            by_technician[row["worker"]] += int(row["minutes"])
    for row in await _duration_rows(actor, f):
        found.durations.setdefault(row["measure"], Counter())[row["bucket"]] += int(row["n"] or 0)
    return found


# --- backfill ------------------------------------------------------------------------------
# The same statements as the migration that created these tables (kept apart on purpose: a
# migration never changes). Past events are counted under the ticket's present group,
# category and technician: older history does not say which they were at the time.

_KEY = "hour, establishment, assigned_group, category, assignee"
_HOUR = {
    "postgres": "floor(extract(epoch FROM {}) / 3600)::integer",
    # Whole seconds first: SQLite rounds 59:59.9995 up into the next hour, Python does not.
    "sqlite": "CAST(strftime('%s', substr({}, 1, 19)) AS INTEGER) / 3600",
}
_SECONDS = {
    "postgres": "extract(epoch FROM ({} - {}))",
    "sqlite": (
        "(CAST(strftime('%s', substr({}, 1, 19)) AS INTEGER)"
        " - CAST(strftime('%s', substr({}, 1, 19)) AS INTEGER))"
    ),
}


def _bucket_sql(seconds: str) -> str:
    cases = " ".join(
        f"WHEN {seconds} <= {bound * 60} THEN {index}" for index, bound in enumerate(rf.BUCKETS)
    )
    return f"CASE {cases} ELSE {len(rf.BUCKETS)} END"


def backfill_sql(engine: str) -> list[str]:
    hour, secs = _HOUR[engine], _SECONDS[engine]
    dims = "t.establishment, COALESCE(t.assigned_group, 0), COALESCE(t.category, 0)"
    upsert = (
        f" ON CONFLICT ({_KEY}) DO UPDATE SET"
        " created = ticket_hour_tally.created + excluded.created,"
        " resolved = ticket_hour_tally.resolved + excluded.resolved,"
        " reopened = ticket_hour_tally.reopened + excluded.reopened,"
        " minutes = ticket_hour_tally.minutes + excluded.minutes"
    )
    into = f"INSERT INTO ticket_hour_tally ({_KEY}, created, resolved, reopened, minutes) "
    done = "('resolved', 'closed')"
    open_ = "('new', 'assigned', 'planned', 'pending')"
    resolved_secs = secs.format("t.resolved_at", "t.created_at")
    first_at = (
        "(SELECT MIN(f.created_at) FROM follow_up f JOIN account a ON a.id = f.author"
        " WHERE f.ticket = t.id AND f.private = false"
        " AND a.role IN ('technician', 'supervisor', 'admin'))"
    )
    return [
        into + f"SELECT {hour.format('t.created_at')}, {dims}, COALESCE(t.assignee, 0),"
        " COUNT(*), 0, 0, 0 FROM ticket t WHERE true"
        f" GROUP BY {hour.format('t.created_at')}, {dims}, COALESCE(t.assignee, 0)" + upsert,
        into + f"SELECT {hour.format('t.resolved_at')}, {dims}, COALESCE(t.assignee, 0),"
        " 0, COUNT(*), 0, 0 FROM ticket t WHERE t.resolved_at IS NOT NULL"
        f" GROUP BY {hour.format('t.resolved_at')}, {dims}, COALESCE(t.assignee, 0)" + upsert,
        into + f"SELECT {hour.format('h.created_at')}, {dims}, COALESCE(t.assignee, 0),"
        " 0, 0, COUNT(*), 0 FROM history_entry h JOIN ticket t ON t.id = h.ticket"
        f" WHERE h.field = 'status' AND h.old_value IN {done} AND h.new_value IN {open_}"
        f" GROUP BY {hour.format('h.created_at')}, {dims}, COALESCE(t.assignee, 0)" + upsert,
        into + f"SELECT {hour.format('f.created_at')}, {dims}, f.author, 0, 0, 0,"
        " SUM(f.minutes) FROM follow_up f JOIN ticket t ON t.id = f.ticket"
        " WHERE f.minutes > 0"
        f" GROUP BY {hour.format('f.created_at')}, {dims}, f.author" + upsert,
        "INSERT INTO ticket_duration_tally"
        f" ({_KEY}, measure, bucket, n)"
        f" SELECT {hour.format('t.resolved_at')}, {dims}, COALESCE(t.assignee, 0),"
        f" 'resolution', {_bucket_sql(resolved_secs)}, COUNT(*)"
        " FROM ticket t WHERE t.resolved_at IS NOT NULL"
        f" GROUP BY {hour.format('t.resolved_at')}, {dims}, COALESCE(t.assignee, 0),"
        f" {_bucket_sql(resolved_secs)}",
        "INSERT INTO ticket_duration_tally"
        f" ({_KEY}, measure, bucket, n)"
        f" SELECT {hour.format('x.first_at')}, x.establishment, x.g, x.c, x.a,"
        f" 'first_response', {_bucket_sql(secs.format('x.first_at', 'x.created_at'))},"
        " COUNT(*) FROM (SELECT t.created_at, t.establishment,"
        " COALESCE(t.assigned_group, 0) AS g, COALESCE(t.category, 0) AS c,"
        f" COALESCE(t.assignee, 0) AS a, {first_at} AS first_at FROM ticket t) x"
        " WHERE x.first_at IS NOT NULL"
        f" GROUP BY {hour.format('x.first_at')}, x.establishment, x.g, x.c, x.a,"
        f" {_bucket_sql(secs.format('x.first_at', 'x.created_at'))}",
    ]


# The per-establishment sums, from the hourly tallies (the same on both engines; the
# migration that created them holds a frozen copy).
SUMS_SQL = [
    "INSERT INTO ticket_hour_sum (hour, establishment, worker, created, resolved, reopened,"
    " minutes) SELECT hour, establishment, 0, SUM(created), SUM(resolved), SUM(reopened), 0"
    " FROM ticket_hour_tally GROUP BY hour, establishment"
    " HAVING SUM(created) <> 0 OR SUM(resolved) <> 0 OR SUM(reopened) <> 0",
    "INSERT INTO ticket_hour_sum (hour, establishment, worker, created, resolved, reopened,"
    " minutes) SELECT hour, establishment, assignee, 0, 0, 0, SUM(minutes)"
    " FROM ticket_hour_tally WHERE minutes <> 0 GROUP BY hour, establishment, assignee"
    " ON CONFLICT (hour, establishment, worker)"
    " DO UPDATE SET minutes = ticket_hour_sum.minutes + excluded.minutes",
    "INSERT INTO ticket_duration_day (day, establishment, measure, bucket, n)"
    f" SELECT hour / {HOURS_A_DAY}, establishment, measure, bucket, SUM(n)"
    f" FROM ticket_duration_tally GROUP BY hour / {HOURS_A_DAY}, establishment, measure, bucket"
    " HAVING SUM(n) <> 0",
]


async def rebuild() -> None:
    """Recount everything from tickets, history and follow-ups (after a bulk import; the
    migration did the same). Run it while nothing else writes tickets."""
    await TicketHourTally.delete(force=True)
    await TicketDurationTally.delete(force=True)
    await TicketHourSum.delete(force=True)
    await TicketDurationDay.delete(force=True)
    # Through the table's query (not run_ddl): inside the caller's transaction, if any.
    for sql in [*backfill_sql(TicketHourTally._meta.db.engine_type), *SUMS_SQL]:
        await TicketHourTally.raw(sql)
