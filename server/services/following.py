"""Watching a ticket ("notify me") and sharing it with named colleagues.

Watching never widens access: only someone who may see a ticket can follow it, and the
notification recipients are still filtered by the access policy. Sharing does widen access,
so only the ticket's requester (or the desk) may share, and only with active colleagues of
the ticket's own establishment.
"""

from __future__ import annotations

from typing import Any

from server.db.engine import write_transaction
from server.db.prepared import SAMPLE_ID, Prepared, PreparedIn, ticket_row
from server.db.queries import SHARES_NAMED, access_of, shared_with, ticket_access
from server.db.tables import Ticket, TicketShare, TicketWatcher, User
from server.domain.actors import Actor
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.notifications import Kind
from server.domain.permissions import can_share_with_people, can_view, can_watch
from server.domain.text import N_
from server.domain.vocabulary import Role
from server.services import notifications
from server.services.tickets import _history, _name_of, ticket_event


async def _visible_row(actor: Actor, ticket_id: int) -> dict[str, Any]:
    row = await ticket_row(ticket_id)  # compiled once: a bulk "follow" runs it per ticket
    if row is None or not can_view(actor, await ticket_access(row)):
        raise NotFound()
    return row


# Read by every ticket page: compiled once (``db.prepared``).
_WATCHING = Prepared(
    lambda user_id, ticket_id: (
        TicketWatcher.select(TicketWatcher.id)
        .where((TicketWatcher.ticket == ticket_id) & (TicketWatcher.user == user_id))
        .first()
    ),
    SAMPLE_ID - 1,
    SAMPLE_ID,
)


async def is_watching(user_id: int, ticket_id: int) -> bool:
    return await _WATCHING.first(user_id, ticket_id) is not None


async def watcher_ids(ticket_id: int) -> frozenset[int]:
    rows = await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket == ticket_id)
    return frozenset(r["user"] for r in rows)


async def watch(actor: Actor, ticket_id: int, on: bool) -> None:
    async with write_transaction():
        row = await _visible_row(actor, ticket_id)
        if not can_watch(actor, await ticket_access(row)):
            raise NotFound()
        present = await is_watching(actor.id, ticket_id)
        if on and not present:
            await add_watchers(ticket_id, [actor.id])
        elif not on and present:
            await TicketWatcher.delete().where(
                (TicketWatcher.ticket == ticket_id) & (TicketWatcher.user == actor.id)
            )


_ROWS = PreparedIn(lambda ids: Ticket.select().where(Ticket.id.is_in(ids)))
_SHARES_OF = PreparedIn(
    lambda ids: TicketShare.select(TicketShare.ticket, TicketShare.user).where(
        TicketShare.ticket.is_in(ids)
    )
)


async def watch_many(actor: Actor, ticket_ids: list[int]) -> list[int]:
    """Follow several tickets at once (a bulk "follow"), each judged as ``watch`` judges it:
    one transaction of three statements whatever their number (each ticket's own use case
    took five). Returns the ids refused, missing or not the actor's to follow, as
    ``watch``'s NotFound would."""
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        return []
    async with write_transaction():
        rows = {row["id"]: row for row in await _ROWS.rows(ids)}
        shared: dict[int, set[int]] = {}
        for share in await _SHARES_OF.rows(sorted(rows)) if rows else []:
            shared.setdefault(share["ticket"], set()).add(share["user"])
        allowed = [
            i
            for i in ids
            if i in rows and can_watch(actor, access_of(rows[i], frozenset(shared.get(i, ()))))
        ]
        if allowed:
            await TicketWatcher.insert(
                *(TicketWatcher(ticket=i, user=actor.id) for i in allowed)
            ).on_conflict(target=(TicketWatcher.ticket, TicketWatcher.user), action="DO NOTHING")
    return [i for i in ids if i not in set(allowed)]


async def add_watchers(ticket_id: int, user_ids: list[int]) -> None:
    """These people follow the ticket. Two requests may both find someone not yet following
    (a bulk follow sent twice, a merge beside a follow): the second insert then keeps the
    first row instead of failing on the unique (ticket, user) index."""
    if user_ids:
        await TicketWatcher.insert(
            *(TicketWatcher(ticket=ticket_id, user=user_id) for user_id in user_ids)
        ).on_conflict(target=(TicketWatcher.ticket, TicketWatcher.user), action="DO NOTHING")


async def shares(ticket_id: int) -> list[dict[str, Any]]:
    return await SHARES_NAMED.rows(ticket_id)


async def shareable_colleagues(
    ticket: dict[str, Any], shares: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Active requesters of the ticket's establishment it is not yet shared with (``shares``
    as ``SHARES_NAMED`` reads them)."""
    taken = {s["user"] for s in shares} | {ticket["requester"]}
    people = (
        await User.select(User.id, User.full_name, User.email)
        .where(
            (User.establishment == ticket["establishment"])
            & (User.active == True)  # noqa: E712
            & (User.role == Role.REQUESTER.value)
        )
        .order_by(User.full_name)
    )
    return [p for p in people if p["id"] not in taken]


async def share(actor: Actor, ticket_id: int, email: str) -> list[TicketEvent]:
    async with write_transaction():
        row = await _visible_row(actor, ticket_id)
        if not can_share_with_people(actor, await ticket_access(row)):
            raise Forbidden()
        colleague = (
            await User.select(User.id, User.role, User.active, User.establishment)
            .where(User.email == email.strip().lower())
            .first()
        )
        # One message whether the address is unknown, inactive or elsewhere: the form must
        # not tell who has an account in other establishments.
        if (
            colleague is None
            or not colleague["active"]
            or colleague["role"] != Role.REQUESTER.value
            or colleague["establishment"] != row["establishment"]
            or colleague["id"] == row["requester"]
        ):
            raise ValidationFailed(
                {"email": N_("Choose an active colleague of the ticket's establishment.")}
            )
        if colleague["id"] in await shared_with(ticket_id):
            return []
        before = {**row, "_shared_with": await shared_with(ticket_id)}
        await TicketShare.insert(
            TicketShare(ticket=ticket_id, user=colleague["id"], shared_by=actor.id)
        )
        await _history(ticket_id, actor, "share_added", "", await _name_of(User, colleague["id"]))
        # Told once, now; later changes reach them only if they follow the ticket.
        await notifications.enqueue(
            Kind.SHARED, ticket_id, actor, extra_recipient_ids=[colleague["id"]]
        )
        return [await ticket_event("ticket.updated", ticket_id, before)]


async def unshare(actor: Actor, ticket_id: int, user_id: int) -> list[TicketEvent]:
    async with write_transaction():
        row = await _visible_row(actor, ticket_id)
        if not can_share_with_people(actor, await ticket_access(row)):
            raise Forbidden()
        before = {**row, "_shared_with": await shared_with(ticket_id)}
        if user_id not in before["_shared_with"]:
            return []
        await TicketShare.delete().where(
            (TicketShare.ticket == ticket_id) & (TicketShare.user == user_id)
        )
        await _history(ticket_id, actor, "share_removed", await _name_of(User, user_id), "")
        return [await ticket_event("ticket.updated", ticket_id, before)]
