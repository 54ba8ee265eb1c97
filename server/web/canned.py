"""Canned reply pages for the desk: list, create, edit, archive (insertion happens in the
ticket composer, server/web/tickets.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from server import i18n
from server.domain.canned import PLACEHOLDERS, CannedDraft, parse_canned
from server.domain.errors import GuichetError, ValidationFailed
from server.i18n import gettext
from server.services import canned as service
from server.web.errors import field_messages, status_of
from server.web.identity import requires_staff
from server.web.params import form_dict


@get("/canned", guards=[requires_staff], include_in_schema=False)
async def canned_list(request: Request) -> Template:
    archived = request.query_params.get("archived") == "1"
    replies = await service.manageable(request.user.actor, archived=archived)
    return Template(
        template_name="canned/list.html", context={"replies": replies, "archived": archived}
    )


async def _form(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    item_id: int | None = None,
    status: int = 200,
) -> Template:
    return Template(
        template_name="canned/form.html",
        context={
            "values": values,
            "errors": errors,
            "item_id": item_id,
            "groups": await service.writable_groups(request.user.actor),
            "languages": i18n.LANGUAGE_NAMES,
            "placeholders": PLACEHOLDERS,
        },
        status_code=status,
    )


async def _draft(request: Request, values: dict[str, str]) -> CannedDraft:
    actor = request.user.actor
    groups = await service.writable_groups(actor)
    return parse_canned(
        values,
        actor_id=actor.id,
        group_ids=[g["id"] for g in groups],
        languages=i18n.SUPPORTED,
    )


def _errors(exc: GuichetError) -> dict[str, str]:
    if isinstance(exc, ValidationFailed):
        return field_messages(exc)
    return {"__all__": gettext(exc.message)}


@get("/canned/new", guards=[requires_staff], include_in_schema=False)
async def new_canned(request: Request) -> Template:
    return await _form(request, {"language": i18n.get_locale(), "scope": "me"}, {})


@post("/canned", guards=[requires_staff], include_in_schema=False)
async def create_canned(request: Request) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await service.create(request.user.actor, await _draft(request, values))
    except GuichetError as exc:
        return await _form(request, values, _errors(exc), status=status_of(exc))
    return Redirect(path="/canned", status_code=303)


@get("/canned/{item_id:int}", guards=[requires_staff], include_in_schema=False)
async def edit_canned(request: Request, item_id: FromPath[int]) -> Template:
    row = await service.get(request.user.actor, item_id)
    values = {
        **row,
        "scope": "me" if row["owner"] is not None else str(row["group"]),
    }
    return await _form(request, values, {}, item_id=item_id)


@post("/canned/{item_id:int}", guards=[requires_staff], include_in_schema=False)
async def update_canned(request: Request, item_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await service.get(request.user.actor, item_id)  # 404 first, whatever was typed
        await service.update(request.user.actor, item_id, await _draft(request, values))
    except ValidationFailed as exc:
        return await _form(request, values, _errors(exc), item_id=item_id, status=422)
    return Redirect(path="/canned", status_code=303)


@post("/canned/{item_id:int}/archive", guards=[requires_staff], include_in_schema=False)
async def archive_canned(request: Request, item_id: FromPath[int]) -> Redirect:
    values = form_dict(await request.form())
    archived = values.get("archived", "1") != "0"
    await service.set_archived(request.user.actor, item_id, archived)
    return Redirect(path="/canned?archived=1" if not archived else "/canned", status_code=303)


ROUTES = [canned_list, new_canned, create_canned, edit_canned, update_canned, archive_canned]
