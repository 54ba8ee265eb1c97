"""The kanban board: columns by status, filters in the URL, moves by drag or menu."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Response, Template

from server.db import board as board_db
from server.db import card_read, queries
from server.domain.errors import GuichetError, ValidationFailed
from server.domain.forms import parse_status
from server.domain.text import N_
from server.domain.vocabulary import Status
from server.i18n import get_locale, gettext
from server.realtime import render
from server.realtime.publish import publish
from server.services import tickets as service
from server.services.privacy import screen_text
from server.views.board import (
    URL_KEYS,
    Layout,
    cards_target,
    filter_query,
    lane_of,
    parse_filters,
    parse_layout,
    shared_columns_html,
)
from server.web.errors import status_of
from server.web.identity import requires_account
from server.web.params import form_dict


@get("/board", name="board", guards=[requires_account], include_in_schema=False)
async def board_page(request: Request) -> Template:
    raw = {k: request.query_params.get(k, "") for k in URL_KEYS}
    actor = request.user.actor
    filters = await parse_filters(raw, actor.is_staff)
    layout = parse_layout(raw)
    query = filter_query(raw)
    columns_html = await shared_columns_html(
        request.app.state.hub,
        request.user,
        filters,
        layout,
        query,
        request.app.template_engine.engine,
        get_locale(),
    )
    context: dict[str, Any] = {
        "columns_html": columns_html,
        "layout": layout,
        "raw": raw,
        "filter_query": query,
        "movable": actor.is_staff,
        "categories": await queries.categories(),
        "groups": await queries.groups() if actor.is_staff else [],
        "establishments": await queries.establishments() if actor.is_staff else [],
    }
    return Template(template_name="board/page.html", context=context)


@get("/board/column/{status:str}", guards=[requires_account], include_in_schema=False)
async def more_cards(request: Request, status: FromPath[str]) -> Template:
    raw = {k: request.query_params.get(k, "") for k in URL_KEYS}
    try:
        column_status = Status(status)
    except ValueError as exc:
        raise ValidationFailed({"status": N_("Choose one of the proposed values.")}) from exc
    actor = request.user.actor
    filters = await parse_filters(raw, actor.is_staff)
    after = board_db.Cursor.decode(request.query_params.get("after", ""))
    if after is None:
        raise ValidationFailed({"after": N_("This value is not valid.")})
    cards = await board_db.column(actor, filters, column_status, after=after)
    col = render.Column(column_status, cards, 0, request.user.role)
    return Template(
        template_name="board/_more_cards.html",
        context={"col": col, "filter_query": filter_query(raw)},
    )


@post("/tickets/{ticket_id:int}/move", guards=[requires_account], include_in_schema=False)
async def move_ticket(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    """Answer with the card's true state: in its new column, or back where it belongs with
    the reason when the move was refused (stale version, transition not allowed)."""
    values = form_dict(await request.form())
    viewer = request.user
    error: GuichetError | None = None
    try:
        target, version, solution = parse_status(values)
        solution = screen_text({"solution": solution}, values.get("phi", "redact"))["solution"]
        events = await service.move(viewer.actor, ticket_id, target, version, solution)
        await publish(request.app, events)
    except GuichetError as exc:
        error = exc
    # A move that went through proved the viewer sees the ticket (checked in its
    # transaction; a move changes nothing visibility depends on): the card is one read.
    row = await (
        card_read.card(viewer.actor, ticket_id)
        if error is None
        else _visible_card(viewer.actor, ticket_id)
    )
    env = request.app.template_engine.engine
    locale = get_locale()
    parts = []
    if row is not None:
        card = render.card_html(env, row, viewer.role, locale)
        lane = lane_of(_layout_seen(request), row["assigned_group"], row["establishment"])
        parts.append(render.card_placement(env, card, ticket_id, cards_target(row["status"], lane)))
    if error is None:
        assert row is not None
        parts.append(
            render.announcement(env, locale, render.MOVED, id=ticket_id, status=row["status"])
        )
        return Response(content="".join(parts), media_type="text/html", status_code=200)
    parts.append(render.refusal(env, gettext(error.message)))
    return Response(content="".join(parts), media_type="text/html", status_code=status_of(error))


def _layout_seen(request: Request) -> Layout:
    """The layout of the board the move came from (htmx sends the page's address)."""
    query = parse_qs(urlsplit(request.headers.get("hx-current-url", "")).query)
    try:
        return parse_layout({k: v[0] for k, v in query.items()})
    except ValidationFailed:
        return Layout()


async def _visible_card(actor: Any, ticket_id: int) -> dict[str, Any] | None:
    from server.domain.errors import NotFound

    try:
        await queries.visible_ticket(actor, ticket_id)
    except NotFound:
        return None
    return await card_read.card(actor, ticket_id)


ROUTES = [board_page, more_cards, move_ticket]
