"""The service configuration, read once per change of it rather than on every ticket change.

SLA policies, calendars, maintenance windows, categories and the establishment tree change a
few times a year and are read by every ticket change. Triggers give ``config_generation`` a new
random stamp whenever one of those tables changes (any writer, any instance); a reader looks
the stamp up (one primary-key read, inside its own transaction, so what it uses is what that
transaction sees) and reloads only when it differs from the one its copy was loaded under.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from piccolo.querystring import QueryString

from server.db.connections import current_lease
from server.db.tables import Ticket

T = TypeVar("T")

_values: dict[str, tuple[int, Any]] = {}


async def generation() -> int:
    """The configuration's stamp, read at most once per unit of work between transactions."""
    lease = current_lease()
    if lease is not None and lease.generation is not None:
        return lease.generation
    # A primary-key read: run in place, as the compiled lookups are (server.db.prepared).
    rows = await Ticket._meta.db.run_sql("SELECT value FROM config_generation WHERE id = 1", [])
    value = int(rows[0]["value"]) if rows else 0
    if lease is not None:
        lease.generation = value
    return value


def generation_column() -> QueryString:
    """The stamp as a column (``config_generation``) of another statement, a request's first
    read (its caller's session): ``noted`` keeps it for the unit of work, which then needs
    no statement of its own for it."""
    return QueryString("(SELECT value FROM config_generation WHERE id = 1)").as_alias(
        "config_generation"
    )


def noted(value: int | None) -> None:
    """Keep ``value``, read by ``generation_column``, as this unit of work's stamp (as
    ``generation`` would have read it: forgotten when a transaction begins or ends)."""
    lease = current_lease()
    if value is not None and lease is not None and lease.generation is None:
        lease.generation = int(value)


async def cached(name: str, load: Callable[[], Awaitable[T]]) -> T:
    """``load()``'s result, reused while the configuration's generation stays the same."""
    current = await generation()
    held = _values.get(name)
    if held is not None and held[0] == current:
        return held[1]
    value = await load()
    _values[name] = (current, value)
    return value


def forget() -> None:
    """Drop everything (tests replace the whole database under a running process)."""
    _values.clear()
