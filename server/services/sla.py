"""Compute and store a ticket's SLA state. Called inside the transaction of every ticket
change (``services.tickets.ticket_event``) and by the scheduler when a state may change."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server.db import sla_tally
from server.db.prepared import Prepared
from server.db.sla import SlaConfig, load_config, status_history
from server.db.sla_tables import TicketSla
from server.db.tables import Ticket
from server.domain import sla_rules
from server.domain.sla import due, next_change

log = logging.getLogger("guichet.sla")

# Read by every ticket change: compiled once (``server.db.prepared``).
_STORED = Prepared(lambda i: TicketSla.select().where(TicketSla.ticket == i).first(), 987_654_321)


@dataclass(frozen=True, slots=True)
class SlaChange:
    """States before and after a computation ("" when the ticket had no SLA)."""

    ticket_id: int
    before: tuple[str, str]
    after: tuple[str, str]
    row: dict[str, Any] | None  # the stored TicketSla row, None without a policy

    @property
    def changed(self) -> bool:
        return self.before != self.after


async def refresh(
    ticket_id: int,
    now: datetime | None = None,
    config: SlaConfig | None = None,
    ticket: dict[str, Any] | None = None,
) -> SlaChange | None:
    """Recompute the ticket's due times and states as of ``now`` and store them. ``ticket``
    is its current row when the caller has just read it (spares a read)."""
    now = now or datetime.now(UTC)
    ticket = ticket or (
        await Ticket.select(
            Ticket.id,
            Ticket.priority,
            Ticket.category,
            Ticket.ticket_type,
            Ticket.establishment,
            Ticket.assigned_group,
            Ticket.created_at,
        )
        .where(Ticket.id == ticket_id)
        .first()
    )
    if ticket is None:
        return None
    config = config or await load_config()
    old = await _STORED.first(ticket_id)
    before = (old["take_state"], old["resolve_state"]) if old else ("", "")
    counted = sla_tally.key_stored(ticket["created_at"], old)
    policy_row = config.policy(ticket["priority"], ticket["category"], ticket["ticket_type"])
    if policy_row is None:
        if old is not None:
            await TicketSla.delete().where(TicketSla.ticket == ticket_id)
            await sla_tally.follow(counted, None)
        return SlaChange(ticket_id, before, ("", ""), None)
    calendar = config.calendar(ticket["establishment"], ticket["category"])
    policy = sla_rules.policy_value(policy_row)
    history = await status_history(ticket_id, ticket["created_at"])
    try:
        state = due(policy, calendar, history, now)
        check = next_change(policy, calendar, history, now)
    except ValueError:
        # A calendar without business time, or a clock behind the data: show nothing
        # rather than fail the change that triggered the computation.
        log.warning("SLA of ticket %s could not be computed", ticket_id, exc_info=True)
        return None
    values: dict[Any, Any] = {
        TicketSla.policy: policy_row["id"],
        TicketSla.take_due_at: state.take_in_charge.due_at,
        TicketSla.take_state: state.take_in_charge.status.value,
        TicketSla.take_met_at: state.take_in_charge.met_at,
        TicketSla.resolve_due_at: state.resolve.due_at,
        TicketSla.resolve_state: state.resolve.status.value,
        TicketSla.resolve_met_at: state.resolve.met_at,
        TicketSla.paused: state.resolve.paused or state.take_in_charge.paused,
        TicketSla.computed_at: now,
        TicketSla.next_check_at: check,
        **sla_tally.counted_values(ticket),
    }
    named = {column._meta.name: value for column, value in values.items()}
    if old is None:
        await TicketSla.insert(TicketSla(ticket=ticket_id, **named))
        old = {"take_escalated": False, "resolve_escalated": False, "idle_escalated": False}
    else:
        await TicketSla.update(values).where(TicketSla.ticket == ticket_id)
    row = {**old, **named, "ticket": ticket_id}
    after = (state.take_in_charge.status.value, state.resolve.status.value)
    await sla_tally.follow(counted, sla_tally.key_now(ticket, *after))
    return SlaChange(ticket_id, before, after, row)


async def refresh_all(now: datetime | None = None) -> int:
    """Recompute every ticket (after demo loading or a policy change); returns the count."""
    config = await load_config()
    ids = [r["id"] for r in await Ticket.select(Ticket.id)]
    for ticket_id in ids:
        await refresh(ticket_id, now, config)
    return len(ids)
