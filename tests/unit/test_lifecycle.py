"""The transition table and its named guards, without a database."""

import pytest

from server.domain.actors import Actor
from server.domain.errors import InvalidTransition
from server.domain.lifecycle import (
    TRANSITIONS,
    Move,
    TicketFacts,
    allowed_targets,
    check_move,
    reopen_target,
)
from server.domain.vocabulary import Role, Status

REQUESTER = Actor(id=1, role=Role.REQUESTER, establishment_id=10)
OTHER_REQUESTER = Actor(id=2, role=Role.REQUESTER, establishment_id=10)
TECH = Actor(id=3, role=Role.TECHNICIAN, establishment_id=10)
SUPERVISOR = Actor(id=4, role=Role.SUPERVISOR, establishment_id=None)


def facts(status: Status, assignee: int | None = 3) -> TicketFacts:
    return TicketFacts(status=status, requester_id=REQUESTER.id, assignee_id=assignee)


def test_every_status_can_be_left_except_by_listed_transitions() -> None:
    sources = {source for source, _ in TRANSITIONS}
    assert sources == set(Status)


def test_technician_starts_work_on_assigned_ticket() -> None:
    transition = check_move(facts(Status.NEW), TECH, Move(Status.ASSIGNED))
    assert transition.name == "start"


def test_in_progress_needs_an_assignee() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_move(facts(Status.NEW, assignee=None), TECH, Move(Status.ASSIGNED))
    assert "Assign a technician" in caught.value.message


def test_requester_cannot_move_ticket_forward() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_move(facts(Status.NEW), REQUESTER, Move(Status.PENDING))
    assert "Only the help desk" in caught.value.message


@pytest.mark.parametrize("source", [Status.NEW, Status.ASSIGNED, Status.PLANNED, Status.PENDING])
def test_resolving_requires_a_solution(source: Status) -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_move(facts(source), TECH, Move(Status.RESOLVED, solution="   "))
    assert "solution is required" in caught.value.message
    assert check_move(facts(source), TECH, Move(Status.RESOLVED, solution="Fixed")).name == (
        "resolve"
    )


def test_requester_reply_reopens_resolved_ticket() -> None:
    move = Move(Status.ASSIGNED, by_reply=True)
    assert check_move(facts(Status.RESOLVED), REQUESTER, move).name == "reopen"


def test_requester_cannot_reopen_without_replying() -> None:
    with pytest.raises(InvalidTransition):
        check_move(facts(Status.RESOLVED), REQUESTER, Move(Status.ASSIGNED))


def test_someone_elses_reply_does_not_reopen() -> None:
    with pytest.raises(InvalidTransition):
        check_move(facts(Status.RESOLVED), OTHER_REQUESTER, Move(Status.NEW, by_reply=True))


def test_requester_may_close_their_resolved_ticket_but_not_another() -> None:
    assert check_move(facts(Status.RESOLVED), REQUESTER, Move(Status.CLOSED)).name == "close"
    with pytest.raises(InvalidTransition):
        check_move(facts(Status.RESOLVED), OTHER_REQUESTER, Move(Status.CLOSED))


def test_closed_is_final_except_for_a_supervisor() -> None:
    for actor in (REQUESTER, TECH):
        with pytest.raises(InvalidTransition) as caught:
            check_move(facts(Status.CLOSED), actor, Move(Status.ASSIGNED, by_reply=True))
        assert "supervisor" in caught.value.message
    assert check_move(facts(Status.CLOSED), SUPERVISOR, Move(Status.ASSIGNED)).name == (
        "reopen_closed"
    )


def test_transitions_not_in_the_table_are_refused() -> None:
    with pytest.raises(InvalidTransition):
        check_move(facts(Status.NEW), SUPERVISOR, Move(Status.CLOSED))
    with pytest.raises(InvalidTransition):
        check_move(facts(Status.ASSIGNED), TECH, Move(Status.ASSIGNED))


def test_allowed_targets_follow_the_guards() -> None:
    assert allowed_targets(facts(Status.NEW, assignee=None), TECH) == [
        Status.PENDING,
        Status.RESOLVED,
    ]
    assert allowed_targets(facts(Status.NEW), REQUESTER) == []
    assert allowed_targets(facts(Status.RESOLVED), REQUESTER) == [Status.CLOSED]
    assert set(allowed_targets(facts(Status.CLOSED), SUPERVISOR)) == {Status.ASSIGNED, Status.NEW}


def test_reopen_goes_back_to_whoever_was_in_charge() -> None:
    assert reopen_target(facts(Status.RESOLVED, assignee=3)) is Status.ASSIGNED
    assert reopen_target(facts(Status.RESOLVED, assignee=None)) is Status.NEW
