"""Bulk actions from the ticket lists and the board (the desk only).

The selection arrives as ticket numbers, or as "all matching" with the list's own query
string, which is run again here with the viewer's filters and visibility. The answer is a
summary: what changed, what was already so, and each refusal with its reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, post
from litestar.datastructures import MultiDict
from litestar.response import Template

from server.domain.bulk import BULK_LIMIT, parse_bulk_change, parse_ticket_ids
from server.domain.errors import GuichetError
from server.i18n import gettext
from server.realtime.publish import publish
from server.services import bulk as service
from server.services.privacy import screen_text
from server.views.ticket_list import filters_from_query
from server.web.errors import field_messages, status_of
from server.web.identity import requires_staff


class _ListQuery:
    """The attributes of a request that ``filters_from_query`` reads, from a query string."""

    def __init__(self, request: Request, query: str) -> None:
        self.query_params = MultiDict(parse_qsl(query[:2000]))
        self.user = request.user


async def selected_ids(request: Request, form: MultiDict[Any]) -> list[int]:
    if form.get("all_matching") == "1":
        filters = filters_from_query(_ListQuery(request, str(form.get("query", ""))))
        return await service.matching_ids(request.user.actor, filters)
    return parse_ticket_ids([str(v) for v in form.getall("ids", [])])


@post("/bulk", guards=[requires_staff], include_in_schema=False, status_code=200)
async def bulk_apply(request: Request) -> Template:
    actor = request.user.actor
    form = await request.form()
    values = {key: str(value) for key, value in form.items()}
    try:
        change = parse_bulk_change(values)
        if change.solution:
            screened = screen_text({"solution": change.solution}, values.get("phi", ""))
            change = replace(change, solution=screened["solution"])
        ids = await selected_ids(request, form)
    except GuichetError as exc:
        context = {"errors": field_messages(exc), "error": gettext(exc.message), "outcome": None}
        return _summary(request, context, status_of(exc))
    outcome = await service.apply(actor, ids, change)
    # Every changed ticket is published: boards and lists watching them follow at once.
    await publish(request.app, outcome.events)
    context = {"errors": {}, "error": "", "outcome": outcome, "change": change}
    context["limit"] = BULK_LIMIT
    return _summary(request, context, 200)


def _summary(request: Request, context: dict[str, Any], status: int) -> Template:
    name = (
        "tickets/_bulk_summary.html" if request.headers.get("hx-request") else "tickets/bulk.html"
    )
    return Template(template_name=name, context=context, status_code=status)


ROUTES = [bulk_apply]
