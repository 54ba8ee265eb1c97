"""What Guichet does by itself, as the system actor: each action goes through the ticket
use cases (so history, notifications and live events are the same as a person's) or, for
what no use case covers yet, writes history and notifications the same way."""

from __future__ import annotations

from typing import Any

from server.db.sla_tables import TicketSla
from server.db.tables import Group, HistoryEntry, Outbox, Ticket, User
from server.domain.actors import SYSTEM
from server.domain.events import TicketEvent
from server.domain.notifications import Kind
from server.domain.sla_rules import raised
from server.domain.text import N_
from server.domain.vocabulary import Priority, Role, Status
from server.services import notifications, tickets

# History entries written by the rules themselves (field "automation", value below).
REMINDER = "reminder"
BREACH_TAKE = "breach_take"
BREACH_RESOLVE = "breach_resolve"
IDLE = "idle"
AUTOMATION_LABELS = {
    REMINDER: N_("Reminder sent to the requester"),
    BREACH_TAKE: N_("Service level breached: taking in charge"),
    BREACH_RESOLVE: N_("Service level breached: resolution"),
    IDLE: N_("Nothing done in time, no higher tier to escalate to"),
    "escalation": N_("Escalated to another group"),
}
# Why a ticket was escalated (kept as a code in the history's old value, shown translated).
REASON_LABELS = {
    "take": N_("taking in charge overdue"),
    "resolve": N_("resolution overdue"),
    IDLE: N_("nothing done in time"),
}


async def _note(ticket_id: int, what: str, note: str = "") -> None:
    await HistoryEntry.insert(
        HistoryEntry(ticket=ticket_id, actor=None, field="automation", new_value=what, note=note)
    )


async def _row(ticket_id: int) -> dict[str, Any]:
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row is not None
    return row


async def escalate_to_group(ticket_id: int, group_id: int, reason: str) -> list[TicketEvent]:
    """Hand the ticket to another group (its backlog: nobody assigned), with the reason in the
    history (comma-separated codes of REASON_LABELS, shown translated). The one place the
    rules move tickets between groups: issue 5's dedicated "escalate to group with reason"
    use case can replace this body."""
    row = await _row(ticket_id)
    if row["assigned_group"] == group_id or row["status"] == Status.CLOSED:
        return []
    events = await tickets.assign(
        SYSTEM, ticket_id, row["version"], assignee_id=None, group_id=group_id
    )
    await notifications.enqueue(Kind.ESCALATED, ticket_id, SYSTEM)
    await HistoryEntry.insert(
        HistoryEntry(
            ticket=ticket_id,
            actor=None,
            field="automation",
            old_value=reason[:500],
            new_value="escalation",
        )
    )
    return events


async def next_tier_group(group_id: int | None) -> int | None:
    """The first group (by name) of the tier above the ticket's group (tier 1 without one)."""
    tier = 0
    if group_id is not None:
        row = await Group.select(Group.tier).where(Group.id == group_id).first()
        tier = row["tier"] if row else 0
    above = (
        await Group.select(Group.id)
        .where(Group.tier > tier)
        .order_by(Group.tier)
        .order_by(Group.name)
        .first()
    )
    return above["id"] if above else None


async def notify_breach(ticket_id: int) -> None:
    """The group in charge hears it (ESCALATED goes to the whole group) and so does every
    active supervisor."""
    chosen = set(await notifications.enqueue(Kind.ESCALATED, ticket_id, SYSTEM))
    supervisors = await User.select(User.id).where(
        (User.role == Role.SUPERVISOR.value) & (User.active == True)  # noqa: E712
    )
    status = (await _row(ticket_id))["status"]
    extra = [s["id"] for s in supervisors if s["id"] not in chosen]
    if extra:
        await Outbox.insert(
            *[
                Outbox(kind=Kind.ESCALATED.value, ticket=ticket_id, recipient=uid, status=status)
                for uid in extra
            ]
        )


async def on_breach(
    ticket_id: int, targets: list[str], policy: dict[str, Any]
) -> list[TicketEvent]:
    """Run the policy's escalation rules once for the targets just found breached."""
    for target in targets:
        flag = TicketSla.take_escalated if target == "take" else TicketSla.resolve_escalated
        await TicketSla.update({flag: True}).where(TicketSla.ticket == ticket_id)
        await _note(ticket_id, BREACH_TAKE if target == "take" else BREACH_RESOLVE)
    events: list[TicketEvent] = []
    if policy["breach_notify"]:
        await notify_breach(ticket_id)
    row = await _row(ticket_id)
    if policy["breach_raise_priority"] and row["priority"] != raised(row["priority"]):
        events += await tickets.update_fields(
            SYSTEM, ticket_id, row["version"], priority=Priority(raised(row["priority"]))
        )
    if policy["breach_group"] is not None:
        events += await escalate_to_group(ticket_id, policy["breach_group"], ",".join(targets))
    return events


async def on_idle(ticket_id: int, hours: int) -> list[TicketEvent]:
    """Nothing happened within ``hours`` of submission: the next tier takes it."""
    await TicketSla.update({TicketSla.idle_escalated: True}).where(TicketSla.ticket == ticket_id)
    row = await _row(ticket_id)
    group_id = await next_tier_group(row["assigned_group"])
    if group_id is None:
        await _note(ticket_id, IDLE)
        await notify_breach(ticket_id)
        return []
    return await escalate_to_group(ticket_id, group_id, IDLE)


async def remind_requester(ticket_id: int) -> list[TicketEvent]:
    """A reminder for the current pending period: mail to the requester, line in the history
    (which is also how the scheduler knows this period had its reminder)."""
    row = await _row(ticket_id)
    await _note(ticket_id, REMINDER)
    await notifications.enqueue(Kind.PENDING_REMINDER, ticket_id, SYSTEM)
    return [await tickets.ticket_event("ticket.updated", ticket_id, row)]
