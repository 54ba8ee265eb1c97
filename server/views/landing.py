"""A technician's landing page: their own tickets and their groups' unassigned backlog, each a
short list (most urgent first) with its exact count from the tally kept with every change."""

from __future__ import annotations

from typing import Any

from piccolo.query.functions.aggregate import Sum

from server.db import queries
from server.db.counter_tables import TicketTally
from server.domain.actors import Actor

SHOWN = 8


async def _open_count(*where: Any) -> int:
    row = await (
        TicketTally.select(Sum(TicketTally.n, alias="n"))
        .where(TicketTally.status.is_in(queries.OPEN_STATUSES), *where)
        .first()
    )
    return int((row or {}).get("n") or 0)


async def landing_context(actor: Actor) -> dict[str, Any]:
    """Both lists go through the access policy (``list_tickets``); the counts need not:
    a ticket assigned to the actor, or to one of their groups, is visible to them."""
    groups = tuple(sorted(actor.group_ids)) or (0,)
    # Their counts come from the tally below, not from the lists.
    mine = await queries.list_tickets(
        actor, queries.TicketFilters(assignee="me", sort="urgent", per_page=SHOWN), counted=False
    )
    backlog = await queries.list_tickets(
        actor,
        queries.TicketFilters(assignee="none", group_ids=groups, sort="urgent", per_page=SHOWN),
        counted=False,
    )
    return {
        "mine": mine.rows,
        "mine_count": await _open_count(TicketTally.assignee == actor.id),
        "backlog": backlog.rows,
        "backlog_count": await _open_count(
            TicketTally.assigned_group.is_in(list(groups)), TicketTally.assignee == 0
        ),
    }
