"""Time spent per ticket over a period (issue 15's reports): the tickets most worked on.

Read from the follow-ups that carry minutes, through a partial index on their date (only the
notes with time spent are in it), limited to the tickets the viewer may see and the report's
filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Sum

from server.db.queries import visible_to
from server.db.tables import FollowUp, Ticket
from server.domain.actors import Actor

TOP = 20  # tickets listed, most minutes first


async def top_tickets(
    actor: Actor,
    start: datetime,
    end: datetime,
    *,
    establishment_ids: frozenset[int] | None = None,
    group_id: int | None = None,
    category_id: int | None = None,
    technician_id: int | None = None,
) -> list[dict[str, Any]]:
    """[{id, title, establishment_code, minutes}] for the period [start, end)."""
    tickets = Ticket.select(Ticket.id).where(visible_to(actor))
    if establishment_ids is not None:
        tickets = tickets.where(Ticket.establishment.is_in(sorted(establishment_ids) or [0]))
    if group_id:
        tickets = tickets.where(Ticket.assigned_group == group_id)
    if category_id:
        tickets = tickets.where(Ticket.category == category_id)
    if technician_id:
        tickets = tickets.where(Ticket.assignee == technician_id)
    sums = await (
        FollowUp.select(FollowUp.ticket, Sum(FollowUp.minutes, alias="minutes"))
        .where(
            FollowUp.minutes > 0,
            FollowUp.created_at >= start,
            FollowUp.created_at < end,
            FollowUp.ticket.is_in(tickets),
        )
        .group_by(FollowUp.ticket)
        .order_by(Sum(FollowUp.minutes), ascending=False)
        .order_by(FollowUp.ticket)
        .limit(TOP)
    )
    if not sums:
        return []
    rows = await Ticket.select(
        Ticket.id, Ticket.title, Ticket.establishment.code.as_alias("establishment_code")
    ).where(Ticket.id.is_in([s["ticket"] for s in sums]))
    by_id = {r["id"]: r for r in rows}
    return [{**by_id[s["ticket"]], "minutes": int(s["minutes"])} for s in sums]
