"""Read model of a user's in-app notifications, filtered by the access policy."""

from __future__ import annotations

from typing import Any

from server.db.notification_tables import InAppNotification
from server.db.queries import access_of
from server.domain.actors import Actor
from server.domain.permissions import can_see_private_notes, can_view

PER_PAGE = 50


async def list_for(actor: Actor, page: int = 1) -> list[dict[str, Any]]:
    """The actor's notifications, newest first. One about a ticket the actor can no longer
    see (or a private note they may not read) is left out, whatever it said then."""
    rows = (
        await InAppNotification.select(
            InAppNotification.id,
            InAppNotification.kind,
            InAppNotification.ticket,
            InAppNotification.private,
            InAppNotification.status,
            InAppNotification.created_at,
            InAppNotification.read_at,
            InAppNotification.actor.full_name.as_alias("actor_name"),
            InAppNotification.ticket.title.as_alias("title"),
            InAppNotification.ticket.requester.as_alias("requester"),
            InAppNotification.ticket.establishment.as_alias("establishment"),
            InAppNotification.ticket.shared.as_alias("shared"),
            InAppNotification.ticket.establishment.code.as_alias("code"),
        )
        .where(InAppNotification.user == actor.id)
        .order_by(InAppNotification.id, ascending=False)
        .limit(PER_PAGE)
        .offset((max(page, 1) - 1) * PER_PAGE)
    )
    private_ok = can_see_private_notes(actor)
    return [
        row
        for row in rows
        if can_view(actor, access_of(row)) and (private_ok or not row["private"])
    ]
