"""Publish use-case events after their transaction committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from server.domain.events import TicketEvent
from server.observability.context import current_request_id

log = logging.getLogger("guichet.realtime")
BELL = "user.bell"


async def publish(app: Any, events: Iterable[TicketEvent]) -> None:
    """Never fails the request: the change is committed; live viewers resynchronise on their
    next snapshot if a message is lost."""
    bus = app.state.bus
    for event in events:
        try:
            await bus.publish(with_request_id(event.as_message()))
            if event.notified:
                await bus.publish(bell_message(event.notified))
        except Exception:
            log.exception("could not publish %s for ticket %s", event.kind, event.ticket_id)


def with_request_id(message: dict[str, Any]) -> dict[str, Any]:
    """Live messages name the request that caused them, so logs can be followed across
    instances."""
    request_id = current_request_id()
    return {**message, "request_id": request_id} if request_id else message


def bell_message(user_ids: Iterable[int]) -> dict[str, Any]:
    """The per-user push: these users' pages refresh their notification bell."""
    return {"kind": BELL, "user_ids": sorted(set(user_ids))}


async def publish_message(app: Any, message: dict[str, Any]) -> None:
    try:
        await app.state.bus.publish(message)
    except Exception:
        log.exception("could not publish %s", message.get("kind"))


async def session_ended(app: Any, *, session: str = "", user_id: int | None = None) -> None:
    """Sockets of one session (logout; ``session`` is its digest) or of every session of a
    user (password reset) close now, on every instance."""
    message: dict[str, Any] = {"kind": "session.ended"}
    message.update({"session": session} if session else {"user_id": user_id})
    await publish_message(app, message)


async def reach_changed(app: Any, user_ids: Iterable[int] | None) -> None:
    """These users (``None``: everyone) see a different set of tickets from now on: their
    sockets reconnect and are checked again."""
    ids = None if user_ids is None else sorted(set(user_ids))
    if ids != []:
        await publish_message(app, {"kind": "reach.changed", "user_ids": ids})
