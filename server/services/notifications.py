"""Write notifications to the outbox, inside the transaction of the change they announce.

If the change rolls back, so do its mails; if it commits, the mails are durably queued and
the dispatcher (server.services.mail_dispatcher) delivers them later.
"""

from __future__ import annotations

from server.db.engine import write_transaction
from server.db.tables import GroupMember, NotificationPreference, Outbox, Ticket, User
from server.domain.actors import Actor
from server.domain.notifications import Audience, Kind, recipients


async def enqueue(
    kind: Kind,
    ticket_id: int,
    actor: Actor | None,
    *,
    follow_up_id: int | None = None,
    private: bool = False,
) -> list[int]:
    """Queue one mail per recipient of ``kind``; return the recipients. Call it inside the
    use case's ``write_transaction`` after the change, so it reads the committed state."""
    ticket = (
        await Ticket.select(
            Ticket.requester, Ticket.assignee, Ticket.assigned_group, Ticket.notify, Ticket.status
        )
        .where(Ticket.id == ticket_id)
        .first()
    )
    if ticket is None:
        return []
    members: set[int] = set()
    if ticket["assigned_group"] is not None:
        rows = await GroupMember.select(GroupMember.user).where(
            GroupMember.group == ticket["assigned_group"]
        )
        members = {row["user"] for row in rows}
    concerned = {ticket["requester"], *members}
    if ticket["assignee"] is not None:
        concerned.add(ticket["assignee"])
    people = await User.select(User.id, User.role, User.active).where(
        User.id.is_in(sorted(concerned))
    )
    audience = Audience(
        requester_id=ticket["requester"],
        requester_wants_mail=ticket["notify"],
        assignee_id=ticket["assignee"],
        group_member_ids=frozenset(members),
        staff_ids=frozenset(p["id"] for p in people if p["role"] != "requester"),
        inactive_ids=frozenset(p["id"] for p in people if not p["active"]),
    )
    muted = await NotificationPreference.select(NotificationPreference.user).where(
        (NotificationPreference.kind == kind.value)
        & (NotificationPreference.enabled.eq(False))
        & NotificationPreference.user.is_in(sorted(concerned))
    )
    author = actor.id if actor is not None and actor.id else None
    chosen = sorted(
        recipients(
            kind, audience, author, private=private, muted=frozenset(m["user"] for m in muted)
        )
    )
    if chosen:
        await Outbox.insert(
            *[
                Outbox(
                    kind=kind.value,
                    ticket=ticket_id,
                    recipient=user_id,
                    actor=author,
                    follow_up=follow_up_id,
                    status=ticket["status"],
                )
                for user_id in chosen
            ]
        )
    return chosen


async def preferences(user_id: int) -> dict[Kind, bool]:
    """Every kind with the user's choice (enabled unless turned off)."""
    rows = await NotificationPreference.select(
        NotificationPreference.kind, NotificationPreference.enabled
    ).where(NotificationPreference.user == user_id)
    chosen = {row["kind"]: row["enabled"] for row in rows}
    return {kind: chosen.get(kind.value, True) for kind in Kind}


async def set_preference(user_id: int, kind: Kind, enabled: bool) -> None:
    async with write_transaction():
        await NotificationPreference.delete().where(
            (NotificationPreference.user == user_id) & (NotificationPreference.kind == kind.value)
        )
        if not enabled:
            # Only opt-outs are stored: a kind added later starts enabled for everyone.
            await NotificationPreference.insert(
                NotificationPreference(user=user_id, kind=kind.value, enabled=False)
            )
