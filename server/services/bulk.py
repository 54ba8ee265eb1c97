"""Bulk actions: one change applied to many selected tickets.

Each ticket goes through the very use case of a single change (its access check, rules,
history, notifications and event), in its own transaction: a refusal for one ticket undoes
nothing for the others, and the outcome lists what changed and why the rest was refused.
Following, which changes nothing on the tickets, judges each ticket alike in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from server.db import queries
from server.db.prepared import ticket_row
from server.domain.actors import Actor
from server.domain.bulk import BULK_LIMIT, BulkAction, BulkChange
from server.domain.errors import GuichetError, NotFound, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.links import Relation
from server.domain.text import N_
from server.services import following, links, tickets


@dataclass(slots=True)
class Refusal:
    ticket_id: int
    message: str  # a message id, translated when shown


@dataclass(slots=True)
class BulkOutcome:
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # already as asked
    refused: list[Refusal] = field(default_factory=list)
    events: list[TicketEvent] = field(default_factory=list)


async def apply(actor: Actor, ticket_ids: list[int], change: BulkChange) -> BulkOutcome:
    """Apply ``change`` to each ticket in turn (at most BULK_LIMIT)."""
    outcome = BulkOutcome()
    if change.action is BulkAction.FOLLOW:
        # Following changes nothing on the ticket (no version, history or event): all the
        # selected tickets in one transaction, each still judged on its own.
        selected = list(dict.fromkeys(ticket_ids[:BULK_LIMIT]))
        refused = set(await following.watch_many(actor, selected))
        outcome.changed = [i for i in selected if i not in refused]
        outcome.refused = [Refusal(i, NotFound.message) for i in selected if i in refused]
        return outcome
    for ticket_id in ticket_ids[:BULK_LIMIT]:
        try:
            events = await _one(actor, ticket_id, change)
        except ValidationFailed as exc:
            outcome.refused.append(Refusal(ticket_id, next(iter(exc.errors.values()))))
        except GuichetError as exc:
            outcome.refused.append(Refusal(ticket_id, exc.message))
        else:
            if events:
                outcome.changed.append(ticket_id)
            else:
                outcome.unchanged.append(ticket_id)
            outcome.events += events
    return outcome


async def _one(actor: Actor, ticket_id: int, change: BulkChange) -> list[TicketEvent]:
    # The version the use case checks is the one read now: a bulk change is asked about
    # tickets as they are, and each use case still refuses what its rules refuse.
    row = await ticket_row(ticket_id)
    if row is None:
        raise NotFound()
    version = row["version"]
    match change.action:
        case BulkAction.ASSIGN:
            # What the request leaves out stays as it is on each ticket.
            return await tickets.assign(
                actor,
                ticket_id,
                version,
                assignee_id=change.assignee_id
                if change.assignee_id is not None
                else row["assignee"],
                group_id=change.group_id if change.group_id is not None else row["assigned_group"],
            )
        case BulkAction.STATUS:
            assert change.status is not None
            return await tickets.change_status(
                actor, ticket_id, change.status, version, change.solution
            )
        case BulkAction.PRIORITY:
            return await tickets.update_fields(actor, ticket_id, version, priority=change.priority)
        case BulkAction.CATEGORY:
            return await tickets.update_fields(
                actor, ticket_id, version, category_id=change.category_id
            )
        case BulkAction.PARENT:
            assert change.parent_id is not None
            return await links.add_link(actor, ticket_id, change.parent_id, Relation.CHILD_OF)
    raise ValidationFailed({"action": N_("Choose an action.")})  # pragma: no cover


async def matching_ids(actor: Actor, filters: queries.TicketFilters) -> list[int]:
    """ "Select all matching": the list's own query, with the same filters and visibility, run
    again on the server, capped at BULK_LIMIT tickets."""
    found = await queries.list_tickets(actor, replace(filters, page=1, per_page=BULK_LIMIT))
    return [row["id"] for row in found.rows]
