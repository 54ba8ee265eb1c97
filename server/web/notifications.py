"""In-app notifications: the list behind the bell, mark as read, and per-kind preferences."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server import i18n
from server.db import notifications as notification_db
from server.domain.errors import ValidationFailed
from server.domain.notifications import Kind
from server.realtime.publish import bell_message, publish_message
from server.services import accounts
from server.services import notifications as service
from server.settings import get_settings
from server.web.errors import field_messages
from server.web.identity import requires_account
from server.web.params import QueryReader, form_dict


@get("/notifications", guards=[requires_account], include_in_schema=False)
async def notification_list(request: Request) -> Template:
    read = QueryReader()
    page = read.integer(request.query_params.get("page", ""), "page") or 1
    read.done()
    rows = await notification_db.list_for(request.user.actor, page)
    return Template(
        template_name="notifications/list.html",
        context={
            "rows": rows,
            "page": page,
            "more": len(rows) >= notification_db.PER_PAGE,
            "kind_label": lambda value: Kind(value).label,
            "unread": await notification_db.unread_count(request.user.actor),
        },
    )


async def _read(request: Request, notification_id: int | None) -> Redirect:
    if await service.mark_read(request.user.id, notification_id):
        # The user's other pages update their bell too.
        await publish_message(request.app, bell_message([request.user.id]))
    return Redirect("/notifications", status_code=303)


@post(
    "/notifications/{notification_id:int}/read", guards=[requires_account], include_in_schema=False
)
async def read_one(request: Request, notification_id: FromPath[int]) -> Redirect:
    return await _read(request, notification_id)


@post("/notifications/read-all", guards=[requires_account], include_in_schema=False)
async def read_all(request: Request) -> Redirect:
    return await _read(request, None)


@get("/notifications/preferences", guards=[requires_account], include_in_schema=False)
async def preferences_page(request: Request) -> Template:
    return Template(
        template_name="notifications/preferences.html",
        context=await _preferences_context(request.user.id, saved=False),
    )


async def _preferences_context(
    user_id: int, saved: bool, zone: str | None = None, zone_errors: dict[str, str] | None = None
) -> dict[str, Any]:
    account = await accounts.account(user_id)
    return {
        "kinds": list(Kind),
        "email": await service.preferences(user_id, service.EMAIL),
        "in_app": await service.preferences(user_id, service.IN_APP),
        "saved": saved,
        "zone": account.timezone if account and zone is None else (zone or ""),
        "zone_default": (account.establishment_timezone if account else "")
        or get_settings().default_timezone,
        "zone_errors": zone_errors or {},
    }


@post("/notifications/preferences", guards=[requires_account], include_in_schema=False)
async def save_preferences(request: Request) -> Template:
    form = await request.form()
    chosen = {str(key) for key, _value in form.multi_items()}
    for channel in service.CHANNELS:
        current = await service.preferences(request.user.id, channel)
        for kind in Kind:
            wanted = f"{channel}:{kind.value}" in chosen
            if current[kind] != wanted:
                await service.set_preference(request.user.id, kind, wanted, channel)
    return Template(
        template_name="notifications/preferences.html",
        context=await _preferences_context(request.user.id, saved=True),
    )


@post("/preferences/timezone", guards=[requires_account], include_in_schema=False)
async def save_timezone(request: Request) -> Template:
    """The zone dates are shown in; empty goes back to the establishment's."""
    typed = form_dict(await request.form()).get("timezone", "")
    try:
        await accounts.set_timezone(request.user.id, typed)
    except ValidationFailed as exc:
        return Template(
            template_name="notifications/preferences.html",
            context=await _preferences_context(
                request.user.id, saved=False, zone=typed, zone_errors=field_messages(exc)
            ),
            status_code=400,
        )
    i18n.set_timezone(typed.strip() or request.user.establishment_timezone)
    return Template(
        template_name="notifications/preferences.html",
        context=await _preferences_context(request.user.id, saved=True),
    )


ROUTES = [notification_list, read_one, read_all, preferences_page, save_preferences, save_timezone]
