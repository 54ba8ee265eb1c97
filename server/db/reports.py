"""SLA compliance figures over a period, restricted to the tickets the viewer may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.db.queries import visible_to
from server.db.sla_tables import TicketSla
from server.db.tables import Ticket
from server.domain.actors import Actor
from server.domain.sla_rules import Compliance

GROUPINGS = ("establishment", "group", "priority")
CHUNK = 500


async def compliance(actor: Actor, start: datetime, end: datetime, by: str) -> list[Compliance]:
    """One row per establishment, group or priority: tickets opened in [start, end) that
    have a service level, and how many met each target (open ones are not yet measured)."""
    key_column = {
        "establishment": Ticket.establishment.code.as_alias("key"),
        "group": Ticket.assigned_group.name.as_alias("key"),
        "priority": Ticket.priority.as_alias("key"),
    }[by]
    tickets = await Ticket.select(Ticket.id, key_column).where(
        visible_to(actor), Ticket.created_at >= start, Ticket.created_at < end
    )
    keys = {t["id"]: t["key"] or "" for t in tickets}
    rows: dict[str, Compliance] = {}
    ids = sorted(keys)
    for offset in range(0, len(ids), CHUNK):
        states: list[dict[str, Any]] = await TicketSla.select(
            TicketSla.ticket, TicketSla.take_state, TicketSla.resolve_state
        ).where(TicketSla.ticket.is_in(ids[offset : offset + CHUNK]))
        for state in states:
            key = keys[state["ticket"]]
            rows.setdefault(key, Compliance(key)).add(state["take_state"], state["resolve_state"])
    return [rows[k] for k in sorted(rows)]
