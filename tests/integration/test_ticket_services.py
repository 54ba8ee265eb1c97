"""Use cases write the right rows and history, in one transaction, on both engines."""

import asyncio

import pytest

from server.db.tables import Establishment, FollowUp, HistoryEntry, Ticket
from server.domain.errors import Conflict, Forbidden, InvalidTransition, NotFound
from server.domain.forms import NewFollowUp, parse_new_ticket
from server.domain.vocabulary import Priority, Status, TicketType
from server.services import tickets
from tests import factories


async def history_of(ticket_id: int) -> list[tuple[str, str, str]]:
    rows = (
        await HistoryEntry.select(
            HistoryEntry.field, HistoryEntry.old_value, HistoryEntry.new_value
        )
        .where(HistoryEntry.ticket == ticket_id)
        .order_by(HistoryEntry.id)
    )
    return [(r["field"], r["old_value"], r["new_value"]) for r in rows]


async def test_open_ticket_defaults_from_category_and_logs_creation() -> None:
    w = await factories.world()
    ticket_id, events = await tickets.open_ticket(
        w.requester_a,
        parse_new_ticket(
            {"title": "DPI bloqué", "description": "Écran figé", "category_id": str(w.category_id)}
        ),
    )
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["priority"] == Priority.HIGH.value
    assert row["assigned_group"] == w.group_id
    assert row["establishment"] == w.est_a
    assert row["status"] == Status.NEW.value
    assert row["version"] == 1
    assert await history_of(ticket_id) == [
        ("created", "", "new"),
        ("group", "", "Applications (N2)"),
    ]
    assert [e.kind for e in events] == ["ticket.created"]


async def test_requester_without_establishment_cannot_file() -> None:
    lone = await factories.user("lone@nowhere.test")
    with pytest.raises(Forbidden):
        await factories.ticket(lone)
    assert await Ticket.count() == 0


async def test_take_assigns_and_starts_work() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    events = await tickets.take(w.tech, ticket_id, version=1)
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["assignee"] == w.tech.id
    assert row["status"] == Status.ASSIGNED.value
    assert row["version"] == 2
    assert events[0].version == 2
    assert await history_of(ticket_id) == [
        ("created", "", "new"),
        ("assignee", "", "Théo Tech"),
        ("status", "new", "assigned"),
    ]


async def test_requester_cannot_take_or_assign() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    with pytest.raises(Forbidden):
        await tickets.take(w.requester_a, ticket_id, 1)
    with pytest.raises(Forbidden):
        await tickets.assign(w.requester_a, ticket_id, 1, assignee_id=w.tech.id, group_id=None)
    assert (await Ticket.select(Ticket.version).first())["version"] == 1


async def test_resolve_needs_solution_and_failure_writes_nothing() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    before = await history_of(ticket_id)
    with pytest.raises(InvalidTransition):
        await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="")
    assert await history_of(ticket_id) == before
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="Port rouvert")
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.RESOLVED.value
    assert row["solution"] == "Port rouvert"
    assert row["resolved_at"] is not None
    assert (await history_of(ticket_id))[-1] == ("status", "assigned", "resolved")


async def test_requester_reply_reopens_resolved_ticket() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="Fait")
    _, events = await tickets.add_follow_up(
        w.requester_a, ticket_id, NewFollowUp(text="Toujours en panne", private=False, minutes=0)
    )
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.ASSIGNED.value
    assert row["resolved_at"] is None
    assert [e.kind for e in events] == ["ticket.moved"]
    assert events[0].before["status"] == "resolved"
    assert events[0].after["status"] == "assigned"
    assert (await history_of(ticket_id))[-1] == ("status", "resolved", "assigned")


async def test_closed_ticket_takes_no_follow_up() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="Fait")
    await tickets.change_status(w.requester_a, ticket_id, Status.CLOSED, 3)
    with pytest.raises(InvalidTransition):
        await tickets.add_follow_up(w.requester_a, ticket_id, NewFollowUp("Re", False, 0))
    assert await FollowUp.count() == 0


async def test_requester_cannot_write_private_notes() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    with pytest.raises(Forbidden):
        await tickets.add_follow_up(w.requester_a, ticket_id, NewFollowUp("x", True, 0))


async def test_other_establishment_gets_not_found_for_every_use_case() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    with pytest.raises(NotFound):
        await tickets.add_follow_up(w.requester_b, ticket_id, NewFollowUp("x", False, 0))
    with pytest.raises(NotFound):
        await tickets.change_status(w.requester_b, ticket_id, Status.CLOSED, 1)
    with pytest.raises(NotFound):
        await tickets.set_shared(w.requester_b, ticket_id, 1, False)


async def test_stale_version_is_a_conflict_and_changes_nothing() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    with pytest.raises(Conflict):
        await tickets.update_fields(w.tech, ticket_id, 1, priority=Priority.VERY_HIGH)
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["priority"] == Priority.MEDIUM.value


async def test_concurrent_moves_with_same_version_exactly_one_wins() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)

    async def move(target: Status) -> str:
        try:
            await tickets.change_status(w.tech, ticket_id, target, 2)
        except Conflict:
            return "conflict"
        return "won"

    results = await asyncio.gather(move(Status.PENDING), move(Status.PLANNED))
    assert sorted(results) == ["conflict", "won"]
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["version"] == 3
    status_changes = [h for h in await history_of(ticket_id) if h[0] == "status"]
    assert len(status_changes) == 2  # new->assigned, then exactly one of the two moves


async def test_update_fields_logs_each_change() -> None:
    w = await factories.world()
    other_category = await factories.category("Matériel", Priority.MEDIUM)
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.update_fields(
        w.tech,
        ticket_id,
        1,
        priority=Priority.LOW,
        category_id=other_category,
        ticket_type=TicketType.OUTAGE,
    )
    assert (await history_of(ticket_id))[-3:] == [
        ("priority", "medium", "low"),
        ("type", "incident", "outage"),
        ("category", "", "Matériel"),
    ]


async def test_unassigning_returns_ticket_to_backlog() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.assign(w.tech, ticket_id, 1, assignee_id=w.tech.id, group_id=w.group_id)
    await tickets.assign(w.tech, ticket_id, 2, assignee_id=None, group_id=w.group_id)
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.NEW.value
    assert row["assignee"] is None


async def test_foreign_keys_do_not_cascade_delete_tickets() -> None:
    w = await factories.world()
    await factories.ticket(w.requester_a)
    with pytest.raises(Exception, match=r"(?i)foreign key|violates"):
        await Establishment.delete().where(Establishment.id == w.est_a)
    assert await Ticket.count() == 1


async def test_history_is_append_only_in_the_database() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    with pytest.raises(Exception, match="append-only"):
        await HistoryEntry.update({HistoryEntry.new_value: "forged"}).where(
            HistoryEntry.ticket == ticket_id
        )
    with pytest.raises(Exception, match="append-only"):
        await HistoryEntry.delete().where(HistoryEntry.ticket == ticket_id)
    assert await history_of(ticket_id) == [("created", "", "new")]
