"""Intake endpoints (issue 14): the requester picker and category preview of the new-ticket
form, and the contact details of a ticket. Each handler parses, calls one service, renders."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from server.domain.errors import GuichetError, ValidationFailed
from server.i18n import get_locale, gettext
from server.services import intake
from server.views.catalogue import new_ticket_choices
from server.views.ticket_page import ticket_view
from server.web.errors import field_messages, status_of
from server.web.identity import requires_account, requires_staff
from server.web.params import form_dict


def _optional_id(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and 0 < len(raw) < 10 else None


@get("/intake/requesters", guards=[requires_staff], include_in_schema=False)
async def requester_choices(request: Request) -> Template:
    """The people matching what was typed, among those the technician may serve."""
    text = request.query_params.get("requester_search", "")[:100]
    rows = await intake.find_requesters(request.user.actor, text)
    return Template(
        template_name="tickets/_requester_choices.html",
        context={"rows": rows, "searched": len(text.strip()) >= 2},
    )


@get("/intake/category-preview", guards=[requires_account], include_in_schema=False)
async def category_preview(request: Request) -> Template:
    q = request.query_params
    category_id = _optional_id(q.get("category_id"))
    request_type_id = _optional_id(q.get("request_type_id"))
    preview = await intake.route_preview(
        request.user.actor,
        category_id,
        _optional_id(q.get("requester_id")),
        get_locale(),
        request_type_id,
    )
    context: dict[str, Any] = {"preview": preview, "errors": {}}
    if request.headers.get("hx-trigger") != "request_type_id":
        # A new category: its own request types replace the field (out of band).
        choices = await new_ticket_choices(request.user.actor)
        context["types"] = choices["request_types"].get(category_id or 0, [])
        context["chosen_type"] = ""
    return Template(template_name="tickets/_category_preview.html", context=context)


@post("/tickets/{ticket_id:int}/contact", guards=[requires_staff], include_in_schema=False)
async def save_contact(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    error: GuichetError | None = None
    try:
        await intake.save_contact(request.user.actor, ticket_id, values)
    except GuichetError as exc:
        error = exc
    if error is None and not request.headers.get("hx-request"):
        return Redirect(path=f"/tickets/{ticket_id}", status_code=303)
    # Re-reading re-checks visibility: an invisible ticket is the same 404 as a missing one.
    context = await ticket_view(request.user.actor, ticket_id)
    context.update(
        error=gettext(error.message) if error else "",
        fields=field_messages(error) if isinstance(error, ValidationFailed) else {},
        values=values if error else {},
        phi={},
    )
    name = "tickets/_main.html" if request.headers.get("hx-request") else "tickets/detail.html"
    return Template(
        template_name=name, context=context, status_code=status_of(error) if error else 200
    )


ROUTES = [requester_choices, category_preview, save_contact]
