"""SLA state stored with each change, and the rules that run on their own (scheduler)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.db.sla_tables import (
    Announcement,
    BusinessCalendar,
    EstablishmentCalendar,
    SlaPolicy,
    TicketSla,
)
from server.db.tables import HistoryEntry, Outbox, Ticket
from server.domain.forms import parse_follow_up
from server.domain.vocabulary import Priority, Role, Status
from server.services import tickets
from server.services.scheduler import Scheduler
from server.settings import get_settings
from tests.factories import group, ticket, user, world


def scheduler(messages: list[dict[str, Any]] | None = None, **settings: Any) -> Scheduler:
    sink = messages if messages is not None else []

    async def publish(message: dict[str, Any]) -> None:
        sink.append(message)

    return Scheduler(replace(get_settings(), **settings), publish)


async def policy(priority: Priority = Priority.HIGH, **fields: Any) -> int:
    values = {"name": "P", "priority": priority.value, "take_minutes": 120, "resolve_minutes": 600}
    row = await SlaPolicy.insert(SlaPolicy(**{**values, **fields})).returning(SlaPolicy.id)
    return row[0]["id"]


async def office_calendar(establishment_id: int) -> None:
    week = json.dumps([[["08:00", "18:00"]]] * 5 + [[], []])
    row = await BusinessCalendar.insert(
        BusinessCalendar(name="Paris", timezone="Europe/Paris", hours=week)
    ).returning(BusinessCalendar.id)
    await EstablishmentCalendar.insert(
        EstablishmentCalendar(establishment=establishment_id, calendar=row[0]["id"])
    )


async def state(ticket_id: int) -> dict[str, Any] | None:
    return await TicketSla.select().where(TicketSla.ticket == ticket_id).first()


async def version(ticket_id: int) -> int:
    row = await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first()
    return row["version"]


async def resolve(w: Any, ticket_id: int) -> None:
    await tickets.change_status(
        w.tech, ticket_id, Status.RESOLVED, await version(ticket_id), "Redémarré."
    )


async def test_due_times_are_stored_with_each_change() -> None:
    w = await world()
    await office_calendar(w.est_a)
    await policy()
    ticket_id = await ticket(w.requester_a, category_id=str(w.category_id))
    first = await state(ticket_id)
    assert first is not None and first["take_state"] == "ok" and first["resolve_state"] == "ok"
    assert first["take_due_at"] < first["resolve_due_at"]
    assert first["next_check_at"] is not None
    await tickets.take(w.tech, ticket_id, await version(ticket_id))
    taken = await state(ticket_id)
    assert taken["take_state"] == "met" and taken["take_met_at"] is not None
    await tickets.change_status(w.tech, ticket_id, Status.PENDING, await version(ticket_id))
    assert (await state(ticket_id))["paused"] is True
    # A priority without any policy: the ticket has no service level any more.
    await tickets.update_fields(w.tech, ticket_id, await version(ticket_id), priority=Priority.LOW)
    assert await state(ticket_id) is None


async def test_more_specific_policy_wins() -> None:
    w = await world()
    await policy(name="general", resolve_minutes=600)
    await policy(
        name="category", priority=Priority.HIGH, category=w.category_id, resolve_minutes=60
    )
    ticket_id = await ticket(w.requester_a, category_id=str(w.category_id))
    row = await state(ticket_id)
    chosen = await SlaPolicy.select(SlaPolicy.name).where(SlaPolicy.id == row["policy"]).first()
    assert chosen["name"] == "category"


async def test_resolved_ticket_closes_after_72_hours_by_guichet_and_catches_up() -> None:
    w = await world()
    ticket_id = await ticket(w.requester_a)
    await resolve(w, ticket_id)
    run = scheduler()
    now = datetime.now(UTC)
    assert (await run.run_once(now + timedelta(hours=71))).closed == []
    # The server was "down" for days: the next pass closes it.
    report = await run.run_once(now + timedelta(days=5))
    assert report.closed == [ticket_id]
    row = await Ticket.select(Ticket.status).where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.CLOSED
    last = (
        await HistoryEntry.select()
        .where(HistoryEntry.ticket == ticket_id)
        .order_by(HistoryEntry.id, ascending=False)
        .first()
    )
    assert (last["field"], last["new_value"], last["actor"]) == ("status", "closed", None)
    mails = await Outbox.select().where((Outbox.ticket == ticket_id) & (Outbox.kind == "closed"))
    assert [m["recipient"] for m in mails] == [w.requester_a.id] and mails[0]["actor"] is None
    # Idempotent.
    assert (await run.run_once(now + timedelta(days=6))).closed == []


async def test_a_requester_reply_reopens_and_prevents_the_close() -> None:
    w = await world()
    ticket_id = await ticket(w.requester_a)
    await resolve(w, ticket_id)
    await tickets.add_follow_up(
        w.requester_a, ticket_id, parse_follow_up({"text": "Toujours KO"}, may_be_private=False)
    )
    report = await scheduler().run_once(datetime.now(UTC) + timedelta(days=4))
    assert report.closed == []
    row = await Ticket.select(Ticket.status).where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.NEW


async def test_two_passes_at_once_close_a_due_ticket_exactly_once() -> None:
    w = await world()
    ids = [await ticket(w.requester_a, title=f"Imprimante {n}") for n in range(4)]
    for ticket_id in ids:
        await resolve(w, ticket_id)
    later = datetime.now(UTC) + timedelta(days=4)
    first, second = await asyncio.gather(scheduler().run_once(later), scheduler().run_once(later))
    assert sorted(first.closed + second.closed) == sorted(ids)
    closes = await HistoryEntry.count().where(
        HistoryEntry.ticket.is_in(ids) & (HistoryEntry.new_value == "closed")
    )
    assert closes == len(ids)
    mails = await Outbox.count().where(Outbox.ticket.is_in(ids) & (Outbox.kind == "closed"))
    assert mails == len(ids)


async def test_pending_reminder_once_per_pending_period() -> None:
    w = await world()
    ticket_id = await ticket(w.requester_a)
    await tickets.change_status(w.tech, ticket_id, Status.PENDING, await version(ticket_id))
    run = scheduler(pending_reminder_hours=48)
    now = datetime.now(UTC)
    assert (await run.run_once(now + timedelta(hours=47))).reminded == []
    assert (await run.run_once(now + timedelta(hours=49))).reminded == [ticket_id]
    assert (await run.run_once(now + timedelta(hours=90))).reminded == []
    mails = await Outbox.select(Outbox.recipient).where(Outbox.kind == "pending_reminder")
    assert [m["recipient"] for m in mails] == [w.requester_a.id]
    notes = await HistoryEntry.select().where(HistoryEntry.field == "automation")
    assert [(n["new_value"], n["actor"]) for n in notes] == [("reminder", None)]


async def test_breach_runs_the_escalation_rules_once() -> None:
    w = await world()
    network = await group("Réseau (N3)", 3)
    await user("chef@desk.test", Role.SUPERVISOR, w.est_a, "Chef")
    await policy(
        resolve_minutes=60, take_minutes=30, breach_raise_priority=True, breach_group=network
    )
    ticket_id = await ticket(w.requester_a, category_id=str(w.category_id))
    messages: list[dict[str, Any]] = []
    run = scheduler(messages)
    report = await run.run_once(datetime.now(UTC) + timedelta(hours=2))
    assert ticket_id in report.escalated
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["priority"] == Priority.VERY_HIGH and row["assigned_group"] == network
    assert any(m["ticket_id"] == ticket_id for m in messages)
    kinds = await Outbox.select(Outbox.kind, Outbox.recipient.email).where(
        Outbox.kind == "escalated"
    )
    assert "chef@desk.test" in {k["recipient.email"] for k in kinds}
    history = await HistoryEntry.select(HistoryEntry.field, HistoryEntry.new_value).where(
        (HistoryEntry.ticket == ticket_id) & (HistoryEntry.field == "automation")
    )
    assert {"breach_take", "breach_resolve", "escalation"} <= {h["new_value"] for h in history}
    moved = await HistoryEntry.select().where(HistoryEntry.new_value == "escalation").first()
    assert (moved["old_value"], moved["actor"]) == ("take,resolve", None)
    again = await run.run_once(datetime.now(UTC) + timedelta(hours=3))
    assert again.escalated == []


async def test_nothing_done_in_24_hours_moves_to_the_next_tier() -> None:
    w = await world()
    tier1 = await group("Support local (N1)", 1)
    # The take target lies beyond the 25 hours looked at, whatever the hour: one business
    # day ends at the next day's end, so a ticket opened at 22:00 UTC breached it within 25
    # hours too and the pass escalated it twice (breach and idle).
    await policy(
        priority=Priority.MEDIUM,
        take_business_days=3,
        take_minutes=None,
        resolve_minutes=6000,
        idle_hours=24,
        breach_notify=False,
    )
    ticket_id = await ticket(w.requester_a, priority="medium")
    await tickets.assign(
        w.tech, ticket_id, await version(ticket_id), assignee_id=None, group_id=tier1
    )
    run = scheduler()
    assert (await run.run_once(datetime.now(UTC) + timedelta(hours=23))).escalated == []
    report = await run.run_once(datetime.now(UTC) + timedelta(hours=25))
    assert report.escalated == [ticket_id]
    row = await Ticket.select(Ticket.assigned_group).where(Ticket.id == ticket_id).first()
    assert row["assigned_group"] == w.group_id  # tier 2, the next one up
    await run.run_once(datetime.now(UTC) + timedelta(hours=50))
    moves = await HistoryEntry.count().where(
        (HistoryEntry.ticket == ticket_id) & (HistoryEntry.new_value == "escalation")
    )
    assert moves == 1


async def test_an_announcement_is_pushed_once_when_its_display_time_comes() -> None:
    now = datetime.now(UTC)
    row = await Announcement.insert(
        Announcement(
            title="Maintenance",
            display_from=now + timedelta(hours=1),
            starts_at=now + timedelta(hours=2),
            ends_at=now + timedelta(hours=3),
        )
    ).returning(Announcement.id)
    messages: list[dict[str, Any]] = []
    run = scheduler(messages)
    assert (await run.run_once(now)).announced == []
    assert (await run.run_once(now + timedelta(minutes=61))).announced == [row[0]["id"]]
    assert (await run.run_once(now + timedelta(minutes=62))).announced == []
    assert messages == [{"kind": "announcement", "id": row[0]["id"]}]


async def test_reminders_reach_due_pending_tickets_in_statements_that_do_not_grow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.db import search
    from server.db.connections import observing
    from server.db.engine import db_session

    # A pass also compacts SQLite's search windows a step when their segments pile up (new
    # tickets add segments): a step of upkeep, not a read per pending ticket.
    monkeypatch.setattr(search, "COMPACT_ABOVE", 1_000)
    w = await world()
    run = scheduler(pending_reminder_hours=48)
    now = datetime.now(UTC)

    async def pending(n: int) -> list[int]:
        ids = [await ticket(w.requester_a, title=f"Attente {i}") for i in range(n)]
        for ticket_id in ids:
            await tickets.change_status(w.tech, ticket_id, Status.PENDING, await version(ticket_id))
        return ids

    async def one_pass(at: datetime) -> tuple[list[int], int]:
        with observing() as seen:
            async with db_session("reminder pass"):
                report = await run.run_once(at)
        return sorted(report.reminded), sum(n for _label, n in seen)

    first = await pending(3)
    assert (await one_pass(now + timedelta(hours=47)))[0] == []
    assert (await one_pass(now + timedelta(hours=49)))[0] == first
    # Reminded, then back in progress and pending again: a new period, a new reminder.
    again = first[0]
    await tickets.take(w.tech, again, await version(again))  # taking keeps it pending
    await tickets.change_status(w.tech, again, Status.ASSIGNED, await version(again))
    await tickets.change_status(w.tech, again, Status.PENDING, await version(again))
    assert (await one_pass(now + timedelta(hours=47)))[0] == []
    assert (await one_pass(now + timedelta(hours=49)))[0] == [again]

    # Whether 3 or 13 tickets are pending, a pass with none due reads as much.
    small = (await one_pass(now + timedelta(hours=47)))[1]
    await pending(10)
    reminded, larger = await one_pass(now + timedelta(hours=47))
    assert reminded == []
    assert larger == small


async def test_a_breach_missed_by_its_due_check_is_escalated_by_a_later_pass() -> None:
    # The breach was recorded (by a pass that stopped before escalating, say) and the row has
    # no check due any more: the pass still finds it, by the breached-and-not-escalated read.
    w = await world()
    await policy(take_minutes=30, resolve_minutes=60)
    ticket_id = await ticket(w.requester_a, category_id=str(w.category_id))
    await TicketSla.update(
        {TicketSla.take_state: "breached", TicketSla.next_check_at: None}
    ).where(TicketSla.ticket == ticket_id)
    later = datetime.now(UTC) + timedelta(hours=2)
    report = await scheduler().run_once(later)
    assert ticket_id in report.escalated
    row = await state(ticket_id)
    assert row is not None and row["take_escalated"] and row["resolve_escalated"]
    assert (await scheduler().run_once(later)).escalated == []


async def test_breaches_not_escalated_are_read_from_their_partial_indexes() -> None:
    # The indexes only serve a query whose WHERE repeats their predicates: a reworded query
    # would scan every service-level row each pass (229 ms at 1 M tickets on SQLite).
    from server.services.scheduler import _BREACHED_NOT_ESCALATED

    db: Any = TicketSla._meta.db
    if db.engine_type == "postgres":
        async with db.transaction():
            await TicketSla.raw("SET LOCAL enable_seqscan = off")
            rows = await TicketSla.raw(f"EXPLAIN {_BREACHED_NOT_ESCALATED}")
        plan = " ".join(r["QUERY PLAN"] for r in rows)
    else:
        rows = await TicketSla.raw(f"EXPLAIN QUERY PLAN {_BREACHED_NOT_ESCALATED}")
        plan = " ".join(r["detail"] for r in rows)
    assert "ticket_sla_take_breach" in plan, plan
    assert "ticket_sla_resolve_breach" in plan, plan
