"""The wallboard's figures: what a desk's wall screen shows, for what the viewer may see.

Open tickets per status and per group come from the tally kept with each change
(``db.counters``), never from counting tickets. The other figures read only tickets that are
open, or that changed today, each through an index (status, created_at, status+closed_at):
their cost follows the size of today's work, not of the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Count, Sum

from server.db import counters
from server.db.counter_tables import TicketTally
from server.db.queries import OPEN_STATUSES, visible_to
from server.db.sla_tables import TicketSla
from server.db.tables import Ticket
from server.domain.actors import Actor
from server.domain.vocabulary import Status

AT_RISK = "at_risk"
BREACHED = "breached"


@dataclass(slots=True)
class Figures:
    per_status: dict[str, int] = field(default_factory=dict)
    per_group: dict[int, int] = field(default_factory=dict)  # 0: no group yet
    at_risk: int = 0
    breached: int = 0
    oldest: dict[str, Any] | None = None  # the ticket waiting longest to be taken
    new_today: int = 0
    resolved_today: int = 0

    @property
    def open_total(self) -> int:
        return sum(self.per_status.values())


def _within(table: Any, within: frozenset[int] | None) -> list[Any]:
    if within is None:
        return []
    return [table.establishment.is_in(sorted(within) or [0])]


async def _open_counts(actor: Actor, within: frozenset[int] | None, found: Figures) -> None:
    def add(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            n = int(row["n"] or 0)
            if n:
                found.per_status[row["status"]] = found.per_status.get(row["status"], 0) + n
                group = row["assigned_group"] or 0
                found.per_group[group] = found.per_group.get(group, 0) + n

    branch = counters.counted(actor, TicketTally)
    if branch is not None:
        add(
            await TicketTally.select(
                TicketTally.status, TicketTally.assigned_group, Sum(TicketTally.n, alias="n")
            )
            .where(branch, TicketTally.status.is_in(OPEN_STATUSES), *_within(TicketTally, within))
            .group_by(TicketTally.status, TicketTally.assigned_group)
        )
    for rest in counters.residual(actor, TicketTally):
        # The viewer's own requests and tickets shared with them by name, not in the tally
        # (disjoint branches, each from its own index).
        add(
            await Ticket.select(Ticket.status, Ticket.assigned_group, Count(Ticket.id, alias="n"))
            .where(*rest, Ticket.status.is_in(OPEN_STATUSES), *_within(Ticket, within))
            .group_by(Ticket.status, Ticket.assigned_group)
        )


def _open_visible(actor: Actor, within: frozenset[int] | None) -> list[Any]:
    return [visible_to(actor), Ticket.status.is_in(OPEN_STATUSES), *_within(Ticket, within)]


async def _service_levels(actor: Actor, within: frozenset[int] | None, found: Figures) -> None:
    """Open tickets with a breached clock, and those at risk (not yet breached)."""
    opened = Ticket.select(Ticket.id).where(*_open_visible(actor, within))
    rows = await (
        TicketSla.select(
            TicketSla.take_state, TicketSla.resolve_state, Count(TicketSla.id, alias="n")
        )
        .where(
            TicketSla.ticket.is_in(opened),
            TicketSla.take_state.is_in([AT_RISK, BREACHED])
            | TicketSla.resolve_state.is_in([AT_RISK, BREACHED]),
        )
        .group_by(TicketSla.take_state, TicketSla.resolve_state)
    )
    for row in rows:
        states = (row["take_state"], row["resolve_state"])
        if BREACHED in states:
            found.breached += row["n"]
        else:
            found.at_risk += row["n"]


async def figures(actor: Actor, within: frozenset[int] | None, day_start: datetime) -> Figures:
    """Everything on the wall, for the tickets ``actor`` may see in ``within`` (None: all of
    them); "today" starts at ``day_start`` (midnight in the viewer's time zone)."""
    found = Figures()
    await _open_counts(actor, within, found)
    await _service_levels(actor, within, found)
    found.oldest = await (
        Ticket.select(Ticket.id, Ticket.title, Ticket.created_at)
        .where(
            visible_to(actor), Ticket.status == Status.NEW.value, *_within(Ticket, within)
        )
        .order_by(Ticket.created_at)
        .first()
    )
    found.new_today = await Ticket.count().where(
        visible_to(actor), Ticket.created_at >= day_start, *_within(Ticket, within)
    )
    # Resolved today and still resolved, or resolved today and closed since (each branch
    # starts from its own index: the few resolved tickets, or today's closures).
    for status, since in ((Status.RESOLVED, Ticket.resolved_at), (Status.CLOSED, Ticket.closed_at)):
        found.resolved_today += await Ticket.count().where(
            visible_to(actor),
            Ticket.status == status.value,
            since >= day_start,
            Ticket.resolved_at >= day_start,
            *_within(Ticket, within),
        )
    return found
