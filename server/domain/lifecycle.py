"""The ticket's life as data: a transition table with named guards.

Statuses follow GLPI: New -> In progress (assigned | planned) -> Pending -> Resolved -> Closed.
Anything not in ``TRANSITIONS`` is refused. Each transition lists the guards that must pass;
a guard returns ``None`` when satisfied or the message id explaining the refusal.
Templates draw buttons from :func:`allowed_targets`, never from status comparisons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server.domain.actors import Actor
from server.domain.errors import InvalidTransition
from server.domain.text import N_
from server.domain.vocabulary import Status


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the guards need to know about a ticket."""

    status: Status
    requester_id: int
    assignee_id: int | None


@dataclass(frozen=True, slots=True)
class Move:
    """A requested change of status and what comes with it."""

    target: Status
    solution: str = ""
    # True when the move comes from the requester answering (follow-up on a resolved ticket).
    by_reply: bool = False


Guard = Callable[[TicketFacts, Actor, Move], "str | None"]


def staff_only(ticket: TicketFacts, actor: Actor, move: Move) -> str | None:
    return None if actor.is_staff else N_("Only the help desk can make this change.")


def has_assignee(ticket: TicketFacts, actor: Actor, move: Move) -> str | None:
    # Taking a ticket assigns it first; a status "in progress" needs someone in charge.
    if ticket.assignee_id is None:
        return N_("Assign a technician before starting work on this ticket.")
    return None


def solution_required(ticket: TicketFacts, actor: Actor, move: Move) -> str | None:
    return None if move.solution.strip() else N_("A solution is required to resolve a ticket.")


def requester_or_staff(ticket: TicketFacts, actor: Actor, move: Move) -> str | None:
    if actor.is_staff or actor.id == ticket.requester_id:
        return None
    return N_("Only the requester or the help desk can make this change.")


def reply_or_staff(ticket: TicketFacts, actor: Actor, move: Move) -> str | None:
    """A resolved ticket reopens when the requester replies, or when the desk reopens it."""
    if actor.is_staff or (move.by_reply and actor.id == ticket.requester_id):
        return None
    return N_("Reply to the ticket to reopen it.")


def supervisor_only(ticket: TicketFacts, actor: Actor, move: Move) -> str | None:
    if actor.is_supervisor:
        return None
    return N_("A closed ticket can only be reopened by a supervisor.")


@dataclass(frozen=True, slots=True)
class Transition:
    source: Status
    target: Status
    name: str
    guards: tuple[Guard, ...]


_S = Status
_IN_PROGRESS = (_S.ASSIGNED, _S.PLANNED)


def _table() -> dict[tuple[Status, Status], Transition]:
    rows: list[Transition] = []

    def add(sources: tuple[Status, ...], target: Status, name: str, *guards: Guard) -> None:
        rows.extend(Transition(s, target, name, guards) for s in sources)

    add((_S.NEW, _S.PENDING, _S.PLANNED), _S.ASSIGNED, "start", staff_only, has_assignee)
    add((_S.NEW, _S.PENDING, _S.ASSIGNED), _S.PLANNED, "plan", staff_only, has_assignee)
    add((_S.NEW, *_IN_PROGRESS), _S.PENDING, "wait", staff_only)
    add((_S.NEW, *_IN_PROGRESS, _S.PENDING), _S.RESOLVED, "resolve", staff_only, solution_required)
    add((_S.RESOLVED,), _S.CLOSED, "close", requester_or_staff)
    # Reopening goes back to "assigned" when someone is in charge, else to "new".
    add((_S.RESOLVED,), _S.ASSIGNED, "reopen", reply_or_staff, has_assignee)
    add((_S.RESOLVED,), _S.NEW, "reopen", reply_or_staff)
    add((_S.CLOSED,), _S.ASSIGNED, "reopen_closed", supervisor_only, has_assignee)
    add((_S.CLOSED,), _S.NEW, "reopen_closed", supervisor_only)
    return {(t.source, t.target): t for t in rows}


TRANSITIONS: dict[tuple[Status, Status], Transition] = _table()


def check_move(ticket: TicketFacts, actor: Actor, move: Move) -> Transition:
    """Return the transition for this move, or raise InvalidTransition with the reason."""
    transition = TRANSITIONS.get((ticket.status, move.target))
    if transition is None:
        raise InvalidTransition()
    for guard in transition.guards:
        refusal = guard(ticket, actor, move)
        if refusal:
            raise InvalidTransition(refusal)
    return transition


def allowed_targets(ticket: TicketFacts, actor: Actor) -> list[Status]:
    """Statuses this actor could move the ticket to (solution assumed given when required)."""
    targets = []
    for (source, target), transition in TRANSITIONS.items():
        if source is not ticket.status or target in targets:
            continue
        probe = Move(target=target, solution="-")
        if all(guard(ticket, actor, probe) is None for guard in transition.guards):
            targets.append(target)
    return targets


def reopen_target(ticket: TicketFacts) -> Status:
    return Status.ASSIGNED if ticket.assignee_id is not None else Status.NEW
