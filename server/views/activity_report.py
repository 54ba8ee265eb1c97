"""The activity report (/reports): volumes per day, backlog age, first response and resolution
times, time spent, reopen rate; read from the hour-by-hour tallies (``db.report_tally``)
within the reader's scope, in the reader's days (time zone)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_timedelta
from piccolo.query.functions.aggregate import Count
from piccolo.querystring import QueryString

from server import i18n
from server.db import queries, report_tally, time_spent
from server.db.prepared import Prepared, Slots
from server.db.tables import Ticket, User
from server.domain import report_figures as rf
from server.domain.actors import Actor
from server.domain.establishments import descendants
from server.domain.permissions import visibility
from server.domain.text import N_
from server.views.query import CHOOSE, QueryReader
from server.views.wallboard import places

LONG_PERIOD = N_("Choose a period of at most a year.")
MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class Choice:
    first: date
    last: date
    establishment: int | None = None
    group: int | None = None
    category: int | None = None
    technician: int | None = None


async def read_choice(actor: Actor, q: Any, zone: tzinfo) -> Choice:
    """The report's period and filters from the URL, each wrong value named (422)."""
    read = QueryReader()
    first, last = read.period(q, datetime.now(zone).date(), 29)
    if not read.errors and (last - first).days >= MAX_DAYS:
        read.errors["from"] = LONG_PERIOD
    establishment = read.integer(q.get("establishment"), "establishment")
    if establishment is not None and establishment not in {p["id"] for p in await places(actor)}:
        read.errors["establishment"] = CHOOSE
    choice = Choice(
        first=first,
        last=last,
        establishment=establishment,
        group=read.integer(q.get("group"), "group"),
        category=read.integer(q.get("category"), "category"),
        technician=read.integer(q.get("technician"), "technician"),
    )
    read.done()
    return choice


def duration_label(minutes: int | None) -> str:
    if minutes is None:
        return i18n.gettext(N_("more than a month"))
    return format_timedelta(
        timedelta(minutes=minutes), threshold=1.1, format="long", locale=i18n.get_locale()
    )


def day_label(day: date) -> str:
    """A day as the reader writes it (27/11/2026, 27.11.2026, 11/27/26)."""
    return _day_label(day, i18n.get_locale())


@lru_cache(maxsize=2048)  # a report shows the same recent days to every reader
def _day_label(day: date, locale: str) -> str:
    return format_date(day, "short", locale=locale)


def _percentiles(counts: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"count": sum(counts.values()) if counts else 0}
    for name, share in (("median", 0.5), ("p90", 0.9)):
        bucket = rf.percentile_bucket(counts or {}, share)
        found[name] = None if bucket is None else rf.bucket_bound(bucket)
        found[f"{name}_known"] = bucket is not None
    return found


_SAMPLE_CUTOFFS = tuple(datetime(2001, 2, 3, 4, 5, k, tzinfo=UTC) for k in range(len(rf.AGE_BANDS)))


def _backlog_query(
    reader: Actor,
    within: frozenset[int] | None,
    group: int | None,
    category: int | None,
    technician: int | None,
) -> Any:
    newer = [
        QueryString("SUM(CASE WHEN created_at > {} THEN 1 ELSE 0 END)", cutoff).as_alias(
            f"newer_{index}"
        )
        for index, cutoff in enumerate(_SAMPLE_CUTOFFS)
    ]
    query = Ticket.select(Count(alias="total"), *newer).where(
        queries.visible_to(reader), Ticket.status.is_in(queries.OPEN_STATUSES)
    )
    return time_spent.narrowed(query, within, group, category, technician)


@lru_cache(maxsize=256)
def _backlog_read(
    reader: Actor,
    within: frozenset[int] | None,
    group: int | None,
    category: int | None,
    technician: int | None,
    samples: tuple[Any, ...],
) -> Prepared:
    return Prepared(
        lambda *_: _backlog_query(reader, within, group, category, technician), *samples
    )


def _sample_reader(actor: Actor, slots: Slots) -> Actor:
    """The actor with each id its access clause (``queries.visible_to``) uses as a sample."""
    scope = visibility(actor)
    if scope.everything or scope.requester_id is None:  # admin, or nothing visible
        return Actor(id=0, role=actor.role, establishment_id=None, active=actor.active)
    if actor.is_staff:
        return replace(
            actor,
            id=slots(actor.id),
            establishment_id=None,
            establishment_ids=slots.ids(actor.establishment_ids),
            group_ids=slots.ids(actor.group_ids),
        )
    establishment = actor.establishment_id
    return replace(
        actor,
        id=slots(actor.id),
        establishment_id=None if establishment is None else slots(establishment),
    )


async def _backlog(actor: Actor, c: Choice, within: frozenset[int] | None) -> list[int]:
    """Open tickets by age band, now: counted in the database along the status index (open
    tickets only), one row back instead of every open ticket's date. Compiled once per
    shape of reader and filters (building the select cost more Python than the rest)."""
    cutoffs = rf.age_cutoffs(datetime.now(UTC))
    slots = Slots()
    slots.values += cutoffs
    shape = (
        _sample_reader(actor, slots),
        None if within is None else slots.ids(within),
        slots(c.group) if c.group else None,
        slots(c.category) if c.category else None,
        slots(c.technician) if c.technician else None,
    )
    samples = (*_SAMPLE_CUTOFFS, *slots.samples()[len(cutoffs) :])
    row = (await _backlog_read(*shape, samples).rows(*slots.values))[0]
    return rf.band_counts(
        int(row["total"] or 0), [int(row[f"newer_{i}"] or 0) for i in range(len(cutoffs))]
    )


async def _subtree(establishment_id: int) -> frozenset[int]:
    """``queries.establishment_subtree`` from the cached establishments (no statement)."""
    rows = await queries.establishments()
    return descendants([establishment_id], {r["id"]: r["parent"] for r in rows})


async def report(actor: Actor, c: Choice, zone: ZoneInfo) -> dict[str, Any]:
    within = await _subtree(c.establishment) if c.establishment else None
    start, end = rf.hours_of_period(c.first, c.last, zone)
    found = await report_tally.totals(
        actor,
        report_tally.ReportFilters(
            start_hour=start,
            end_hour=end,
            establishment_ids=within,
            group_id=c.group,
            category_id=c.category,
            technician_id=c.technician,
        ),
        zone,
    )
    days = {
        d: {"created": 0, "resolved": 0, "reopened": 0, "minutes": 0}
        for d in rf.days_between(c.first, c.last)
    }
    for local_day, sums in found.per_day.items():
        day = days.get(local_day)
        if day is not None:
            for name in day:
                day[name] += sums[name]
    totals = {
        name: sum(d[name] for d in days.values())
        for name in ("created", "resolved", "reopened", "minutes")
    }
    names = {}
    if found.minutes_by_technician:
        rows = await User.select(User.id, User.full_name).where(
            User.id.is_in(sorted(found.minutes_by_technician))
        )
        names = {r["id"]: r["full_name"] for r in rows}
    spent = sorted(
        ((names.get(k, "?"), v) for k, v in found.minutes_by_technician.items()),
        key=lambda item: (-item[1], item[0]),
    )
    return {
        "days": [{"day": d, **v} for d, v in days.items()],
        "totals": totals,
        "reopen_rate": rf.rate(totals["reopened"], totals["resolved"]),
        "first_response": _percentiles(found.durations.get(rf.FIRST_RESPONSE)),
        "resolution": _percentiles(found.durations.get(rf.RESOLUTION)),
        "spent": spent,
        "spent_by_ticket": await time_spent.top_tickets(
            actor,
            rf.start_of_hour(start),
            rf.start_of_hour(end),
            establishment_ids=within,
            group_id=c.group,
            category_id=c.category,
            technician_id=c.technician,
        ),
        "backlog": await _backlog(actor, c, within),
    }


class Bar(NamedTuple):
    """One day's pair of bars, as the chart macro draws them (unpacked in its loop: each
    attribute of a dict cost Jinja a failed ``getattr`` first, 200 per chart)."""

    x: int
    created_y: float
    created_h: float
    resolved_x: int
    resolved_y: float
    resolved_h: float
    label: str | None  # the day under the bars, on the first, the last and every 7th


def chart(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of the created/resolved bars per day (drawn by the template macro)."""
    top = max([1, *(max(d["created"], d["resolved"]) for d in days)])
    height, bar, gap, left = 160, 6, 4, 40
    step = 2 * bar + gap
    bars = []
    last = len(days) - 1
    for index, d in enumerate(days):
        x = left + index * step
        created_h = d["created"] * height / top
        resolved_h = d["resolved"] * height / top
        labelled = index in (0, last) or index % 7 == 0
        bars.append(
            Bar(
                x,
                height - created_h,
                created_h,
                x + bar,
                height - resolved_h,
                resolved_h,
                day_label(d["day"]) if labelled else None,
            )
        )
    return {
        "bars": bars,
        "bar": bar,
        "height": height,
        "width": left + max(1, len(days)) * step + 10,
        "top": top,
        "left": left,
    }


def day_rows(days: list[dict[str, Any]]) -> list[tuple[str, str, int, int, int, int]]:
    """The table's rows: (ISO day, day as the reader writes it, created, resolved, reopened,
    minutes), made here rather than by two calls per row in the template."""
    return [
        (
            d["day"].isoformat(),
            day_label(d["day"]),
            d["created"],
            d["resolved"],
            d["reopened"],
            d["minutes"],
        )
        for d in days
    ]
