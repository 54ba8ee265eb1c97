"""Ticket links, merge and child tickets from the ticket page (the desk only: for everyone
else these routes do not exist, on any ticket).

An htmx post gets the ticket's links fragment back (fresh, or with the error next to its
field); a plain form post is redirected to the ticket page. A merge or a new child ticket
leads to the ticket the work goes on in.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from litestar_htmx import ClientRedirect

from server.db import queries
from server.domain.errors import GuichetError, ValidationFailed
from server.domain.forms import parse_new_ticket
from server.domain.links import Relation
from server.domain.permissions import can_manage
from server.domain.text import N_
from server.realtime.publish import publish
from server.services import links as service
from server.services import merge as merge_service
from server.services.privacy import screen_text
from server.views.ticket_page import ticket_view
from server.web.errors import field_messages, status_of
from server.web.identity import requires_staff
from server.web.params import form_dict


def _other_id(values: dict[str, str]) -> int:
    raw = values.get("other_id", "").strip().lstrip("#")
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed({"other_id": N_("Give the number of the other ticket.")})
    return int(raw)


async def links_fragment(
    request: Request,
    ticket_id: int,
    error: GuichetError | None = None,
    values: dict[str, str] | None = None,
) -> Response[Any]:
    """The links section of the ticket page (re-reading the ticket also re-checks that the
    viewer may see it: an invisible ticket is a 404 like a missing one)."""
    actor = request.user.actor
    ticket = await queries.visible_ticket(actor, ticket_id)
    if error is None and not request.headers.get("hx-request"):
        return Redirect(path=f"/tickets/{ticket_id}", status_code=303)
    mine = {
        "link_errors": field_messages(error) if error else {},
        "link_values": values or {},
    }
    status = status_of(error) if error else 200
    if not request.headers.get("hx-request"):
        # A plain form post that failed: the whole page, the error next to its field.
        context = await ticket_view(actor, ticket_id)
        context.update(mine, error="", fields={}, values={}, phi={})
        return Template(template_name="tickets/detail.html", context=context, status_code=status)
    access = await queries.ticket_access(ticket)
    context = {
        "ticket": ticket,
        "allowed": {"manage": can_manage(actor, access)},
        "links": await service.links_view(actor, ticket_id),
        "groups": await queries.groups(),
        **mine,
    }
    return Template(template_name="tickets/_links.html", context=context, status_code=status)


@post(
    "/tickets/{ticket_id:int}/links",
    guards=[requires_staff],
    include_in_schema=False,
    status_code=200,
)
async def add_link(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        relation = values.get("relation", "")
        if relation not in {r.value for r in Relation}:
            raise ValidationFailed({"relation": N_("Choose one of the proposed values.")})
        other_id = _other_id(values)
        events = await service.add_link(request.user.actor, ticket_id, other_id, Relation(relation))
        await publish(request.app, events)
    except GuichetError as exc:
        return await links_fragment(request, ticket_id, exc, values)
    return await links_fragment(request, ticket_id)


@post(
    "/tickets/{ticket_id:int}/links/remove",
    guards=[requires_staff],
    include_in_schema=False,
    status_code=200,
)
async def remove_link(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        raw = values.get("link_id", "")
        if not raw.isdigit() or len(raw) > 9:
            raise ValidationFailed({"link_id": N_("Choose one of the proposed values.")})
        events = await service.remove_link(request.user.actor, ticket_id, int(raw))
        await publish(request.app, events)
    except GuichetError as exc:
        return await links_fragment(request, ticket_id, exc, values)
    return await links_fragment(request, ticket_id)


def _go_to(request: Request, ticket_id: int) -> Response[Any]:
    if request.headers.get("hx-request"):
        return ClientRedirect(redirect_to=f"/tickets/{ticket_id}")
    return Redirect(path=f"/tickets/{ticket_id}", status_code=303)


@post(
    "/tickets/{ticket_id:int}/merge",
    guards=[requires_staff],
    include_in_schema=False,
    status_code=200,
)
async def merge(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    """Close this ticket as a duplicate of the one named in ``other_id``."""
    values = form_dict(await request.form())
    try:
        kept_id = _other_id(values)
        events = await merge_service.merge(request.user.actor, ticket_id, kept_id)
        await publish(request.app, events)
    except GuichetError as exc:
        return await links_fragment(request, ticket_id, exc, values)
    return _go_to(request, kept_id)


@post(
    "/tickets/{ticket_id:int}/children",
    guards=[requires_staff],
    include_in_schema=False,
    status_code=200,
)
async def open_child(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    """A follow-on request: a new ticket, child of this one."""
    values = form_dict(await request.form())
    try:
        data = parse_new_ticket(
            {"title": values.get("title", ""), "description": values.get("description", "")}
        )
        screened = screen_text(
            {"title": data.title, "description": data.description}, values.get("phi", "")
        )
        raw_group = values.get("group_id", "")
        group_id = int(raw_group) if raw_group.isdigit() and len(raw_group) <= 9 else None
        child_id, events = await service.open_child(
            request.user.actor, ticket_id, replace(data, **screened), group_id
        )
        await publish(request.app, events)
    except GuichetError as exc:
        return await links_fragment(request, ticket_id, exc, values)
    return _go_to(request, child_id)


ROUTES = [add_link, remove_link, merge, open_child]
