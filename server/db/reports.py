"""SLA compliance figures over a period, restricted to the tickets the viewer may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Count

from server.db.queries import visible_to
from server.db.sla_tables import TicketSla
from server.db.tables import Ticket
from server.domain.actors import Actor
from server.domain.sla_rules import Compliance

GROUPINGS = ("establishment", "group", "priority")


async def compliance(actor: Actor, start: datetime, end: datetime, by: str) -> list[Compliance]:
    """One row per establishment, group or priority: tickets opened in [start, end) that
    have a service level, and how many met each target (open ones are not yet measured).
    Counted in SQL per (key, take state, resolve state): a month is a few dozen rows."""
    key_column = {
        "establishment": TicketSla.ticket.establishment.code,
        "group": TicketSla.ticket.assigned_group.name,
        "priority": TicketSla.ticket.priority,
    }[by]
    opened = Ticket.select(Ticket.id).where(
        visible_to(actor), Ticket.created_at >= start, Ticket.created_at < end
    )
    counts: list[dict[str, Any]] = await (
        TicketSla.select(
            key_column.as_alias("key"),
            TicketSla.take_state,
            TicketSla.resolve_state,
            Count(TicketSla.id, alias="n"),
        )
        .where(TicketSla.ticket.is_in(opened))
        .group_by(key_column, TicketSla.take_state, TicketSla.resolve_state)
    )
    rows: dict[str, Compliance] = {}
    for count in counts:
        key = count["key"] or ""
        row = rows.setdefault(key, Compliance(key))
        for _ in range(count["n"]):
            row.add(count["take_state"], count["resolve_state"])
    return [rows[k] for k in sorted(rows)]
