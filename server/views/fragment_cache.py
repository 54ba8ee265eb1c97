"""Rendered fragments reused across requests: board cards and list rows sit on many pages,
unchanged, request after request, and a restart reconnects every viewer at once.

A fragment's HTML depends on its own fields, on what the viewer is offered, on the language and
time zone it is shown in, and on the time (ages, what an SLA clock has left). The caller gives
the first two; the cache adds the other three, the time to the minute (the page's one timer
keeps clocks current between renders).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from markupsafe import Markup

from server import i18n


def sla_key(row: dict[str, Any]) -> tuple[Any, ...] | None:
    sla = row.get("sla")
    return tuple(sorted(sla.items())) if sla else None


class FragmentCache:
    """A bounded LRU of rendered HTML."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, own: Hashable, locale: str, minute: int | None = None) -> tuple[Any, ...]:
        if minute is None:
            minute = int(time.time() // 60)
        return (locale, i18n.get_timezone_name(), minute, own)

    def html(self, own: Hashable, locale: str, render: Callable[[], str]) -> Markup:
        """The fragment for ``own`` (everything it shows that is not language, zone or time),
        rendered by ``render`` only when not already cached."""
        k = self.key(own, locale)
        found = self._entries.get(k)
        if found is not None:
            self._entries.move_to_end(k)
            return found
        rendered = Markup(render())  # noqa: S704 (our own templates, autoescaped)
        self._entries[k] = rendered
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return rendered

    def clear(self) -> None:
        self._entries.clear()
