"""Board columns and filters, for the board page and the board's websocket alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment
from markupsafe import Markup

from server import i18n
from server.db import board as board_db
from server.db import queries
from server.domain.board import COLUMNS, BoardFilters
from server.domain.vocabulary import Priority
from server.realtime import render, snapshots
from server.views import card_cache
from server.views.query import QueryReader

FILTER_KEYS = ("establishment", "group", "assignee", "category", "priority", "q")
# How the board is laid out (not which cards it shows): kept in the URL beside the filters.
LAYOUT_KEYS = ("density", "lanes")
DENSITIES = ("", "compact")
LANES = ("", "group", "establishment")
URL_KEYS = FILTER_KEYS + LAYOUT_KEYS


@dataclass(frozen=True, slots=True)
class Layout:
    density: str = ""  # "" comfortable | "compact" (about three times more cards a screen)
    lanes: str = ""  # "" none | "group" | "establishment": one horizontal lane each


def parse_layout(raw: dict[str, str]) -> Layout:
    read = QueryReader()
    layout = Layout(
        density=read.one_of(raw.get("density", ""), "density", DENSITIES),
        lanes=read.one_of(raw.get("lanes", ""), "lanes", LANES),
    )
    read.done()
    return layout


def lane_of(layout: Layout, group_id: int | None, establishment_id: int | None) -> str:
    """The lane a card goes in ("" without lanes); part of its container's id."""
    if layout.lanes == "group":
        return f"g{group_id or 0}"
    if layout.lanes == "establishment":
        return f"e{establishment_id or 0}"
    return ""


def cards_target(status: str, lane: str) -> str:
    """The id of the list a card of this status (and lane) is appended to."""
    return f"cards-{lane}-{status}" if lane else f"cards-{status}"


@dataclass(slots=True)
class Lane:
    key: str
    title: str
    cells: list[tuple[render.Column, list[dict[str, Any]]]] = field(default_factory=list)


async def lanes_for(layout: Layout, columns: list[render.Column]) -> list[Lane]:
    """The board's cards cut into lanes (each lane has every column, most cards first)."""
    if not layout.lanes:
        return []
    if layout.lanes == "group":
        names = {f"g{g['id']}": g["name"] for g in await queries.groups()}
    else:
        names = {
            f"e{e['id']}": f"{e['code']} · {e['name']}" for e in await queries.establishments()
        }
    by_lane: dict[str, dict[Any, list[dict[str, Any]]]] = {}
    for col in columns:
        for c in col.cards:
            key = lane_of(layout, c["assigned_group"], c["establishment"])
            by_lane.setdefault(key, {}).setdefault(col.status, []).append(c)
    ordered = sorted(
        by_lane, key=lambda k: (-sum(len(v) for v in by_lane[k].values()), names.get(k, ""))
    )
    return [
        Lane(key, names.get(key, ""), [(col, by_lane[key].get(col.status, [])) for col in columns])
        for key in ordered
    ]


async def parse_filters(raw: dict[str, str], is_staff: bool) -> BoardFilters:
    """Board filters from query parameters (the page URL, or the websocket URL)."""
    read = QueryReader()
    establishment = read.integer(raw.get("establishment"), "establishment")
    filters = BoardFilters(
        establishment_ids=(
            await board_db.establishment_with_children(establishment) if establishment else None
        ),
        group_id=read.integer(raw.get("group"), "group") if is_staff else None,
        assignee=read.one_of(raw.get("assignee", ""), "assignee", ("", "me", "none"))
        if is_staff
        else "",
        category_id=read.integer(raw.get("category"), "category"),
        priority=read.choice(raw.get("priority"), "priority", Priority),
        text=raw.get("q", "")[:200],
    )
    read.done()
    return filters


def filter_query(raw: dict[str, str]) -> str:
    """Filters and layout as a query string (the websocket's URL, "show more" links)."""
    return urlencode([(k, raw[k]) for k in URL_KEYS if raw.get(k)])


async def columns_for(
    viewer: Any, filters: BoardFilters, env: Environment | None = None, locale: str = ""
) -> list[render.Column]:
    """Every column of a board: a bounded number of queries whatever the data (one per
    column for its cards, a few for the counts, one each for all cards' side data). Given a
    template environment and a language, cards come with their HTML, from the card cache."""
    actor = viewer.actor
    counts = await board_db.counts(actor, filters)
    cards = {s: await board_db.column(actor, filters, s, decorate=False) for s in COLUMNS}
    every_card = [c for column in cards.values() for c in column]
    await board_db.decorate_cards(actor, every_card)
    if env is not None and locale:
        for row in every_card:
            row["html"] = card_cache.html(env, row, viewer.role, locale)
    return [render.Column(s, cards[s], counts[s], viewer.role) for s in COLUMNS]


async def shared_columns_html(
    hub: Any,
    viewer: Any,
    filters: BoardFilters,
    layout: Layout,
    query: str,
    env: Environment,
    locale: str,
) -> Markup:
    """The board page's columns, read and rendered once for every request of the same
    effective view while no ticket event arrived (the hub's sequence number), shared the way
    websocket snapshots are (``realtime.snapshots``: same access scope, role, filters,
    language and time zone; here also the layout and the "show more" links' query), and for
    at most ``snapshots.REUSE_SECONDS`` after it was made. Most of a board's time went into
    reading and rendering the same columns for request after request."""
    actor = viewer.actor
    view = (
        "page",
        *snapshots.view_key(actor, filters, locale, i18n.get_timezone().key),
        layout,
        query,
    )

    async def make() -> snapshots.Snapshot:
        from server.db.connections import own_lease
        from server.db.engine import engine

        started = hub.seq
        # Its own connection: the requests waiting for it may end (or be cancelled) first.
        async with own_lease(engine(), "board page columns"):
            columns = await columns_for(viewer, filters, env, locale)
            lanes = await lanes_for(layout, columns)
        html = render.render(
            env,
            "board/_columns.html",
            locale,
            columns=columns,
            lanes=lanes,
            layout=layout,
            filter_query=query,
            movable=actor.is_staff,
        )
        counts = {col.status: col.count for col in columns}
        return snapshots.Snapshot(html, counts, started, hub.seq)

    shared = await snapshots.share_of(hub).get(view, hub.seq, make)
    return Markup(shared.html)  # noqa: S704 (our template)
