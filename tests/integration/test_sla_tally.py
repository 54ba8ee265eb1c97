"""The SLA report's read model gives exactly what a full count gives (``reports.recount``,
the report's former query), for every viewer, grouping and period, after random changes:
creations, moves, reassignments, priority changes, breaches and escalations by the
scheduler, policies switched off and on (SLA rows deleted and recreated); and its backfill
(``sla_tally.rebuild`` and the migration's SQL) finds the same local days as the application,
across daylight-saving changes."""

from __future__ import annotations

import contextlib
import importlib.util
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from server.db import reports, sla_tally
from server.db.engine import engine, write_transaction
from server.db.report_tables import TicketSlaTally
from server.db.sla_tables import SlaPolicy, TicketSla
from server.db.tables import Ticket
from server.domain.actors import Actor
from server.domain.errors import GuichetError
from server.domain.vocabulary import Priority
from server.services import sla_admin
from server.web.rendering import DISPLAY_TZ
from tests import factories
from tests.integration.test_counters import _random_change, _world
from tests.integration.test_sla_scheduler import policy, scheduler
from tests.one_connection import one_connection

MIGRATION = next(
    p
    for p in (Path(__file__).resolve().parents[2] / "migrations").glob("guichet_*.py")
    if "SLA report tally" in p.read_text()
)


async def _sla_world(rng: random.Random) -> dict[str, Any]:
    w = await _world(rng)
    # Breaches raise the priority and hand the ticket to N2 (a change of the tallied
    # fields made by the scheduler); low priority has no service level at all.
    w["policies"] = [
        await policy(
            Priority.HIGH,
            take_minutes=30,
            resolve_minutes=240,
            breach_raise_priority=True,
            breach_group=w["groups"][1],
        ),
        await policy(Priority.MEDIUM, take_minutes=120, resolve_minutes=600),
        await policy(Priority.VERY_HIGH, take_minutes=15, resolve_minutes=120),
    ]
    w["clock"] = datetime.now(UTC)
    return w


async def _change(rng: random.Random, w: dict[str, Any], ids: list[int]) -> None:
    op = rng.random()
    if op < 0.12 and ids:  # the scheduler's pass, later and later: targets breach
        w["clock"] += timedelta(minutes=rng.choice([20, 90, 400]))
        await scheduler().run_once(w["clock"])
    elif op < 0.17 and ids:  # a policy switched off or on: SLA rows go or come back
        chosen = w["policies"][1]
        row = await SlaPolicy.select(SlaPolicy.active).where(SlaPolicy.id == chosen).first()
        await SlaPolicy.update({SlaPolicy.active: not row["active"]}).where(SlaPolicy.id == chosen)
        await sla_admin.recompute_open(w["clock"])
    else:
        with contextlib.suppress(GuichetError):  # refused: nothing changed
            await _random_change(rng, w, ids)


async def _viewers(w: dict[str, Any]) -> list[Actor]:
    return [*w["staff"], *[await factories.reload(r.id) for r in w["requesters"][:2]]]


async def _assert_equal(viewers: list[Actor], periods: list[tuple[date, date]]) -> int:
    seen = 0
    for viewer in viewers:
        for first, last in periods:
            for by in reports.GROUPINGS:
                expected = await reports.recount(viewer, *reports.bounds(first, last), by)
                found = await reports.compliance(viewer, first, last, by)
                assert found == expected, (viewer.email, first, last, by)
                seen += sum(row.tickets for row in expected)
    return seen


async def _tally_rows() -> Counter[tuple[Any, ...]]:
    rows = await TicketSlaTally.select()
    return +Counter({tuple(v for k, v in r.items() if k not in ("id", "n")): r["n"] for r in rows})


def test_the_tally_counts_in_the_reports_days() -> None:
    assert sla_tally.ZONE == DISPLAY_TZ


@one_connection
async def test_report_equals_a_full_count_after_random_changes() -> None:
    rng = random.Random(5)
    w = await _sla_world(rng)
    ids: list[int] = []
    today = datetime.now(sla_tally.ZONE).date()
    periods = [(today, today), (today - timedelta(days=40), today + timedelta(days=1))]
    viewers = await _viewers(w)
    for step in range(1, 241):
        await _change(rng, w, ids)
        if step % 60 == 0:
            assert await _assert_equal(viewers, periods) > 0, step
    states = {(r["take_state"], r["resolve_state"]) for r in await TicketSla.select()}
    assert any("breached" in pair for pair in states), "the run must breach targets"
    assert any("met" in pair for pair in states), "the run must meet targets"
    # Tickets without a service level are in no report (and in no tally row).
    assert await Ticket.count() > await TicketSla.count() > 0


@one_connection
async def test_rebuild_and_migration_find_the_applications_days() -> None:
    rng = random.Random(9)
    w = await _sla_world(rng)
    ids: list[int] = []
    for _ in range(80):
        await _change(rng, w, ids)
    # Rebuilding what the application kept gives the same rows.
    live = await _tally_rows()
    assert live
    async with write_transaction():
        await sla_tally.rebuild()
    assert await _tally_rows() == live

    # Past creation times over a year and a half, some on both sides of a local midnight
    # and of the daylight-saving changes of 2025 and 2026 (in UTC: 01:00 on the last
    # Sunday of March and of October).
    edges = [
        datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC),  # 23:59:59 local, winter time
        datetime(2026, 3, 28, 23, 0, 0, tzinfo=UTC),  # 00:00 local, the 29th
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),  # summer time starts
        datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC),  # 23:59:59 local, summer time
        datetime(2026, 3, 29, 22, 0, 0, tzinfo=UTC),
        datetime(2025, 10, 25, 21, 59, 59, tzinfo=UTC),
        datetime(2025, 10, 26, 0, 59, 59, tzinfo=UTC),
        datetime(2025, 10, 26, 1, 0, 0, tzinfo=UTC),  # winter time again
        datetime(2025, 10, 26, 22, 59, 59, tzinfo=UTC),
        datetime(2025, 10, 26, 23, 0, 0, tzinfo=UTC),
    ]
    start = datetime(2025, 6, 1, tzinfo=UTC)
    for i, ticket_id in enumerate(sorted(ids)):
        later = timedelta(seconds=rng.randrange(40_000_000))
        moment = edges[i] if i < len(edges) else start + later
        await Ticket.update({Ticket.created_at: moment}).where(Ticket.id == ticket_id)
    async with write_transaction():
        await sla_tally.rebuild()
    rebuilt = await _tally_rows()
    viewers = await _viewers(w)
    periods = [
        (date(2026, 3, 28), date(2026, 3, 28)),
        (date(2026, 3, 29), date(2026, 3, 29)),
        (date(2025, 10, 26), date(2025, 10, 26)),
        (date(2025, 10, 25), date(2026, 3, 29)),
        (date(2025, 1, 1), date(2026, 12, 31)),
    ]
    for _ in range(6):
        first = date(2025, 6, 1) + timedelta(days=rng.randrange(500))
        periods.append((first, first + timedelta(days=rng.randrange(1, 90))))
    assert await _assert_equal(viewers, periods) > len(ids) // 2

    # The migration's frozen SQL gives the same rows, ``counted_*`` columns included.
    spec = importlib.util.spec_from_file_location("sla_tally_migration", MIGRATION)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    counted = await TicketSla.select(
        TicketSla.ticket,
        TicketSla.counted_establishment,
        TicketSla.counted_group,
        TicketSla.counted_priority,
    ).order_by(TicketSla.ticket)
    span = [datetime(2025, 6, 1, tzinfo=UTC), datetime.now(UTC)]
    db = engine()
    backfill = migration.up_sql(db.engine_type, migration.offset_changes(*span))[2:]
    async with write_transaction():
        await TicketSlaTally.delete(force=True)
        await TicketSla.update({TicketSla.counted_establishment: 0}, force=True)
        for sql in backfill:
            await db.run_ddl(sql)
    assert await _tally_rows() == rebuilt
    assert (
        await TicketSla.select(
            TicketSla.ticket,
            TicketSla.counted_establishment,
            TicketSla.counted_group,
            TicketSla.counted_priority,
        ).order_by(TicketSla.ticket)
        == counted
    )

    # Changes to those past tickets move them within their own days.
    for _ in range(60):
        await _change(rng, w, ids)
    assert await _assert_equal(viewers, periods[:5]) > 0
