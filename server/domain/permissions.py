"""Who may see and do what with a ticket: the single access policy.

Every route, list, count, API call, (later) websocket push and notification asks these
functions. ``visibility`` describes "which tickets may this actor see?" as a value the
database layer turns into a query filter, so the rule is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.actors import Actor


@dataclass(frozen=True, slots=True)
class TicketAccess:
    """The facts about a ticket that access depends on."""

    requester_id: int
    establishment_id: int
    shared: bool


@dataclass(frozen=True, slots=True)
class Visibility:
    """A ticket is visible if ``everything``, or requested by ``requester_id``, or shared within
    ``establishment_id``. Nothing else is visible (deny by default)."""

    everything: bool = False
    requester_id: int | None = None
    establishment_id: int | None = None


def visibility(actor: Actor) -> Visibility:
    if not actor.active:
        return Visibility()
    if actor.is_staff:
        # Technicians and supervisors see every establishment for now; scopes come later.
        return Visibility(everything=True)
    return Visibility(requester_id=actor.id, establishment_id=actor.establishment_id)


def can_view(actor: Actor, ticket: TicketAccess) -> bool:
    scope = visibility(actor)
    if scope.everything:
        return True
    if scope.requester_id is not None and ticket.requester_id == scope.requester_id:
        return True
    return (
        ticket.shared
        and scope.establishment_id is not None
        and ticket.establishment_id == scope.establishment_id
    )


def can_comment(actor: Actor, ticket: TicketAccess) -> bool:
    return can_view(actor, ticket)


def can_manage(actor: Actor, ticket: TicketAccess) -> bool:
    """Take, assign, change priority/category/type, write private notes."""
    return actor.active and actor.is_staff and can_view(actor, ticket)


def can_see_private_notes(actor: Actor) -> bool:
    return actor.active and actor.is_staff


def can_set_shared(actor: Actor, ticket: TicketAccess) -> bool:
    return actor.active and (actor.id == ticket.requester_id or actor.is_staff)
