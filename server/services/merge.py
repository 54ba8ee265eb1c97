"""Merging a duplicate into the ticket that is kept.

The duplicate is closed as "duplicate of #N" (a duplicate link, history on both); its
requester and followers follow the kept ticket from then on and are told. Access never
changes: following does not widen it (only people who may see the kept ticket are made to
follow it), the duplicate keeps its own access rules, and its follow-ups are shown on the
kept ticket only to viewers who may see the duplicate (``links.links_view``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.db.engine import write_transaction
from server.db.queries import access_of
from server.db.tables import Ticket, TicketWatcher
from server.domain.actors import Actor
from server.domain.errors import InvalidTransition, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.links import LinkKind
from server.domain.notifications import Kind
from server.domain.permissions import can_watch
from server.domain.text import N_
from server.domain.vocabulary import Status
from server.services import following, notifications
from server.services.accounts import actors_of
from server.services.links import check_new_link, insert_link, lock_both
from server.services.tickets import _history, _load_managed, _save, ticket_event


async def merge(actor: Actor, duplicate_id: int, kept_id: int) -> list[TicketEvent]:
    """Close ``duplicate_id`` as a duplicate of ``kept_id``."""
    async with write_transaction():
        await lock_both(duplicate_id, kept_id)
        duplicate = await _load_managed(actor, duplicate_id)
        kept = await _load_managed(actor, kept_id) if kept_id != duplicate_id else duplicate
        if duplicate["status"] == Status.CLOSED:
            raise InvalidTransition(N_("This ticket is closed."))
        if kept_id != duplicate_id and kept["status"] == Status.CLOSED:
            raise ValidationFailed({"other_id": N_("The ticket to keep is closed.")})
        await check_new_link(duplicate_id, kept_id, LinkKind.DUPLICATE, "other_id")
        await insert_link(actor, duplicate_id, kept_id, LinkKind.DUPLICATE)

        await _save(
            duplicate_id,
            duplicate["version"],
            {Ticket.status: Status.CLOSED.value, Ticket.closed_at: datetime.now(UTC)},
        )
        await _history(duplicate_id, actor, "status", duplicate["status"], Status.CLOSED.value)
        await _history(duplicate_id, actor, "merged_into", "", kept_id)
        await _history(kept_id, actor, "merged_from", "", duplicate_id)
        await _follow_kept(duplicate, kept)
        await _save(kept_id, kept["version"], {})
        # Told on the duplicate, which they may all see; the mail names the change.
        await notifications.enqueue(Kind.MERGED, duplicate_id, actor)
        return [
            await ticket_event("ticket.moved", duplicate_id, duplicate),
            await ticket_event("ticket.updated", kept_id, kept),
        ]


async def _follow_kept(duplicate: dict[str, Any], kept: dict[str, Any]) -> None:
    """The duplicate's requester and followers follow the kept ticket, if they may see it."""
    rows = await TicketWatcher.select(TicketWatcher.user).where(
        TicketWatcher.ticket == duplicate["id"]
    )
    people = {duplicate["requester"], *(r["user"] for r in rows)}
    already = await TicketWatcher.select(TicketWatcher.user).where(
        TicketWatcher.ticket == kept["id"]
    )
    people -= {r["user"] for r in already} | {kept["requester"]}
    access = access_of(kept, kept["_shared_with"])
    found = await actors_of(sorted(people))
    new = [p.id for p in found.values() if p.active and can_watch(p, access)]
    if new:
        await following.add_watchers(kept["id"], new)
