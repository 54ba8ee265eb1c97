"""Who hears about a ticket change (by e-mail and in the app): pure rules, no I/O.

A use case names the kind of change; ``recipients`` decides who hears about it from the facts
the service loads (requester, assignee, group members, followers, people the change names) and
the people who turned that kind off. The author of a change never hears about it, except the
acknowledgement of their own request (the guides require it); private notes only reach people
who may read them; nobody hears about a ticket the access policy does not let them see.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum

from server.domain.text import N_
from server.domain.vocabulary import Status


class Kind(StrEnum):
    CREATED = "created"
    ASSIGNED = "assigned"  # taken in charge, or handed to a technician or group
    FOLLOW_UP = "follow_up"
    STATUS_CHANGED = "status_changed"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    ESCALATED = "escalated"
    PENDING_REMINDER = "pending_reminder"  # the desk waits for the requester's answer
    SHARED = "shared"  # told once, to the colleague a ticket is shared with by name
    MERGED = "merged"  # closed as a duplicate: its requester and followers follow the kept one
    # A new ticket reached a group (on creation, by its category or the intake group): the
    # members hear of it, the requester does not (they get the acknowledgement).
    GROUP_NEW = "group_new"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    Kind.CREATED: N_("Ticket created"),
    Kind.ASSIGNED: N_("Ticket taken in charge or assigned"),
    Kind.FOLLOW_UP: N_("Follow-up added"),
    Kind.STATUS_CHANGED: N_("Status changed"),
    Kind.RESOLVED: N_("Ticket resolved"),
    Kind.REOPENED: N_("Ticket reopened"),
    Kind.CLOSED: N_("Ticket closed"),
    Kind.ESCALATED: N_("Ticket escalated"),
    Kind.PENDING_REMINDER: N_("Reminder: the desk is waiting for your answer"),
    Kind.SHARED: N_("Ticket shared with you"),
    Kind.MERGED: N_("Ticket merged into another one"),
    Kind.GROUP_NEW: N_("New ticket for my group"),
}

# Kinds the requester hears about. Escalation is internal to the desk; a share is told to the
# colleague named, alone.
_FOR_REQUESTER = frozenset(Kind) - {Kind.ESCALATED, Kind.SHARED, Kind.GROUP_NEW}
# Kinds the people in charge (assignee, or the group while nobody is assigned) hear about.
# The acknowledgement is for the requester alone; the board shows new tickets to the desk.
_FOR_DESK = frozenset(Kind) - {Kind.CREATED, Kind.PENDING_REMINDER, Kind.SHARED}


@dataclass(frozen=True, slots=True)
class Audience:
    """Everyone who may be concerned by a ticket, as loaded by the service."""

    requester_id: int
    requester_wants_mail: bool  # the ticket's "notify me" box
    assignee_id: int | None = None
    group_member_ids: Set[int] = frozenset()
    # Followers: they get what the requester gets, through the same private-note and
    # visibility filters. A colleague the ticket is shared with by name is told once, when it
    # is shared (``named_ids`` of a SHARED change), then only if they follow it.
    watcher_ids: Set[int] = frozenset()
    # People a change names directly (the colleague of a share).
    named_ids: Set[int] = frozenset()
    # Who among them may read private notes (``can_see_private_notes``).
    staff_ids: Set[int] = frozenset()
    inactive_ids: Set[int] = frozenset()
    # Who among them may see the ticket at all (``can_view``); None only in unit tests of
    # the other rules. The service always sets it.
    viewer_ids: Set[int] | None = None


def recipients(
    kind: Kind,
    audience: Audience,
    author_id: int | None,
    *,
    private: bool = False,
    muted: Set[int] = frozenset(),
) -> set[int]:
    """The user ids to notify of ``kind``. ``muted``: users who turned this kind off."""
    chosen: set[int] = set()
    if kind is Kind.SHARED:
        chosen |= set(audience.named_ids)
    if kind in _FOR_REQUESTER and audience.requester_wants_mail:
        chosen.add(audience.requester_id)
    if kind in _FOR_DESK:
        if kind in (Kind.ESCALATED, Kind.GROUP_NEW) or audience.assignee_id is None:
            # Nobody in charge yet (or the ticket goes up a tier): the whole group is.
            chosen |= set(audience.group_member_ids)
        else:
            chosen.add(audience.assignee_id)
    if kind in _FOR_REQUESTER:
        chosen |= set(audience.watcher_ids)
    if private:
        # Private notes stay among staff, whatever else is true.
        chosen &= set(audience.staff_ids)
    if audience.viewer_ids is not None:
        # Never a word about a ticket someone may not see, whatever their role in it was.
        chosen &= set(audience.viewer_ids)
    if kind is not Kind.CREATED and author_id is not None:
        chosen.discard(author_id)
    return chosen - set(audience.inactive_ids) - set(muted)


def kind_for_move(old: Status, new: Status) -> Kind:
    """The notification a status change deserves."""
    if new is Status.RESOLVED:
        return Kind.RESOLVED
    if new is Status.CLOSED:
        return Kind.CLOSED
    if not old.is_open:
        return Kind.REOPENED
    if old is Status.NEW and new in (Status.ASSIGNED, Status.PLANNED):
        return Kind.ASSIGNED
    return Kind.STATUS_CHANGED
