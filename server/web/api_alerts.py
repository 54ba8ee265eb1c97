"""Monitoring intake: ``POST /api/v1/alerts`` files a ticket per alert key and establishment
(the token's account's), or adds a follow-up to the one still open (see
server.services.monitoring). Conventions as in server.web.api_support."""

from __future__ import annotations

from dataclasses import replace

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from server.domain.forms import parse_new_ticket
from server.domain.vocabulary import Environment, Priority, TicketType
from server.realtime.publish import publish
from server.services import monitoring
from server.services.privacy import screen_text
from server.web.api import TicketDetail, _detail_response
from server.web.api_support import READ_ERRORS
from server.web.identity import requires_account
from server.web.params import DbInt


class AlertCreate(msgspec.Struct, kw_only=True):
    # The monitoring system's identity of the alert (host + check, for instance).
    dedup_key: str
    title: str
    description: str
    type: TicketType = TicketType.INCIDENT
    priority: Priority | None = None
    category_id: DbInt | None = None
    environment: Environment = Environment.PRODUCTION
    # When the text seems to hold patient identifiers: "redact" or "send" (422 otherwise).
    phi: str = ""


class AlertApi(Controller):
    path = "/api/v1/alerts"
    guards = [requires_account]
    tags = ["monitoring"]
    security = [{"BearerToken": []}]

    @post(
        "/",
        operation_id="FileAlert",
        responses=READ_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def file_alert(
        self, request: Request, data: JSONBody[AlertCreate]
    ) -> Response[TicketDetail]:
        """201 with a new ticket (source "monitoring"); 200 with the ticket still open for
        this ``dedup_key`` in the caller's establishment, the alert added as a follow-up."""
        fields = msgspec.structs.asdict(data)
        parsed = parse_new_ticket({**fields, "notify": True, "shared": True})
        screened = screen_text({"title": parsed.title, "description": parsed.description}, data.phi)
        parsed = replace(parsed, **screened)
        outcome = await monitoring.file_alert(
            request.user.actor, data.dedup_key, parsed, repeat_text=parsed.description
        )
        await publish(request.app, outcome.events)
        status = HTTP_201_CREATED if outcome.created else HTTP_200_OK
        return await _detail_response(request, outcome.ticket_id, status)
