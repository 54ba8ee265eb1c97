"""Board columns and filters, for the board page and the board's websocket alike."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment

from server.db import board as board_db
from server.domain.board import COLUMNS, BoardFilters
from server.domain.vocabulary import Priority
from server.realtime import render
from server.views import card_cache
from server.views.query import QueryReader

FILTER_KEYS = ("establishment", "group", "assignee", "category", "priority", "q")


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
    return urlencode([(k, raw[k]) for k in FILTER_KEYS if raw.get(k)])


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
