"""The access policy as pure predicates."""

from server.domain.actors import Actor
from server.domain.permissions import (
    TicketAccess,
    can_manage,
    can_see_private_notes,
    can_view,
    visibility,
)
from server.domain.vocabulary import Role

OWN = TicketAccess(requester_id=1, establishment_id=10, shared=True)
COLLEAGUES_SHARED = TicketAccess(requester_id=2, establishment_id=10, shared=True)
COLLEAGUES_PRIVATE = TicketAccess(requester_id=2, establishment_id=10, shared=False)
# Establishment ids 1 and 10 must never be confused (no prefix or string matching).
OTHER_ESTABLISHMENT = TicketAccess(requester_id=3, establishment_id=1, shared=True)

requester = Actor(id=1, role=Role.REQUESTER, establishment_id=10)
tech = Actor(id=5, role=Role.TECHNICIAN, establishment_id=None)


def test_requester_sees_own_and_establishment_shared_only() -> None:
    assert can_view(requester, OWN)
    assert can_view(requester, COLLEAGUES_SHARED)
    assert not can_view(requester, COLLEAGUES_PRIVATE)
    assert not can_view(requester, OTHER_ESTABLISHMENT)


def test_requester_without_establishment_sees_only_own() -> None:
    lone = Actor(id=1, role=Role.REQUESTER, establishment_id=None)
    assert can_view(lone, OWN)
    assert not can_view(lone, COLLEAGUES_SHARED)


def test_inactive_accounts_see_nothing() -> None:
    gone = Actor(id=1, role=Role.REQUESTER, establishment_id=10, active=False)
    assert not can_view(gone, OWN)
    assert visibility(gone) == visibility(Actor(0, Role.REQUESTER, None, active=False))
    assert not can_manage(
        Actor(id=5, role=Role.TECHNICIAN, establishment_id=None, active=False), OWN
    )


def test_staff_see_and_manage_everything_for_now() -> None:
    for ticket in (OWN, COLLEAGUES_PRIVATE, OTHER_ESTABLISHMENT):
        assert can_view(tech, ticket)
        assert can_manage(tech, ticket)
    assert not can_manage(requester, OWN)


def test_private_notes_are_for_staff() -> None:
    assert can_see_private_notes(tech)
    assert not can_see_private_notes(requester)
