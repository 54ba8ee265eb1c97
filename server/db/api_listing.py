"""Ticket lists for API clients: keyset pages (newest id first) over the same filters and the
same visibility clause as the HTML list, so a page never shifts when tickets are added."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.db.queries import _LIST_COLUMNS, TicketFilters, _filter_clauses, establishment_subtree
from server.db.tables import Ticket
from server.domain.actors import Actor


async def ticket_keyset(
    actor: Actor,
    f: TicketFilters,
    *,
    before_id: int | None,
    updated_since: datetime | None,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` rows with ids below ``before_id``; and whether more follow."""
    subtree = await establishment_subtree(f.establishment_id) if f.establishment_id else frozenset()
    clauses = _filter_clauses(actor, f, subtree)
    if before_id is not None:
        clauses.append(Ticket.id < before_id)
    if updated_since is not None:
        clauses.append(Ticket.updated_at >= updated_since)
    rows = (
        await Ticket.select(*_LIST_COLUMNS)
        .where(*clauses)
        .order_by(Ticket.id, ascending=False)
        .limit(limit + 1)
    )
    return rows[:limit], len(rows) > limit
