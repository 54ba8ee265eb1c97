"""Admin pages for outbound webhooks (/admin/webhooks) and their API twin
(/api/v1/webhooks): the same use cases (server.services.webhooks). A new receiver's secret is
shown once, on the answer to its creation, and never again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_201_CREATED

from server.domain.errors import GuichetError, NotFound
from server.domain.webhooks import EVENT_KINDS
from server.services import organisation, webhooks
from server.web.admin import requires_admin
from server.web.api_support import documented, error_responses
from server.web.errors import field_messages, status_of
from server.web.params import DbInt, form_dict

ADMIN = {"guards": [requires_admin], "include_in_schema": False}


def _optional_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


async def _page(
    request: Request,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    created: dict[str, Any] | None = None,
) -> Template:
    return Template(
        template_name="admin/webhooks.html",
        context={
            "hooks": await webhooks.listing(),
            "kinds": EVENT_KINDS,
            "rows": await organisation.establishments_as_tree(),
            "errors": errors or {},
            "values": values or {},
            "created": created,
        },
        status_code=status,
    )


@get("/admin/webhooks", **ADMIN)
async def webhooks_page(request: Request) -> Template:
    return await _page(request)


@post("/admin/webhooks", **ADMIN)
async def create_webhook(request: Request) -> Template:
    form = await request.form()
    values: dict[str, Any] = form_dict(form)
    events = [str(v) for v in form.getall("events", [])]
    values["events"] = events
    try:
        hook_id, secret = await webhooks.create(
            request.user.actor,
            url=values.get("url", ""),
            events=events,
            establishment_id=_optional_id(values.get("establishment_id", "")),
        )
    except GuichetError as exc:
        return await _page(request, status_of(exc), field_messages(exc), values)
    # The only time the secret is shown: the answer to this request, never stored in a page.
    return await _page(request, 201, created={"id": hook_id, "secret": secret})


@post("/admin/webhooks/{webhook_id:int}/active", **ADMIN)
async def toggle_webhook(request: Request, webhook_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await webhooks.set_active(request.user.actor, webhook_id, values.get("active") == "1")
    except GuichetError as exc:
        return await _page(request, status_of(exc), field_messages(exc))
    return Redirect(path="/admin/webhooks", status_code=303)


@post("/admin/webhooks/{webhook_id:int}/delete", **ADMIN)
async def delete_webhook(request: Request, webhook_id: FromPath[int]) -> Response[Any]:
    try:
        await webhooks.delete(request.user.actor, webhook_id)
    except GuichetError as exc:
        return await _page(request, status_of(exc), field_messages(exc))
    return Redirect(path="/admin/webhooks", status_code=303)


ROUTES = [webhooks_page, create_webhook, toggle_webhook, delete_webhook]


# -- API ----------------------------------------------------------------------------------


class WebhookCreate(msgspec.Struct, kw_only=True):
    url: str
    # Event names, e.g. ["ticket.created", "ticket.resolved"] (see WebhookOut.events).
    events: list[str]
    # Only tickets of this establishment and those below it; null: every establishment.
    establishment_id: DbInt | None = None


class WebhookOut(msgspec.Struct):
    id: int
    url: str
    events: list[str]
    establishment_id: int | None
    establishment: str | None
    active: bool
    waiting: int
    created_at: datetime


class WebhookCreated(WebhookOut):
    # Shown this once: verify X-Guichet-Signature (sha256=HMAC-SHA256 of the raw body).
    secret: str = ""


class ActiveChange(msgspec.Struct, kw_only=True):
    active: bool


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "events": row["events"],
        "establishment_id": row["establishment"],
        "establishment": row["establishment_code"],
        "active": row["active"],
        "waiting": row["waiting"],
        "created_at": row["created_at"],
    }


async def _one(webhook_id: int) -> dict[str, Any]:
    for row in await webhooks.listing():
        if row["id"] == webhook_id:
            return _out(row)
    raise NotFound()


@documented(error_responses(400, 401, 404, 422))
class WebhookApi(Controller):
    """Admins only (404 for anyone else, like the admin pages)."""

    path = "/api/v1/webhooks"
    guards = [requires_admin]
    tags = ["webhooks"]
    security = [{"BearerToken": []}]

    @get("/", operation_id="ListWebhooks")
    async def list_webhooks(self) -> list[WebhookOut]:
        """Receivers (never their secrets) and how many deliveries wait for each."""
        return [WebhookOut(**_out(row)) for row in await webhooks.listing()]

    @post("/", operation_id="CreateWebhook", status_code=HTTP_201_CREATED)
    async def create(self, request: Request, data: JSONBody[WebhookCreate]) -> WebhookCreated:
        """A receiver for some of these events: ticket.created, ticket.assigned,
        ticket.status_changed, ticket.follow_up (public ones), ticket.escalated,
        ticket.resolved, ticket.reopened, ticket.closed."""
        hook_id, secret = await webhooks.create(
            request.user.actor,
            url=data.url,
            events=data.events,
            establishment_id=data.establishment_id,
        )
        return WebhookCreated(**await _one(hook_id), secret=secret)

    @post("/{webhook_id:int}/active", operation_id="SetWebhookActive", status_code=200)
    async def set_active(
        self, request: Request, webhook_id: FromPath[int], data: JSONBody[ActiveChange]
    ) -> WebhookOut:
        await webhooks.set_active(request.user.actor, webhook_id, data.active)
        return WebhookOut(**await _one(webhook_id))

    @post("/{webhook_id:int}/delete", operation_id="DeleteWebhook", status_code=204)
    async def delete(self, request: Request, webhook_id: FromPath[int]) -> None:
        await webhooks.delete(request.user.actor, webhook_id)
