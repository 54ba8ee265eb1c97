"""The access policy as pure predicates."""

from dataclasses import replace

from server.domain.actors import Actor
from server.domain.permissions import (
    TicketAccess,
    can_manage,
    can_see_private_notes,
    can_view,
    may_receive,
    sees_every_ticket_of,
    shares_may_admit,
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
# One of each kind of viewer: with and without an establishment, staff with and without a
# scope, the administrator, an inactive account.
INACTIVE = Actor(id=1, role=Role.REQUESTER, establishment_id=10, active=False)
EVERY_KIND = (
    requester,
    Actor(id=1, role=Role.REQUESTER, establishment_id=None),
    tech,
    Actor(id=9, role=Role.ADMIN, establishment_id=None),
    INACTIVE,
    Actor(5, Role.TECHNICIAN, None, establishment_ids=frozenset({10})),
)


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


def test_technicians_see_what_their_groups_serve_or_hold() -> None:
    serving = Actor(5, Role.TECHNICIAN, None, establishment_ids=frozenset({10}))
    for ticket in (OWN, COLLEAGUES_PRIVATE):
        assert can_view(serving, ticket)
        assert can_manage(serving, ticket)
    assert not can_view(serving, OTHER_ESTABLISHMENT)
    # An escalation reaches the receiving group wherever the ticket comes from.
    in_group = Actor(6, Role.TECHNICIAN, None, group_ids=frozenset({7}))
    assert can_view(in_group, replace(OTHER_ESTABLISHMENT, group_id=7))
    assert not can_view(in_group, replace(OTHER_ESTABLISHMENT, group_id=8))
    assert can_view(tech, replace(OTHER_ESTABLISHMENT, assignee_id=tech.id))
    assert not can_view(tech, OTHER_ESTABLISHMENT)
    assert not can_manage(requester, OWN)


def test_supervisors_see_their_scope_and_admins_everything() -> None:
    scoped = Actor(8, Role.SUPERVISOR, None, establishment_ids=frozenset({1}))
    assert can_view(scoped, OTHER_ESTABLISHMENT)
    assert not can_view(scoped, OWN)
    admin = Actor(9, Role.ADMIN, None)
    assert all(can_view(admin, t) for t in (OWN, COLLEAGUES_PRIVATE, OTHER_ESTABLISHMENT))


def test_named_shares_open_a_private_ticket_to_that_colleague_only() -> None:
    shared = replace(COLLEAGUES_PRIVATE, shared_with=frozenset({requester.id}))
    assert can_view(requester, shared)
    other = Actor(4, Role.REQUESTER, 10)
    assert not can_view(other, shared)


def test_private_notes_reach_only_the_desk() -> None:
    serving = Actor(5, Role.TECHNICIAN, None, establishment_ids=frozenset({10}))
    assert may_receive(requester, OWN)
    assert not may_receive(requester, OWN, private=True)
    assert may_receive(serving, OWN, private=True)
    assert not may_receive(serving, OTHER_ESTABLISHMENT)


def test_private_notes_are_for_staff() -> None:
    assert can_see_private_notes(tech)
    assert not can_see_private_notes(requester)


def test_tree_reach_walks_ids_not_codes() -> None:
    from server.domain.establishments import ancestors, creates_cycle, descendants

    parent_of = {1: None, 10: 1, 100: 10, 11: 1, 2: None}
    assert descendants([10], parent_of) == {10, 100}
    assert descendants([1], parent_of) == {1, 10, 100, 11}
    assert descendants([99], parent_of) == frozenset()
    assert ancestors(100, parent_of) == [10, 1]
    assert creates_cycle(1, 100, parent_of)
    assert creates_cycle(10, 10, parent_of)
    assert not creates_cycle(10, 2, parent_of)
    assert not creates_cycle(10, None, parent_of)


def test_a_list_narrowed_to_ones_own_or_assigned_tickets_needs_no_access_test() -> None:
    """``sees_every_ticket_of`` is true only where ``can_view`` admits every ticket of that
    requester or assignee, whatever its establishment, sharing or group."""
    tickets = [
        TicketAccess(requester_id=r, establishment_id=e, shared=s, group_id=g, assignee_id=a)
        for r in (1, 2, 5)
        for e in (None, 1, 10)
        for s in (True, False)
        for g in (None, 7)
        for a in (None, 5, 6)
    ]
    implied = 0
    for actor in EVERY_KIND:
        scope = visibility(actor)
        for who in (1, 2, 5, 6):
            for by in ("requester_id", "assignee_id"):
                if not sees_every_ticket_of(scope, **{by: who}):
                    continue
                implied += 1
                for ticket in tickets:
                    if getattr(ticket, by) == who:
                        assert can_view(actor, ticket), (actor, by, who, ticket)
    # Requesters: their own (1 each); technicians: their own and assigned (2 each); the
    # administrator: everyone's (8); the inactive account: nothing.
    assert implied == 14
    assert sees_every_ticket_of(visibility(requester), requester_id=1)
    assert not sees_every_ticket_of(visibility(requester), assignee_id=1)
    assert sees_every_ticket_of(visibility(tech), assignee_id=5)
    assert not sees_every_ticket_of(visibility(INACTIVE), requester_id=1)
    assert not sees_every_ticket_of(visibility(requester), requester_id=2)


def test_shares_are_read_only_where_they_could_change_the_answer() -> None:
    """Reading a ticket's shares only when ``shares_may_admit`` and nothing else admits the
    viewer gives ``can_view``'s answer with the shares, for every kind of viewer and ticket."""
    skipped = 0
    for actor in EVERY_KIND:
        for r in (1, 2):
            for e in (1, 10):
                for s in (True, False):
                    for a in (None, 5):
                        for shares in (frozenset(), frozenset({1}), frozenset({1, 5})):
                            full = TicketAccess(r, e, s, None, a, shares)
                            bare = TicketAccess(r, e, s, None, a)
                            lazy = can_view(actor, bare) or (
                                shares_may_admit(actor) and can_view(actor, full)
                            )
                            assert lazy == can_view(actor, full), (actor, full)
                            skipped += not can_view(actor, bare) and not shares_may_admit(actor)
    assert skipped > 0  # some viewers never need the shares read
