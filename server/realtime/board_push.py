"""What one ticket event pushes to board viewers: decided once per board view, built once
per distinct push, the same string sent to every socket that gets it.

A board view is everything a board depends on besides the data (access scope, role, filters,
language, time zone, layout: ``snapshots.view_key``); viewers with equal views share one
``BoardView`` object. Per event and per view, whether the card was and is on that board, and
in which list, is decided once (``reach``); per event, view and column counts, the push is
joined once (``push``). What stays per socket is a few dictionary look-ups, its own counts
and the send.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from server import i18n
from server.domain.actors import Actor
from server.domain.board import COLUMNS, BoardFilters, on_board
from server.domain.vocabulary import Role, Status
from server.realtime import render, snapshots
from server.realtime.hub import EventContext


class BoardView:
    """One effective board view, shared by every socket that has it (compared by identity).

    ``actor`` is the first viewer's: the decisions made with it depend only on what the key
    holds (the access scope, the role, the person when filtered on "me")."""

    __slots__ = ("__weakref__", "actor", "filters", "key", "layout", "locale", "role", "zone")

    def __init__(
        self,
        key: tuple[Any, ...],
        actor: Actor,
        role: Role,
        filters: BoardFilters,
        layout: Any,
        locale: str,
        zone: str,
    ) -> None:
        self.key = key
        self.actor = actor
        self.role = role
        self.filters = filters
        self.layout = layout
        self.locale = locale
        self.zone = zone


_views: weakref.WeakValueDictionary[tuple[Any, ...], BoardView] = weakref.WeakValueDictionary()


def board_view(
    actor: Actor, role: Role, filters: BoardFilters, layout: Any, locale: str, zone: str
) -> BoardView:
    """The shared view object for these parameters (one per distinct key while in use)."""
    key = (*snapshots.view_key(actor, filters, locale, zone), layout)
    view = _views.get(key)
    if view is None:
        view = BoardView(key, actor, role, filters, layout, locale, zone)
        _views[key] = view
    return view


@dataclass(frozen=True, slots=True)
class Reach:
    """Where one event's card stands on one view."""

    was: bool  # on this board before the change
    now_in: bool  # on it after
    lane: str | None  # its lane after the change, on a board with lanes (else None)
    target: str  # the list it goes to ("": its status column)


def reach(event: EventContext, view: BoardView) -> Reach:
    """Decided once per event and view: the permission check and the filters included."""
    memo = event.memo
    found = memo.get(view)
    if found is None:
        found = memo[view] = _decide(event, view)
    return found


def _decide(event: EventContext, view: BoardView) -> Reach:
    from server.views.board import cards_target, lane_of

    was = on_board(view.actor, view.filters, event.before, event.now)
    now_in = on_board(view.actor, view.filters, event.after, event.now)
    lane, target = None, ""
    if now_in and event.after and view.layout.lanes:
        lane = lane_of(view.layout, event.after.group_id, event.after.establishment_id)
        target = cards_target(event.after.status.value, lane)
    return Reach(was, now_in, lane, target)


Counts = tuple[int, ...]  # cards per column, in COLUMNS order (shared while equal)
_INDEX = {status: i for i, status in enumerate(COLUMNS)}


def counts_of(by_status: dict[Status, int]) -> Counts:
    return tuple(by_status.get(status, 0) for status in COLUMNS)


def counted(
    event: EventContext, view: BoardView, where: Reach, before: Counts
) -> tuple[Counts, tuple[tuple[Status, int], ...]]:
    """A socket's column counts after this event, and the changed ones, from its counts
    before: once per (view, counts). Sockets with equal counts then hold one shared tuple
    (no per-socket copy) and look up the same push."""
    key = ("counted", view, before)
    found = event.memo.get(key)
    if found is None:
        after = list(before)
        changed: list[Status] = []
        if where.was and event.before:
            after[_INDEX[event.before.status]] -= 1
            changed.append(event.before.status)
        if where.now_in and event.after:
            after[_INDEX[event.after.status]] += 1
            changed.append(event.after.status)
        new = tuple(after)
        found = event.memo[key] = (
            new,
            tuple((s, new[i]) for i, s in enumerate(COLUMNS) if s in changed),
        )
    return found


def step(
    event: EventContext, view: BoardView, where: Reach, before: Counts, env: Environment
) -> tuple[Counts, dict[str, Any]]:
    """``counted`` and ``push_message`` in one look-up per socket (the hub's direct path):
    the counts after the event and the message to send, once per (view, counts before)."""
    key = ("step", view, before)
    found = event.memo.get(key)
    if found is None:
        after, changed = counted(event, view, where, before)
        found = event.memo[key] = (after, push_message(event, view, changed, env))
    return found


async def push(
    event: EventContext,
    view: BoardView,
    counts: tuple[tuple[Status, int], ...],
    env: Environment,
) -> str:
    """The push for this view with these column counts: joined by the first socket that
    needs it, looked up by the others. Once the card's row is loaded (the hub loads it before
    offering the event) nothing here waits, so a push is never built twice."""
    await event.load()
    return push_message(event, view, counts, env)["text"]


def push_message(
    event: EventContext,
    view: BoardView,
    counts: tuple[tuple[Status, int], ...],
    env: Environment,
) -> dict[str, Any]:
    """``push`` once the card's row is loaded, as the ASGI message every socket of the view
    sends (one dict for all: the servers' send paths only read it)."""
    key = (view, counts)
    found = event.memo.get(key)
    if found is None:
        # In the view's time zone (the card's date tooltip): the hub's loop, which builds
        # most pushes, has none of its own.
        previous = i18n.get_timezone().key
        i18n.set_timezone(view.zone)
        try:
            text = _build(event, view, counts, env)
        finally:
            i18n.set_timezone(previous)
        found = event.memo[key] = {"type": "websocket.send", "bytes": None, "text": text}
    return found


def _build(
    event: EventContext,
    view: BoardView,
    counts: tuple[tuple[Status, int], ...],
    env: Environment,
) -> str:
    where = reach(event, view)
    parts: list[str] = []
    if where.now_in:
        placed = event.placed_card_now(view.role, view.locale, where.target)
        if placed:
            parts.append(placed)
    elif where.was:
        removal = _shared(event, ("removal",), lambda: render.card_removal(env, event.ticket_id))
        parts.append(removal)
    parts.extend(
        _shared(
            event,
            ("count", view.locale, status, count),
            lambda s=status, n=count: render.count_html(env, view.locale, s, n),
        )
        for status, count in counts
    )
    if where.now_in and event.message.get("kind") == "ticket.sla":
        parts.append(event.announcement(view.locale, render.SLA, id=event.ticket_id))
    elif where.now_in and event.after:
        parts.append(
            event.announcement(
                view.locale, render.MOVED, id=event.ticket_id, status=event.after.status.value
            )
        )
    else:
        parts.append(event.announcement(view.locale, render.LEFT, id=event.ticket_id))
    return "".join(parts)


def _shared(event: EventContext, key: tuple[Any, ...], make: Any) -> str:
    """A fragment that is the same for every view of one language (counts, removals)."""
    found = event.memo.get(key)
    if found is None:
        found = event.memo[key] = make()
    return found
