"""Write notifications (outbox mails and in-app lines) inside the transaction of the change
they announce.

If the change rolls back, so do its notifications; if it commits, the mails are durably queued
(the dispatcher, server.services.mail_dispatcher, delivers them later) and the in-app lines
are there for the bell. Both channels have the same recipients; each user may turn a kind off
per channel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from server.db.engine import write_transaction
from server.db.notification_tables import InAppNotification, InAppPreference
from server.db.prepared import (
    SAMPLE_ID,
    SAMPLE_MOMENT,
    Prepared,
    PreparedIn,
    PreparedInsert,
    ticket_row,
    ticket_shares,
)
from server.db.queries import access_of
from server.db.tables import GroupMember, NotificationPreference, Outbox, TicketWatcher
from server.domain.actors import Actor
from server.domain.notifications import Audience, Kind, recipients
from server.domain.permissions import can_see_private_notes, can_view
from server.services import webhooks
from server.services.accounts import actors_of
from server.settings import get_settings

EMAIL = "email"
IN_APP = "in_app"
CHANNELS = (EMAIL, IN_APP)
_PREFERENCE_TABLES: dict[str, Any] = {EMAIL: NotificationPreference, IN_APP: InAppPreference}

# Users given a new in-app notification by the current task since the last ``take_notified``:
# the use case's event carries them, so their bells are refreshed once the change commits.
_notified: ContextVar[frozenset[int]] = ContextVar("guichet_notified", default=frozenset())


def take_notified() -> frozenset[int]:
    users = _notified.get()
    _notified.set(frozenset())
    return users


async def followers(ticket_id: int) -> set[int]:
    """People who follow the ticket; they go through the same visibility, private-note and
    preference rules as everyone. A colleague it is shared with by name is not one of them
    unless they chose to follow it: a share is told once (Kind.SHARED)."""
    watchers = await TicketWatcher.select(TicketWatcher.user).where(
        TicketWatcher.ticket == ticket_id
    )
    return {w["user"] for w in watchers}


async def enqueue(
    kind: Kind,
    ticket_id: int,
    actor: Actor | None,
    *,
    follow_up_id: int | None = None,
    private: bool = False,
    extra_recipient_ids: Iterable[int] = (),
    ticket: dict[str, Any] | None = None,
    shares: frozenset[int] | None = None,
) -> list[int]:
    """Queue one mail and one in-app line per recipient of ``kind``; return the mail
    recipients. Call it inside the use case's ``write_transaction`` after the change, so it
    reads the committed state (or pass ``ticket``, the row as it stands after the change,
    and ``shares``, read in the same transaction)."""
    return (
        await enqueue_kinds(
            (kind,),
            ticket_id,
            actor,
            follow_up_id=follow_up_id,
            private=private,
            extra_recipient_ids=extra_recipient_ids,
            ticket=ticket,
            shares=shares,
        )
    ).get(kind, [])


async def enqueue_kinds(
    kinds: Iterable[Kind],
    ticket_id: int,
    actor: Actor | None,
    *,
    follow_up_id: int | None = None,
    private: bool = False,
    extra_recipient_ids: Iterable[int] = (),
    ticket: dict[str, Any] | None = None,
    shares: frozenset[int] | None = None,
    new_ticket: bool = False,
) -> dict[Kind, list[int]]:
    """``enqueue`` for several kinds of one change (a new ticket: the requester's
    acknowledgement and the receiving group's notice), reading who is concerned once.
    ``new_ticket``: the ticket was created in this transaction (no unread line to fold)."""
    ticket = ticket or await ticket_row(ticket_id)
    if ticket is None:
        return {}
    # Receivers of outbound webhooks hear of the same changes, in the same transaction.
    kinds = tuple(kinds)
    for kind in kinds:
        await webhooks.enqueue(kind, ticket, private=private)
    members, watchers = await _members_and_followers(ticket_id, ticket["assigned_group"])
    # Shares are read once: they decide who may see the ticket. A colleague named in a share
    # hears about later changes only if they follow the ticket.
    if shares is None:
        shares = await ticket_shares(ticket_id)
    named = set(extra_recipient_ids)
    concerned = {ticket["requester"], *members, *named, *watchers}
    if ticket["assignee"] is not None:
        concerned.add(ticket["assignee"])
    # Each person with their reach (groups, served establishments), as their own requests
    # would see them.
    people = list((await actors_of(sorted(concerned))).values())
    access = access_of(ticket, shares)
    audience = Audience(
        requester_id=ticket["requester"],
        requester_wants_mail=ticket["notify"],
        assignee_id=ticket["assignee"],
        group_member_ids=frozenset(members),
        watcher_ids=frozenset(watchers),
        named_ids=frozenset(named),
        staff_ids=frozenset(p.id for p in people if can_see_private_notes(p)),
        inactive_ids=frozenset(p.id for p in people if not p.active),
        viewer_ids=frozenset(p.id for p in people if can_view(p, access)),
    )
    author = actor.id if actor is not None and actor.id else None
    chosen = {kind: recipients(kind, audience, author, private=private) for kind in kinds}
    return await _write(chosen, ticket, author, follow_up_id, private, new_ticket=new_ticket)


async def _write(
    chosen: dict[Kind, set[int]],
    ticket: dict[str, Any],
    author: int | None,
    follow_up_id: int | None,
    private: bool,
    *,
    new_ticket: bool,
) -> dict[Kind, list[int]]:
    """The outbox rows and in-app lines of every kind of one change, in one statement per
    table whatever the number of kinds; returns the mail recipients of each kind."""
    everyone = set().union(*chosen.values())
    if not everyone:
        return {kind: [] for kind in chosen}
    ticket_id = ticket["id"]
    muted = await _muted(everyone)
    now = datetime.now(UTC)
    mailed: dict[Kind, list[int]] = {}
    outbox_rows: list[tuple[Any, ...]] = []
    # One unread line per person and ticket: someone concerned by several kinds of this
    # change keeps the last one's line, counting them all (as one kind after the other,
    # each folding the one before, would have left it).
    lines: dict[int, tuple[Kind, int]] = {}
    for kind, people in chosen.items():
        by_mail = sorted(people - muted[EMAIL].get(kind, set()))
        mailed[kind] = by_mail
        if by_mail:
            due = await _mail_due(kind, ticket_id, by_mail)
            outbox_rows += [
                (kind.value, ticket_id, user_id, author, follow_up_id, ticket["status"], now,
                 0, due[user_id], None, None, None, "")
                for user_id in by_mail
            ]  # fmt: skip
        for user_id in sorted(people - muted[IN_APP].get(kind, set())):
            lines[user_id] = (kind, lines[user_id][1] + 1 if user_id in lines else 1)
    if outbox_rows:
        await _OUTBOX_ROWS.run(outbox_rows)
    if lines:
        in_app = sorted(lines)
        # A ticket created in this transaction has no earlier line to fold.
        folded = {} if new_ticket else await _fold_unread(ticket_id, in_app, private)
        await _IN_APP_ROWS.run(
            [
                (user_id, lines[user_id][0].value, ticket_id, author, follow_up_id, private,
                 ticket["status"], now, None, folded.get(user_id, 0) + lines[user_id][1])
                for user_id in in_app
            ]
        )  # fmt: skip
        _notified.set(_notified.get() | frozenset(in_app))
    return mailed


# Compiled once (``server.db.prepared``): every column as Piccolo's insert would write it.
_OUTBOX_ROWS = PreparedInsert(
    Outbox,
    ("kind", "ticket", "recipient", "actor", "follow_up", "status", "created_at", "attempts",
     "next_attempt_at", "sent_at", "claimed_by", "claimed_until", "last_error"),
)  # fmt: skip
_IN_APP_ROWS = PreparedInsert(
    InAppNotification,
    ("user", "kind", "ticket", "actor", "follow_up", "private", "status", "created_at",
     "read_at", "changes"),
)  # fmt: skip


# Sent at once, never held for a digest: the acknowledgement the guides require.
_AT_ONCE = frozenset({Kind.CREATED, Kind.GROUP_NEW})


async def _mail_due(kind: Kind, ticket_id: int, users: list[int]) -> dict[int, datetime]:
    """When each person's mail about this change is due. Changes to one ticket within the
    digest window wait for one another and leave as one mail (the dispatcher joins the rows
    of one person and ticket that are due together)."""
    now = datetime.now(UTC)
    window = timedelta(seconds=get_settings().mail.digest_seconds)
    if kind in _AT_ONCE or window <= timedelta(0):
        return dict.fromkeys(users, now)
    waiting = await _WAITING.rows(ticket_id, now, users)
    due = dict.fromkeys(users, now + window)
    for row in waiting:
        due[row["recipient"]] = min(due[row["recipient"]], row["next_attempt_at"])
    return due


def _waiting_mails(ticket_id: int, now: datetime, users: list[int]) -> Any:
    """Mails to these people about this ticket still held for the digest window."""
    return Outbox.select(Outbox.recipient, Outbox.next_attempt_at).where(
        (Outbox.ticket == ticket_id)
        & Outbox.recipient.is_in(users)
        & Outbox.sent_at.is_null()
        & Outbox.claimed_by.is_null()
        & (Outbox.attempts == 0)
        & (Outbox.next_attempt_at > now)
    )


# Run by every change that mails (a move, a follow-up): compiled once per number of people.
_WAITING = PreparedIn(_waiting_mails, leading=(SAMPLE_ID - 1, SAMPLE_MOMENT))


def _unread_lines(ticket_id: int, private: bool, users: list[int]) -> Any:
    return (
        InAppNotification.delete()
        .where(
            (InAppNotification.ticket == ticket_id)
            & InAppNotification.user.is_in(users)
            & InAppNotification.read_at.is_null()
            & (InAppNotification.private == private)
        )
        .returning(InAppNotification.user, InAppNotification.changes)
    )


# Run by every notifying change: compiled once per number of people (db.prepared).
_FOLD_UNREAD = PreparedIn(_unread_lines, leading=(SAMPLE_ID - 1, True))


async def _fold_unread(ticket_id: int, users: list[int], private: bool) -> dict[int, int]:
    """Remove each user's unread line about this ticket (of the same privacy) and return how
    many changes it stood for: the new line takes its place at the top of the list. One
    statement: the deletion returns what it removed."""
    earlier = await _FOLD_UNREAD.rows(ticket_id, private, users)
    folded: dict[int, int] = {}
    for row in earlier:
        folded[row["user"]] = folded.get(row["user"], 0) + row["changes"]
    return folded


# Who follows the ticket and who is in its group, in one statement (both are small sets).
_MEMBERS_AND_FOLLOWERS = (
    'SELECT "user", 0 AS follows FROM group_member WHERE "group" = {}'
    ' UNION ALL SELECT "user", 1 AS follows FROM ticket_watcher WHERE ticket = {}'
)


_MEMBERS_AND_FOLLOWERS_OF = Prepared(
    lambda group_id, ticket_id: GroupMember.raw(_MEMBERS_AND_FOLLOWERS, group_id, ticket_id),
    SAMPLE_ID - 1,
    SAMPLE_ID,
)


async def _members_and_followers(ticket_id: int, group_id: int | None) -> tuple[set[int], set[int]]:
    """The assigned group's members and the ticket's followers (see :func:`followers`)."""
    rows = await _MEMBERS_AND_FOLLOWERS_OF.rows(group_id, ticket_id)
    members = {row["user"] for row in rows if not row["follows"]}
    return members, {row["user"] for row in rows if row["follows"]}


# Opt-outs of every kind at once (only opt-outs are stored: a few rows a person at most).
_MUTED = (
    "SELECT \"user\", kind, 'email' AS channel FROM notification_preference"
    ' WHERE enabled = {} AND "user" IN (%s)'
    " UNION ALL SELECT \"user\", kind, 'in_app' AS channel FROM in_app_preference"
    ' WHERE enabled = {} AND "user" IN (%s)'
)


def _muted_sql(ids: list[int]) -> Any:
    marks = ", ".join(["{}"] * len(ids))
    return NotificationPreference.raw(_MUTED % (marks, marks), False, *ids, False, *ids)


# Run by every notifying change: compiled once per number of people (db.prepared).
_MUTED_OF = PreparedIn(_muted_sql)


async def _muted(users: set[int]) -> dict[str, dict[Kind, set[int]]]:
    """Who turned which kind off, per channel, in one statement."""
    muted: dict[str, dict[Kind, set[int]]] = {EMAIL: {}, IN_APP: {}}
    for row in await _MUTED_OF.rows(sorted(users)):
        with contextlib.suppress(ValueError):  # a kind no longer sent
            muted[row["channel"]].setdefault(Kind(row["kind"]), set()).add(row["user"])
    return muted


async def preferences(user_id: int, channel: str = EMAIL) -> dict[Kind, bool]:
    """Every kind with the user's choice for ``channel`` (enabled unless turned off)."""
    table = _PREFERENCE_TABLES[channel]
    rows = await table.select(table.kind, table.enabled).where(table.user == user_id)
    chosen = {row["kind"]: row["enabled"] for row in rows}
    return {kind: chosen.get(kind.value, True) for kind in Kind}


async def set_preference(user_id: int, kind: Kind, enabled: bool, channel: str = EMAIL) -> None:
    table = _PREFERENCE_TABLES[channel]
    async with write_transaction():
        await table.delete().where((table.user == user_id) & (table.kind == kind.value))
        if not enabled:
            # Only opt-outs are stored: a kind added later starts enabled for everyone.
            await table.insert(table(user=user_id, kind=kind.value, enabled=False))


# -- the in-app list ---------------------------------------------------------------------------


async def mark_read(user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) notification of the user as read; return how many
    changed. Another user's notification is simply not found."""
    where = (InAppNotification.user == user_id) & InAppNotification.read_at.is_null()
    if notification_id is not None:
        where = where & (InAppNotification.id == notification_id)
    async with write_transaction():
        rows = (
            await InAppNotification.update({InAppNotification.read_at: datetime.now(UTC)})
            .where(where)
            .returning(InAppNotification.id)
        )
    return len(rows)
