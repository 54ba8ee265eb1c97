"""Ticket list rows rendered once and reused (see ``fragment_cache``): the same open tickets
fill every technician's lists all day, and a list's live refresh re-renders all its rows.

Before this, rows were three quarters of a list page's server time (four macros, a dozen
translated words and two dates per row, 25 rows).
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from server import i18n
from server.views.fragment_cache import FragmentCache, sla_key

# Everything tickets/_row.html reads from a row, besides "sla".
_FIELDS = (
    "id",
    "title",
    "status",
    "priority",
    "category_name",
    "assignee_name",
    "group_name",
    "requester_name",
    "updated_at",
    "establishment_code",
)
SIZE = 4096
_cache = FragmentCache(SIZE)


def _own(row: dict[str, Any], selectable: bool) -> tuple[Any, ...]:
    return (selectable, tuple(row.get(name) for name in _FIELDS), sla_key(row))


def html(env: Environment, row: dict[str, Any], selectable: bool) -> Markup:
    """The row's HTML, in the language and zone being rendered now."""
    return _cache.html(
        _own(row, selectable),
        i18n.get_locale(),
        lambda: env.get_template("tickets/_row.html").render(t=row, selectable=selectable),
    )
