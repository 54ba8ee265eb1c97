"""Board cards rendered once and reused: most cards sit on many boards, unchanged, request
after request, and a restart reconnects every viewer at once.

A card's HTML depends on the card's fields, the viewer's role (the moves offered) and
language, and the time (its age and what an SLA clock has left): all are in the key, the
time to the minute (the page's timer keeps clocks current between renders).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from server.domain.vocabulary import Role
from server.realtime import render

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
_cache: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()


def key(row: dict[str, Any], role: Role, locale: str, minute: int) -> tuple[Any, ...]:
    sla = row.get("sla")
    return (
        locale,
        role,
        minute,
        tuple(row.get(name) for name in _FIELDS),
        tuple(sorted(sla.items())) if sla else None,
    )


def html(env: Environment, row: dict[str, Any], role: Role, locale: str) -> Markup:
    """The card's HTML as the board template would render it."""
    k = key(row, role, locale, int(time.time() // 60))
    found = _cache.get(k)
    if found is not None:
        _cache.move_to_end(k)
        return found
    rendered = Markup(render.card_html(env, row, role, locale))  # noqa: S704 (our template)
    _cache[k] = rendered
    if len(_cache) > SIZE:
        _cache.popitem(last=False)
    return rendered
