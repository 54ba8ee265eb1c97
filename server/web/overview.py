"""The supervisor's overview: how many tickets each establishment of the scope has in each
status, with an establishment picker that rolls up children. Counts come from the same
visibility filter as lists, so nobody counts what they may not see."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template
from piccolo.query.functions.aggregate import Count

from server.db import queries
from server.db.tables import Ticket
from server.domain.vocabulary import Status
from server.services import organisation
from server.web.identity import requires_staff
from server.web.params import QueryReader


async def counts_by_establishment(actor: Any, within: frozenset[int] | None) -> dict[int, dict]:
    query = Ticket.select(Ticket.establishment, Ticket.status, Count(Ticket.id, alias="n")).where(
        queries.visible_to(actor)
    )
    if within is not None:
        query = query.where(Ticket.establishment.is_in(sorted(within) or [0]))
    rows = await query.group_by(Ticket.establishment, Ticket.status)
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["establishment"], {})[row["status"]] = row["n"]
    return counts


@get("/overview", guards=[requires_staff], include_in_schema=False)
async def overview(request: Request) -> Template:
    actor = request.user.actor
    read = QueryReader()
    chosen = read.integer(request.query_params.get("establishment"), "establishment")
    read.done()
    within = await queries.establishment_subtree(chosen) if chosen else None
    counts = await counts_by_establishment(actor, within)
    tree = await organisation.establishments_as_tree()
    rows = [r for r in tree if r["id"] in counts]
    totals = {s.value: sum(c.get(s.value, 0) for c in counts.values()) for s in Status}
    return Template(
        template_name="overview.html",
        context={
            "rows": rows,
            "counts": counts,
            "totals": totals,
            "tree": tree,
            "chosen": chosen,
        },
    )


ROUTES = [overview]
