"""The supervisor's overview: how many tickets each establishment of the scope has in each
status, with an establishment picker that rolls up children. Counts come from counters
kept with each change (``db.counters``), filtered by the same access policy as lists, so
nobody counts what they may not see and the page costs the same at any size."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from server.db import counters, queries
from server.domain.vocabulary import Status
from server.services import organisation
from server.web.identity import requires_staff
from server.web.params import QueryReader


@get("/overview", guards=[requires_staff], include_in_schema=False)
async def overview(request: Request) -> Template:
    actor = request.user.actor
    read = QueryReader()
    chosen = read.integer(request.query_params.get("establishment"), "establishment")
    read.done()
    within = await queries.establishment_subtree(chosen) if chosen else None
    counts = await counters.by_establishment(actor, within)
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
