"""Ticket pages and htmx actions for requesters and technicians.

Each handler parses input, calls one service, and renders. An action posted by htmx gets the
ticket's main fragment back (fresh state, or the same state with the error); a plain form post
is redirected to the ticket page (post/redirect/get).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from server.db import queries
from server.domain.actors import Actor
from server.domain.composer import parse_answer, parse_canned_ids
from server.domain.errors import (
    GuichetError,
    IdentifiersFound,
    NotFound,
    ValidationFailed,
)
from server.domain.forms import (
    parse_choice,
    parse_follow_up,
    parse_new_ticket,
    parse_optional_id,
    parse_status,
)
from server.domain.text import N_
from server.domain.vocabulary import Priority, Source, TicketType
from server.i18n import gettext
from server.realtime.publish import publish
from server.services import canned, intake, knowledge
from server.services import tickets as service
from server.services.privacy import detector_config, screen_text
from server.views.catalogue import new_ticket_choices
from server.views.ticket_list import REQUESTER_SCOPES, STAFF_SCOPES, filters_from_query
from server.views.ticket_page import ticket_view
from server.web.errors import field_messages, status_of
from server.web.identity import requires_account
from server.web.params import form_dict


def _query_with(request: Request, **changes: Any) -> str:
    """The current query string with some parameters replaced (for pagination links)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items()]
    return urlencode(params)


@get("/tickets", name="tickets", guards=[requires_account], include_in_schema=False)
async def ticket_list(request: Request) -> Template:
    filters = filters_from_query(request)
    actor = request.user.actor
    result = await queries.list_tickets(actor, filters)
    context: dict[str, Any] = {
        "page": result,
        "filters": filters,
        "query": request.query_params,
        "scope": request.query_params.get("scope")
        or (STAFF_SCOPES if actor.is_staff else REQUESTER_SCOPES)[0],
        "categories": await queries.categories(),
    }
    if actor.is_staff:
        context["bulk"] = True  # the selection column and bar (server.web.bulk)
        context["groups"] = await queries.groups()
        context["technicians"] = await queries.technicians()
        context["establishments"] = await queries.establishments()
    context["query_with"] = lambda **changes: _query_with(request, **changes)
    context["live_query"] = urlencode(list(request.query_params.multi_items()))
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "ticket-list":
        return Template(template_name="tickets/_list.html", context=context)
    return Template(template_name="tickets/list.html", context=context)


async def _new_form(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    phi: dict[str, Any] | None = None,
) -> Template:
    actor = request.user.actor
    intake_context: dict[str, Any] = {"servable": [], "chosen_requester": None}
    if actor.is_staff:
        intake_context = await intake.form_context(actor, values.get("requester_id", ""))
    return Template(
        template_name="tickets/new.html",
        context={
            **intake_context,
            "values": values,
            "errors": errors,
            "phi": phi or {},
            # Categories open to the requester, named in their language, with request types.
            **await new_ticket_choices(request.user.actor),
            # The knowledge-base suggestion session of this form (kept across re-renders).
            "suggestion_token": values.get("suggestion_token", "")[:32]
            or await knowledge.start_suggestions(request.user.actor),
        },
        status_code=status,
    )


def _source(request: Request, values: dict[str, str]) -> Source:
    """The channel the ticket came by: staff say it (a phone call, a walk-in...); a ticket
    typed by its requester came by the web form."""
    if not request.user.actor.is_staff or not values.get("source"):
        return Source.WEB
    return parse_choice(values, "source", Source)


@get("/tickets/new", guards=[requires_account], include_in_schema=False)
async def new_ticket_form(request: Request) -> Template:
    account = request.user
    return await _new_form(request, {"contact_name": account.full_name}, {})


@post("/tickets", guards=[requires_account], include_in_schema=False)
async def create_ticket(request: Request) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        data = replace(parse_new_ticket(values), source=_source(request, values))
        screened = screen_text(
            {"title": data.title, "description": data.description}, values.get("phi", "")
        )
        data = replace(data, **screened)
        # Staff may file it for someone they serve (issue 14): services.intake decides.
        ticket_id, events = await intake.file_ticket(request.user.actor, data, values)
        await publish(request.app, events)
        if values.get("suggestion_token"):
            await knowledge.suggestion_ended(
                request.user.actor, values["suggestion_token"], "submitted"
            )
    except ValidationFailed as exc:
        errors = field_messages(exc)
        return await _new_form(request, values, errors, 422)
    except IdentifiersFound as exc:
        return await _new_form(request, values, {}, 422, phi=exc.findings)
    except GuichetError as exc:
        return await _new_form(request, values, {"__all__": gettext(exc.message)}, status_of(exc))
    return Redirect(path=f"/tickets/{ticket_id}", status_code=303)


@get("/tickets/{ticket_id:int}", guards=[requires_account], include_in_schema=False)
async def ticket_page(request: Request, ticket_id: FromPath[int]) -> Template:
    context = await ticket_view(request.user.actor, ticket_id)
    context.update(error="", fields={}, values={}, phi={})
    return Template(template_name="tickets/detail.html", context=context)


async def _after_action(
    request: Request,
    ticket_id: int,
    error: GuichetError | None = None,
    values: dict[str, str] | None = None,
) -> Response[Any]:
    """Answer an action: the fresh fragment for htmx, a redirect or page otherwise.

    An action posted from the facts panel gets the panel back (and the head, solution,
    timeline and composer out of band), so the composer and the scroll position stay; any
    other htmx action gets the ticket's main fragment."""
    if error is None and not request.headers.get("hx-request"):
        return Redirect(path=f"/tickets/{ticket_id}", status_code=303)
    from_facts = request.headers.get("hx-target") == f"facts-{ticket_id}"
    context = await _page_context(
        request, ticket_id, error, values, where="facts" if from_facts else "main"
    )
    status = status_of(error) if error else 200
    if not request.headers.get("hx-request"):
        name = "tickets/detail.html"
    elif from_facts:
        name = "tickets/_facts_answer.html"
    else:
        name = "tickets/_main.html"
    return Template(template_name=name, context=context, status_code=status)


async def _page_context(
    request: Request,
    ticket_id: int,
    error: GuichetError | None,
    values: dict[str, str] | None,
    *,
    where: str,
) -> dict[str, Any]:
    """The ticket page's context with an action's outcome: its error shown at ``where``
    (main, facts or composer), field messages and what was typed."""
    # Re-reading also re-checks visibility: a ticket that became invisible is a 404.
    context = await ticket_view(request.user.actor, ticket_id)
    fields: dict[str, str] = {}
    message = ""
    if error is not None:
        message = gettext(error.message)
        if isinstance(error, ValidationFailed):
            fields = field_messages(error)
    phi = error.findings if isinstance(error, IdentifiersFound) else {}
    context.update(error=message, fields=fields, values=values or {}, phi=phi, error_at=where)
    return context


def _version(values: dict[str, str]) -> int:
    raw = values.get("version", "")
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed({"version": N_("This field is required.")})
    return int(raw)


@post("/tickets/{ticket_id:int}/follow-ups", guards=[requires_account], include_in_schema=False)
async def add_follow_up(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    actor = request.user.actor
    try:
        data = parse_follow_up(values, may_be_private=actor.is_staff)
        data = replace(data, **screen_text({"text": data.text}, values.get("phi", "")))
        _id, events = await service.add_follow_up(actor, ticket_id, data)
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/take", guards=[requires_account], include_in_schema=False)
async def take_ticket(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        events = await service.take(request.user.actor, ticket_id, _version(values))
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/assign", guards=[requires_account], include_in_schema=False)
async def assign_ticket(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        events = await service.assign(
            request.user.actor,
            ticket_id,
            _version(values),
            assignee_id=parse_optional_id(values, "assignee_id"),
            group_id=parse_optional_id(values, "group_id"),
        )
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/status", guards=[requires_account], include_in_schema=False)
async def change_status(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        target, version, solution = parse_status(values)
        solution = screen_text({"solution": solution}, values.get("phi", ""))["solution"]
        events = await service.change_status(
            request.user.actor, ticket_id, target, version, solution
        )
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/fields", guards=[requires_account], include_in_schema=False)
async def change_fields(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        events = await service.update_fields(
            request.user.actor,
            ticket_id,
            _version(values),
            priority=parse_choice(values, "priority", Priority) if values.get("priority") else None,
            category_id=parse_optional_id(values, "category_id"),
            ticket_type=parse_choice(values, "type", TicketType) if values.get("type") else None,
        )
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/shared", guards=[requires_account], include_in_schema=False)
async def change_shared(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        shared = values.get("shared", "") in ("1", "true", "on")
        events = await service.set_shared(request.user.actor, ticket_id, _version(values), shared)
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/redact", guards=[requires_account], include_in_schema=False)
async def redact_text(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        events = await service.redact_stored_text(
            request.user.actor,
            ticket_id,
            _version(values),
            values.get("target", ""),
            values.get("hide", "")[:500],
            detector_config(),
        )
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


async def _after_answer(
    request: Request,
    ticket_id: int,
    error: GuichetError | None = None,
    values: dict[str, str] | None = None,
    *,
    inserted: bool = False,
) -> Response[Any]:
    """The composer comes back alone (typed values and errors kept; empty after a send),
    with the head, facts, solution and timeline out of band; without htmx, post/redirect/get
    or the whole page with the errors."""
    if error is None and not inserted and not request.headers.get("hx-request"):
        return Redirect(path=f"/tickets/{ticket_id}", status_code=303)
    context = await _page_context(request, ticket_id, error, values, where="composer")
    context["inserted"] = inserted
    status = status_of(error) if error else 200
    name = "tickets/_answer.html" if request.headers.get("hx-request") else "tickets/detail.html"
    return Template(template_name=name, context=context, status_code=status)


@post("/tickets/{ticket_id:int}/answer", guards=[requires_account], include_in_schema=False)
async def answer(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    """The composer's one submit (reply or note, status, minutes), or the insertion of a
    canned reply into the text being written (nothing is saved then)."""
    values = form_dict(await request.form())
    actor = request.user.actor
    try:
        if values.get("insert"):
            values = await _with_canned_reply(actor, ticket_id, values)
            return await _after_answer(request, ticket_id, None, values, inserted=True)
        data = parse_answer(values, may_be_private=actor.is_staff)
        screened = screen_text(
            {"text": data.text, "solution": data.solution}, values.get("phi", "")
        )
        data = replace(data, **screened)
        _id, events = await service.answer(actor, ticket_id, data)
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_answer(request, ticket_id, exc, values)
    return await _after_answer(request, ticket_id)


async def _with_canned_reply(
    actor: Actor, ticket_id: int, values: dict[str, str]
) -> dict[str, str]:
    """The composer's values with the chosen canned reply appended to the text, and its id
    remembered (counted once the answer is sent)."""
    canned_id = parse_optional_id(values, "canned_id")
    if canned_id is None:
        raise ValidationFailed({"canned_id": N_("This field is required.")})
    try:
        text = await canned.expansion(actor, ticket_id, canned_id)
    except NotFound:
        # The ticket's own visibility was checked first: this is about the reply.
        await queries.visible_ticket(actor, ticket_id)
        raise ValidationFailed({"canned_id": N_("Choose one of the proposed values.")}) from None
    typed = values.get("text", "").rstrip()
    ids = [*parse_canned_ids(values.get("canned_ids")), canned_id]
    return {
        **values,
        "text": f"{typed}\n\n{text}" if typed else text,
        "canned_ids": ",".join(str(i) for i in dict.fromkeys(ids)),
    }


ROUTES = [
    answer,
    redact_text,
    ticket_list,
    new_ticket_form,
    create_ticket,
    ticket_page,
    add_follow_up,
    take_ticket,
    assign_ticket,
    change_status,
    change_fields,
    change_shared,
]
