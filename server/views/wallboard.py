"""The wallboard's context, for its page and its websocket pushes alike."""

from __future__ import annotations

from datetime import UTC, datetime, time, tzinfo
from typing import Any

from server.db import queries
from server.db import wallboard as wallboard_db
from server.domain.actors import Actor
from server.domain.permissions import visibility
from server.domain.vocabulary import Status
from server.services import organisation
from server.views.query import CHOOSE, QueryReader

OPEN = [s for s in Status if s.is_open]


async def places(actor: Actor) -> list[dict[str, Any]]:
    """The establishments a wallboard may be narrowed to: those the viewer's scope covers
    (children included), in tree order."""
    tree = await organisation.establishments_as_tree()
    scope = visibility(actor)
    if scope.everything:
        return tree
    return [row for row in tree if row["id"] in scope.establishment_ids]


async def chosen_place(actor: Actor, raw: str | None) -> tuple[int | None, list[dict[str, Any]]]:
    """The establishment in the URL (checked against the viewer's scope) and the picker's
    choices; an establishment outside the scope is refused like any wrong value."""
    read = QueryReader()
    chosen = read.integer(raw, "establishment")
    choices = await places(actor)
    if chosen is not None and chosen not in {row["id"] for row in choices}:
        read.errors["establishment"] = CHOOSE
    read.done()
    return chosen, choices


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """Midnight, today, in the viewer's time zone."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)


async def wallboard_context(
    actor: Actor, chosen: int | None, zone: tzinfo, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    within = await queries.establishment_subtree(chosen) if chosen else None
    found = await wallboard_db.figures(actor, within, day_start(now, zone))
    names = {g["id"]: g["name"] for g in await queries.groups()}
    groups = sorted(
        ((names.get(group_id, ""), n) for group_id, n in found.per_group.items()),
        key=lambda item: (-item[1], item[0]),
    )
    return {
        "figures": found,
        "statuses": OPEN,
        "groups": groups,
        "now": now,
    }
