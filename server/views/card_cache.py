"""Board cards rendered once and reused (see ``fragment_cache``).

A card's HTML depends on the card's fields and on the viewer's role (the moves offered),
besides the language, zone and minute the fragment cache adds.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from server.domain.vocabulary import Role
from server.realtime import render
from server.views.fragment_cache import FragmentCache, sla_key

# Everything _card.html reads from a row, besides "sla".
_FIELDS = (
    "id",
    "version",
    "status",
    "priority",
    "priority_rank",
    "ticket_type",
    "title",
    "created_at",
    "establishment_code",
    "assignee_name",
    "requester_name",
    "requester",
    "assignee",
    "follow_ups",
    "attachments",
    "children",
)
SIZE = 4096  # about 6 MB of HTML at most
_cache = FragmentCache(SIZE)


def key(row: dict[str, Any], role: Role, locale: str, minute: int) -> tuple[Any, ...]:
    return _cache.key(_own(row, role), locale, minute)


def _own(row: dict[str, Any], role: Role) -> tuple[Any, ...]:
    return (role, tuple(row.get(name) for name in _FIELDS), sla_key(row))


def html(env: Environment, row: dict[str, Any], role: Role, locale: str) -> Markup:
    """The card's HTML as the board template would render it."""
    return _cache.html(
        _own(row, role), locale, lambda: render.card_html(env, row, role, locale)
    )
