"""Read model of a user's in-app notifications, filtered by the access policy."""

from __future__ import annotations

from typing import Any

from server.db.notification_tables import InAppNotification
from server.db.queries import access_of
from server.db.tables import TicketShare
from server.domain.actors import Actor
from server.domain.permissions import can_see_private_notes, can_view

PER_PAGE = 50
# The bell counts at most this many (it shows "99+" beyond 99 anyway).
COUNT_LIMIT = 500


async def _shown(actor: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out notifications about a ticket the actor can no longer see, or a private note
    they may not read, whatever they said then."""
    private_ok = can_see_private_notes(actor)
    ticket_ids = sorted({row["ticket_id"] for row in rows})
    shared_with_me: set[int] = set()
    if ticket_ids:
        shares = await TicketShare.select(TicketShare.ticket).where(
            TicketShare.ticket.is_in(ticket_ids) & (TicketShare.user == actor.id)
        )
        shared_with_me = {s["ticket"] for s in shares}
    me = frozenset({actor.id})
    return [
        row
        for row in rows
        if can_view(
            actor, access_of(row, me if row["ticket_id"] in shared_with_me else frozenset())
        )
        and (private_ok or not row["private"])
    ]


# Every ticket fact the access policy reads (``access_of``), under the ticket's own names.
_ACCESS = (
    InAppNotification.private,
    InAppNotification.ticket.id.as_alias("ticket_id"),
    InAppNotification.ticket.requester.as_alias("requester"),
    InAppNotification.ticket.establishment.as_alias("establishment"),
    InAppNotification.ticket.shared.as_alias("shared"),
    InAppNotification.ticket.assigned_group.as_alias("assigned_group"),
    InAppNotification.ticket.assignee.as_alias("assignee"),
)


async def unread_count(actor: Actor) -> int:
    """Unread notifications the actor may still read (the bell)."""
    rows = (
        await InAppNotification.select(InAppNotification.id, *_ACCESS)
        .where((InAppNotification.user == actor.id) & InAppNotification.read_at.is_null())
        .order_by(InAppNotification.id, ascending=False)
        .limit(COUNT_LIMIT)
    )
    return len(await _shown(actor, rows))


async def list_for(actor: Actor, page: int = 1) -> list[dict[str, Any]]:
    """The actor's notifications, newest first, as far as the access policy lets them see."""
    rows = (
        await InAppNotification.select(
            InAppNotification.id,
            InAppNotification.kind,
            InAppNotification.ticket,
            InAppNotification.status,
            InAppNotification.created_at,
            InAppNotification.read_at,
            InAppNotification.changes,
            InAppNotification.actor.full_name.as_alias("actor_name"),
            InAppNotification.ticket.title.as_alias("title"),
            InAppNotification.ticket.establishment.code.as_alias("code"),
            *_ACCESS,
        )
        .where(InAppNotification.user == actor.id)
        .order_by(InAppNotification.id, ascending=False)
        .limit(PER_PAGE)
        .offset((max(page, 1) - 1) * PER_PAGE)
    )
    return await _shown(actor, rows)
