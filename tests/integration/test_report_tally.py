"""The reports' read model stays equal to a recomputation after many random changes.

The reference is built by the test itself, from the ticket and follow-up rows it reads
before and after each change (never from the tallies): what was created, resolved, reopened,
answered and worked on, in which hour and under which establishment, group, category and
technician at that moment.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Sum
from piccolo.query.methods.select import Select

from server.db import report_tally
from server.db.engine import recording
from server.db.report_tables import (
    TicketDurationDay,
    TicketDurationTally,
    TicketHourSum,
    TicketHourTally,
)
from server.db.tables import FollowUp, Ticket, User
from server.domain import report_figures as rf
from server.domain.composer import Answer
from server.domain.errors import GuichetError
from server.domain.forms import NewFollowUp
from server.domain.permissions import visibility
from server.domain.vocabulary import Status
from server.services import tickets
from tests import factories
from tests.integration.test_counters import _world
from tests.one_connection import one_connection

OPEN = {s.value for s in Status if s.is_open}
DONE = {Status.RESOLVED.value, Status.CLOSED.value}
STAFF = {"technician", "supervisor", "admin"}
# Days that start far from UTC's, one of them off by half an hour.
ZONES = (ZoneInfo("Pacific/Kiritimati"), ZoneInfo("America/St_Johns"))


def _dims(row: dict[str, Any]) -> tuple[int, int, int]:
    return (row["establishment"], row["assigned_group"] or 0, row["category"] or 0)


class Reference:
    def __init__(self) -> None:
        self.hours: Counter[tuple[Any, ...]] = Counter()
        self.durations: Counter[tuple[Any, ...]] = Counter()
        self.answered: set[int] = set()

    def count(self, name: str, moment: Any, row: dict[str, Any], tech: int | None, n: int) -> None:
        self.hours[(rf.hour_of(moment), *_dims(row), tech or 0, name)] += n

    def took(self, measure: str, moment: Any, row: dict[str, Any], tech: int | None) -> None:
        seconds = (moment - row["created_at"]).total_seconds()
        key = (rf.hour_of(moment), *_dims(row), tech or 0, measure, rf.bucket_of(seconds))
        self.durations[key] += 1


async def _tallies() -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    hours: Counter[tuple[Any, ...]] = Counter()
    for row in await TicketHourTally.select():
        for name in ("created", "resolved", "reopened", "minutes"):
            if row[name]:
                key = (row["hour"], row["establishment"], row["assigned_group"], row["category"])
                hours[(*key, row["assignee"], name)] += row[name]
    durations: Counter[tuple[Any, ...]] = Counter()
    for row in await TicketDurationTally.select():
        if row["n"]:
            key = (row["hour"], row["establishment"], row["assigned_group"], row["category"])
            durations[(*key, row["assignee"], row["measure"], row["bucket"])] += row["n"]
    return hours, durations


async def _sums() -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """The per-establishment sums as stored, and as the hourly tallies regrouped: they must
    be equal (counts under worker 0, time spent under its author; durations per UTC day)."""
    stored: Counter[tuple[Any, ...]] = Counter()
    for row in await TicketHourSum.select():
        for name in ("created", "resolved", "reopened", "minutes"):
            if row[name]:
                stored[(row["hour"], row["establishment"], row["worker"], name)] += row[name]
    for row in await TicketDurationDay.select():
        if row["n"]:
            key = (row["day"], row["establishment"], row["measure"], row["bucket"])
            stored[key] += row["n"]
    hours, durations = await _tallies()
    regrouped: Counter[tuple[Any, ...]] = Counter()
    for (hour, est, _group, _category, tech, name), n in hours.items():
        regrouped[(hour, est, tech if name == "minutes" else 0, name)] += n
    for (hour, est, _group, _category, _tech, measure, bucket), n in durations.items():
        regrouped[(hour // 24, est, measure, bucket)] += n
    return +stored, +regrouped


async def _change(rng: random.Random, w: dict[str, Any], ids: list[int], ref: Reference) -> None:
    staff, requesters = w["staff"], w["requesters"]
    op = rng.choice(
        ["open", "open", "take", "move", "move", "assign", "note", "answer", "composer", "reply"]
    )
    if op == "open" or not ids:
        who = rng.choice(requesters)
        category = str(rng.choice(w["categories"])) if rng.random() < 0.8 else ""
        ticket_id = await factories.ticket(who, category_id=category)
        ids.append(ticket_id)
        row = await Ticket.select().where(Ticket.id == ticket_id).first()
        ref.count("created", row["created_at"], row, row["assignee"], 1)
        return
    ticket_id = rng.choice(ids)
    before = await Ticket.select().where(Ticket.id == ticket_id).first()
    last_note = await FollowUp.select(FollowUp.id).order_by(FollowUp.id, ascending=False).first()
    tech = rng.choice(staff)
    minutes = rng.choice([0, 0, 5, 30, 90])
    try:
        if op == "take":
            await tickets.take(tech, ticket_id, before["version"])
        elif op == "move":
            target = rng.choice(list(Status))
            await tickets.move(tech, ticket_id, target, before["version"], "Fixed it.")
        elif op == "assign":
            await tickets.assign(
                tech,
                ticket_id,
                before["version"],
                assignee_id=rng.choice([None, *(s.id for s in staff[:2])]),
                group_id=rng.choice([None, *w["groups"]]),
            )
        elif op in ("note", "answer"):
            note = NewFollowUp(text="Checked.", private=op == "note", minutes=minutes)
            await tickets.add_follow_up(tech, ticket_id, note)
        elif op == "composer":  # one submit: a reply and perhaps a status change
            target = rng.choice([None, Status.RESOLVED, Status.PENDING])
            answer = Answer(
                text="Done on site.",
                private=rng.random() < 0.3,
                minutes=minutes,
                target=target,
                solution="Replaced the cable." if target else "",
                version=before["version"],
            )
            await tickets.answer(tech, ticket_id, answer)
        else:  # a requester's reply reopens a resolved ticket
            owner = await factories.reload(before["requester"])
            await tickets.add_follow_up(owner, ticket_id, NewFollowUp("Still broken.", False, 0))
    except GuichetError:
        return  # refused: nothing happened
    after = await Ticket.select().where(Ticket.id == ticket_id).first()
    new_notes = await FollowUp.select(
        FollowUp.author,
        FollowUp.private,
        FollowUp.minutes,
        FollowUp.created_at,
        FollowUp.author.role.as_alias("role"),
    ).where((FollowUp.ticket == ticket_id) & (FollowUp.id > (last_note or {"id": 0})["id"]))
    for note in new_notes:
        if note["role"] in STAFF and note["minutes"]:
            ref.count("minutes", note["created_at"], before, note["author"], note["minutes"])
        if note["role"] in STAFF and not note["private"] and ticket_id not in ref.answered:
            ref.answered.add(ticket_id)
            ref.took(rf.FIRST_RESPONSE, note["created_at"], before, note["author"])
    if before["status"] in OPEN and after["status"] in DONE:
        ref.count("resolved", after["updated_at"], after, after["assignee"], 1)
        ref.took(rf.RESOLUTION, after["updated_at"], after, after["assignee"])
    elif before["status"] in DONE and after["status"] in OPEN:
        ref.count("reopened", after["updated_at"], after, after["assignee"], 1)


@one_connection
async def test_tallies_equal_a_recount_after_random_changes(clean_db: None) -> None:
    rng = random.Random(15)
    w = await _world(rng)
    ids: list[int] = []
    ref = Reference()
    for step in range(160):
        await _change(rng, w, ids, ref)
        if step % 40 == 39:
            hours, durations = await _tallies()
            assert hours == ref.hours, step
            assert durations == ref.durations, step
            stored, regrouped = await _sums()
            assert stored == regrouped, step
    kinds = {key[-1] for key in ref.hours}
    assert kinds == {"created", "resolved", "reopened", "minutes"}  # every kind was exercised
    assert {key[-2] for key in ref.durations} == {rf.FIRST_RESPONSE, rf.RESOLUTION}


@one_connection
async def test_rebuild_recounts_creations_and_time_spent(clean_db: None) -> None:
    """The backfill (migration and ``rebuild``) finds past creations per hour and time spent
    per technician and hour exactly (it files them under the ticket's present group)."""
    rng = random.Random(7)
    w = await _world(rng)
    ids: list[int] = []
    ref = Reference()
    for _ in range(60):
        await _change(rng, w, ids, ref)

    async def per_hour() -> Counter[tuple[Any, ...]]:
        rows = await TicketHourTally.select(
            TicketHourTally.hour,
            TicketHourTally.assignee,
            Sum(TicketHourTally.created, alias="created"),
            Sum(TicketHourTally.minutes, alias="minutes"),
        ).group_by(TicketHourTally.hour, TicketHourTally.assignee)
        found: Counter[tuple[Any, ...]] = Counter()
        for row in rows:
            found[(row["hour"], "created")] += int(row["created"] or 0)
            found[(row["hour"], row["assignee"], "minutes")] += int(row["minutes"] or 0)
        return +found

    live = await per_hour()
    await report_tally.rebuild()
    assert await per_hour() == live
    rebuilt, regrouped = await _sums()
    assert rebuilt == regrouped  # the backfill of the sums (migration and rebuild)
    assert any(key[-1] == "minutes" for key in rebuilt)  # time spent, under its author
    assert await User.count() > 0


def _counts(
    scope: Any,
    f: report_tally.ReportFilters,
    hour: int,
    est: int,
    group: int,
    category: int,
    tech: int,
) -> bool:
    """Does the report count an event of these keys for this reader and these filters?"""
    seen = (
        scope.everything
        or est in scope.establishment_ids
        or group in scope.group_ids
        or (scope.assignee_id is not None and tech == scope.assignee_id)
    )
    if not seen or not f.start_hour <= hour < f.end_hour:
        return False
    if f.establishment_ids is not None and est not in f.establishment_ids:
        return False
    if (f.group_id and group != f.group_id) or (f.category_id and category != f.category_id):
        return False
    return not (f.technician_id and tech != f.technician_id)


def _expected_totals(
    ref: Reference, actor: Any, f: report_tally.ReportFilters
) -> tuple[dict[int, Counter[str]], Counter[int], dict[str, Counter[int]]]:
    """The reference restricted as the report reads it: the actor's counted branches
    (establishments, groups, own work), the period and the filters."""
    scope = visibility(actor)
    per_hour: dict[int, Counter[str]] = {}
    by_technician: Counter[int] = Counter()
    for (hour, est, group, category, tech, name), n in ref.hours.items():
        if _counts(scope, f, hour, est, group, category, tech):
            per_hour.setdefault(hour, Counter())[name] += n
            if name == "minutes" and tech:
                by_technician[tech] += n
    durations: dict[str, Counter[int]] = {}
    for (hour, est, group, category, tech, measure, bucket), n in ref.durations.items():
        if _counts(scope, f, hour, est, group, category, tech):
            durations.setdefault(measure, Counter())[bucket] += n
    return per_hour, by_technician, durations


@one_connection
async def test_report_totals_equal_the_reference_for_each_reader_and_filter(
    clean_db: None,
) -> None:
    """What the activity report reads (sums per hour, minutes per technician) equals the
    reference summed by hand, for readers of every scope and with each filter."""
    rng = random.Random(23)
    w = await _world(rng)
    ids: list[int] = []
    ref = Reference()
    for _ in range(120):
        await _change(rng, w, ids, ref)
    assert any(key[-1] == "minutes" for key in ref.hours)
    hours = sorted({key[0] for key in ref.hours})
    whole = report_tally.ReportFilters(start_hour=hours[0], end_hour=hours[-1] + 1)
    est_a, est_a1, est_b = w["establishments"][:3]
    tech = w["staff"][0]
    choices = [
        whole,
        report_tally.ReportFilters(start_hour=hours[-1], end_hour=hours[-1] + 1),
        report_tally.ReportFilters(
            start_hour=whole.start_hour,
            end_hour=whole.end_hour,
            establishment_ids=frozenset({est_a, est_a1}),
        ),
        report_tally.ReportFilters(whole.start_hour, whole.end_hour, group_id=w["groups"][0]),
        report_tally.ReportFilters(
            whole.start_hour, whole.end_hour, category_id=w["categories"][0]
        ),
        report_tally.ReportFilters(whole.start_hour, whole.end_hour, technician_id=tech.id),
    ]
    # Periods of whole UTC days (durations then come from the daily sums) and periods whose
    # first or last hours hold the events (read from the hourly tally), unnarrowed and not.
    midnight = hours[0] - hours[0] % 24
    for start, end in (
        (midnight, midnight + 48),
        (hours[0], hours[-1] + 49),
        (hours[0] - 48, hours[-1] + 1),
        (hours[0] - 47, hours[-1] + 2),
    ):
        choices.append(report_tally.ReportFilters(start, end))
        choices.append(report_tally.ReportFilters(start, end, establishment_ids=frozenset({est_b})))
        choices.append(report_tally.ReportFilters(start, end, group_id=w["groups"][0]))
    compared = timed = days_compared = 0
    for actor in w["staff"]:
        for f in choices:
            found = await report_tally.totals(actor, f)
            per_hour, by_technician, durations = _expected_totals(ref, actor, f)
            got = {h: +c for h, c in found.per_hour.items() if +c}
            assert got == {h: +c for h, c in per_hour.items() if +c}, (actor.id, f)
            assert found.minutes_by_technician == +by_technician, (actor.id, f)
            got_durations = {m: +c for m, c in found.durations.items() if +c}
            assert got_durations == {m: +c for m, c in durations.items() if +c}, (actor.id, f)
            for zone in ZONES:  # the same sums per local day, added up in the database
                per_day = await report_tally.totals(actor, f, zone)
                expected: dict[Any, Counter[str]] = {}
                for hour, sums in per_hour.items():
                    expected.setdefault(rf.local_day(hour, zone), Counter()).update(sums)
                got_days = {d: +c for d, c in per_day.per_day.items() if +c}
                assert got_days == {d: +c for d, c in expected.items() if +c}, (zone, f)
                assert per_day.minutes_by_technician == +by_technician, (zone, f)
                days_compared += bool(expected)
            compared += bool(by_technician)
            timed += bool(durations)
    assert compared  # minutes per technician were compared, not only empty counters
    assert timed  # so were durations
    assert days_compared


async def test_a_report_is_two_statements_compiled_once_per_shape(
    clean_db: None, monkeypatch: Any
) -> None:
    """The hour sums and the durations are one statement each, however many branches the
    reader's scope needs (the supervisor's establishments from the sums, own work from the
    hourly tallies); a second report of the same shape, other values, builds no select."""
    w = await _world(random.Random(5))
    sup = next(a for a in w["staff"] if a.role.value == "supervisor")
    assert visibility(sup).establishment_ids  # the sums answer, own work is the rest
    built: list[Any] = []
    piccolo_built = Select.default_querystrings

    def counting(query: Select) -> Any:
        built.append(query)
        return piccolo_built.fget(query)  # type: ignore[attr-defined]

    monkeypatch.setattr(Select, "default_querystrings", property(counting))
    zone = ZoneInfo("Pacific/Kiritimati")  # no summer time: the same day SQL every period
    first = report_tally.ReportFilters(24 * 1000 + 5, 24 * 1030 + 5)
    await report_tally.totals(sup, first, zone)
    assert built  # the first of its shape is compiled
    built.clear()
    with recording() as statements:
        await report_tally.totals(
            sup, report_tally.ReportFilters(24 * 1100 + 7, 24 * 1131 + 7), zone
        )
    assert built == []
    assert len(statements) == 2, statements
    assert all(" UNION ALL " in sql for sql in statements)
