"""Who may see and do what with a ticket: the single access policy.

Every route, list, count, search, board column, websocket push, attachment download and
notification recipient list asks these functions. ``visibility`` describes "which tickets may
this actor see?" as a value the database layer turns into a query filter (``db.queries.
visible_to``), so the rule is written once and evaluated the same way in SQL and in Python.

- Admins see everything.
- Technicians see the tickets of the establishments their groups serve (children included),
  the tickets assigned to one of their groups (escalations reach them wherever they come
  from) and the tickets assigned to them.
- Supervisors see the establishments of their scope (subtrees), plus what their groups give.
- Requesters see their own tickets, their establishment's shared tickets (exact id match),
  and tickets their colleague shared with them by name. Watching never widens access.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.actors import Actor
from server.domain.vocabulary import Role


@dataclass(frozen=True, slots=True)
class TicketAccess:
    """The facts about a ticket that access depends on."""

    requester_id: int
    establishment_id: int
    shared: bool
    group_id: int | None = None
    assignee_id: int | None = None
    shared_with: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Visibility:
    """A ticket is visible if ``everything``, or if any one branch matches. An empty value
    matches nothing (deny by default)."""

    everything: bool = False
    requester_id: int | None = None  # the actor's own requests
    establishment_id: int | None = None  # shared tickets of the actor's establishment
    shared_with_id: int | None = None  # tickets shared with the actor by name
    establishment_ids: frozenset[int] = frozenset()  # any ticket of these establishments
    group_ids: frozenset[int] = frozenset()  # any ticket assigned to these groups
    assignee_id: int | None = None  # any ticket assigned to the actor


def visibility(actor: Actor) -> Visibility:
    if not actor.active:
        return Visibility()
    if actor.role is Role.ADMIN:
        return Visibility(everything=True)
    if actor.is_staff:
        return Visibility(
            requester_id=actor.id,
            establishment_ids=actor.establishment_ids,
            group_ids=actor.group_ids,
            assignee_id=actor.id,
        )
    return Visibility(
        requester_id=actor.id,
        establishment_id=actor.establishment_id,
        shared_with_id=actor.id,
    )


def can_view(actor: Actor, ticket: TicketAccess) -> bool:
    scope = visibility(actor)
    return scope.everything or any(
        (
            scope.requester_id is not None and ticket.requester_id == scope.requester_id,
            scope.establishment_id is not None
            and ticket.shared
            and ticket.establishment_id == scope.establishment_id,
            scope.shared_with_id is not None and scope.shared_with_id in ticket.shared_with,
            ticket.establishment_id in scope.establishment_ids,
            ticket.group_id is not None and ticket.group_id in scope.group_ids,
            scope.assignee_id is not None and ticket.assignee_id == scope.assignee_id,
        )
    )


def shares_may_admit(actor: Actor) -> bool:
    """Whether a ticket's shares could let ``actor`` see it when nothing else does. Shares
    only add readers (``can_view`` admits on ``shared_with``, never refuses on it), and only
    a scope that names its holder (``shared_with_id``) looks at them: for everyone else the
    shares need not be read at all."""
    return visibility(actor).shared_with_id is not None


def sees_every_ticket_of(
    scope: Visibility, *, requester_id: int | None = None, assignee_id: int | None = None
) -> bool:
    """Whether every ticket requested by ``requester_id`` (or assigned to ``assignee_id``)
    is visible in ``scope``: one of ``can_view``'s branches admits them all, so a list
    narrowed to them needs no other access test."""
    return scope.everything or (
        (requester_id is not None and requester_id == scope.requester_id)
        or (assignee_id is not None and assignee_id == scope.assignee_id)
    )


def can_comment(actor: Actor, ticket: TicketAccess) -> bool:
    return can_view(actor, ticket)


def can_manage(actor: Actor, ticket: TicketAccess) -> bool:
    """Take, assign, escalate, change priority/category/type, write private notes."""
    return actor.active and actor.is_staff and can_view(actor, ticket)


def can_see_private_notes(actor: Actor) -> bool:
    return actor.active and actor.is_staff


def can_set_shared(actor: Actor, ticket: TicketAccess) -> bool:
    """Marking a ticket private or shared with the establishment."""
    return actor.active and (actor.id == ticket.requester_id or can_manage(actor, ticket))


def can_share_with_people(actor: Actor, ticket: TicketAccess) -> bool:
    """Naming colleagues who may follow the ticket: its requester, or the desk."""
    return can_set_shared(actor, ticket)


def can_watch(actor: Actor, ticket: TicketAccess) -> bool:
    return can_view(actor, ticket)


def may_receive(actor: Actor, ticket: TicketAccess, private: bool = False) -> bool:
    """May this person be told about a change (mail, bell, live push)? Private notes only
    ever reach the desk."""
    return can_view(actor, ticket) and (not private or can_see_private_notes(actor))


# History entries that stay inside the desk: why a ticket moved between groups.
DESK_ONLY_HISTORY = frozenset({"escalation", "deescalation", "transfer"})


def may_see_history(actor: Actor, field_name: str) -> bool:
    return field_name not in DESK_ONLY_HISTORY or can_see_private_notes(actor)


def can_serve(actor: Actor, establishment_id: int | None) -> bool:
    """May staff file a ticket for someone of this establishment (and see their name in the
    requester picker)? Admins serve everyone; others the establishments their groups serve or
    their scope covers (the same reach as ``visibility``)."""
    if not (actor.active and actor.is_staff) or establishment_id is None:
        return False
    return actor.role is Role.ADMIN or establishment_id in actor.establishment_ids


def can_administer(actor: Actor) -> bool:
    return actor.active and actor.role is Role.ADMIN


def can_look_up_person(actor: Actor, role: Role, establishment_id: int | None) -> bool:
    """Admins see every account; the desk sees the requesters of the establishments it
    serves (to file or assign on their behalf); requesters see nobody through this."""
    if not actor.active:
        return False
    if actor.role is Role.ADMIN:
        return True
    return (
        actor.is_staff
        and role is Role.REQUESTER
        and establishment_id is not None
        and establishment_id in actor.establishment_ids
    )
