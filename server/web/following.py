"""Ticket page actions about people: follow ("notify me"), share with named colleagues,
escalate to another group. Same shape as ``web.tickets``: parse, call one service, render."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.params import FromPath
from litestar.response import Response

from server.domain.errors import GuichetError
from server.domain.forms import parse_optional_id
from server.realtime.publish import publish
from server.services import following
from server.services import tickets as service
from server.web.identity import requires_account
from server.web.params import form_dict
from server.web.tickets import _after_action, _version


@post("/tickets/{ticket_id:int}/watch", guards=[requires_account], include_in_schema=False)
async def watch_ticket(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await following.watch(request.user.actor, ticket_id, values.get("watch") == "1")
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/shares", guards=[requires_account], include_in_schema=False)
async def add_share(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        events = await following.share(request.user.actor, ticket_id, values.get("email", "")[:254])
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


@post(
    "/tickets/{ticket_id:int}/shares/{user_id:int}/remove",
    guards=[requires_account],
    include_in_schema=False,
)
async def remove_share(
    request: Request, ticket_id: FromPath[int], user_id: FromPath[int]
) -> Response[Any]:
    try:
        events = await following.unshare(request.user.actor, ticket_id, user_id)
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc)
    return await _after_action(request, ticket_id)


@post("/tickets/{ticket_id:int}/escalate", guards=[requires_account], include_in_schema=False)
async def escalate_ticket(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        group_id = parse_optional_id(values, "group_id")
        events = await service.escalate(
            request.user.actor,
            ticket_id,
            _version(values),
            group_id=group_id or 0,
            reason=values.get("reason", ""),
        )
        await publish(request.app, events)
    except GuichetError as exc:
        return await _after_action(request, ticket_id, exc, values)
    return await _after_action(request, ticket_id)


ROUTES = [watch_ticket, add_share, remove_share, escalate_ticket]
