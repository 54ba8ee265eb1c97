"""What a viewer sees of a ticket: one builder shared by pages, htmx fragments and
websocket pushes, so every path shows the same thing under the same rules."""

from __future__ import annotations

from typing import Any

from server.db import intake as intake_db
from server.db import queries
from server.db import sla as sla_db
from server.domain.actors import Actor
from server.domain.lifecycle import TicketFacts, allowed_targets
from server.domain.permissions import (
    can_comment,
    can_manage,
    can_see_private_notes,
    can_set_shared,
    can_share_with_people,
)
from server.domain.vocabulary import Status
from server.services import canned, following, links


async def ticket_view(actor: Actor, ticket_id: int) -> dict[str, Any]:
    """Raises NotFound when the ticket is missing or invisible to the actor."""
    page = await queries.visible_ticket_page(actor, ticket_id)
    ticket, access = page.row, page.access
    status = Status(ticket["status"])
    facts = TicketFacts(
        status=status, requester_id=ticket["requester"], assignee_id=ticket["assignee"]
    )
    manage = can_manage(actor, access)
    allowed = {
        "manage": manage,
        "comment": can_comment(actor, access) and status is not Status.CLOSED,
        "private_notes": can_see_private_notes(actor),
        "share": can_set_shared(actor, access),
        "share_people": can_share_with_people(actor, access),
        "is_requester": actor.id == ticket["requester"],
        "take": manage and status.is_open and ticket["assignee"] != actor.id,
        "targets": [t for t in allowed_targets(facts, actor) if t is not status],
    }
    # The composer: to answer, or (a closed ticket a supervisor may reopen) to change status.
    allowed["compose"] = allowed["comment"] or (manage and bool(allowed["targets"]))
    context: dict[str, Any] = {
        "ticket": ticket,
        "timeline": await queries.timeline(actor, ticket_id),
        "allowed": allowed,
        "sla": await sla_db.ticket_sla(ticket_id),
        "links": await links.links_view(actor, ticket_id),
        "intake": intake_db.ticket_intake(ticket),  # tickets/_intake_facts.html
    }
    context["people"] = {
        "watching": ticket["viewer_watches"],
        "shares": page.shares,
        "colleagues": (
            await following.shareable_colleagues(ticket, page.shares)
            if allowed["share_people"] and not actor.is_staff
            else []
        ),
    }
    if actor.is_supervisor:
        context["downloads"] = await queries.downloads(ticket_id)
    if manage:
        context["groups"] = await queries.groups()
        # Escalation offers the current group's "next tier" first (issue 14).
        current = next((g for g in context["groups"] if g["id"] == ticket["assigned_group"]), None)
        next_tier = current["next_tier"] if current is not None else None
        context["next_tier"] = next((g for g in context["groups"] if g["id"] == next_tier), None)
        context["technicians"] = await queries.technicians()
        context["categories"] = await queries.categories()
        context["canned"] = await canned.for_ticket(actor, ticket)
    return context
