"""SLA compliance figures over a period of days, restricted to the tickets the viewer may see.

:func:`compliance` sums the tally kept with each SLA state (``db.sla_tally``) for the access
branches it can answer (everything, the viewer's establishments and groups), and counts the
people-bound branches (own requests, own assignments) on their own index, excluding what the
tally covered, as ``db.counters`` does for the board. :func:`recount` is the full count it
must always equal (the reference of the tests)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count, Sum

from server.db.queries import visible_to
from server.db.report_tables import TicketSlaTally
from server.db.sla_tables import TicketSla
from server.db.sla_tally import ZONE
from server.db.tables import Establishment, Group, Ticket
from server.domain.actors import Actor
from server.domain.day_buckets import blocks_covering, date_number
from server.domain.permissions import Visibility, visibility
from server.domain.sla_rules import Compliance

GROUPINGS = ("establishment", "group", "priority")


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants the days ``first`` to ``last`` (included) of the reports' zone span."""
    start = datetime.combine(first, time(0), tzinfo=ZONE)
    return start, datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZONE)


async def _counted_on_tickets(by: str, tickets: list[Any]) -> list[dict[str, Any]]:
    """(key, take state, resolve state, n) over the SLA rows of the tickets matching
    ``tickets`` (where-clauses on the ticket table)."""
    key_column = {
        "establishment": TicketSla.ticket.establishment.code,
        "group": TicketSla.ticket.assigned_group.name,
        "priority": TicketSla.ticket.priority,
    }[by]
    return await (
        TicketSla.select(
            key_column.as_alias("key"),
            TicketSla.take_state,
            TicketSla.resolve_state,
            Count(TicketSla.id, alias="n"),
        )
        .where(TicketSla.ticket.is_in(Ticket.select(Ticket.id).where(*tickets)))
        .group_by(key_column, TicketSla.take_state, TicketSla.resolve_state)
    )


def _rows(counts: list[dict[str, Any]]) -> list[Compliance]:
    rows: dict[str, Compliance] = {}
    for count in counts:
        if count["n"]:
            key = count["key"] or ""
            rows.setdefault(key, Compliance(key)).add(
                count["take_state"], count["resolve_state"], int(count["n"])
            )
    return [rows[k] for k in sorted(rows)]


async def recount(actor: Actor, start: datetime, end: datetime, by: str) -> list[Compliance]:
    """Every ticket opened in [start, end) the actor may see, counted from the tickets."""
    period = [visible_to(actor), Ticket.created_at >= start, Ticket.created_at < end]
    return _rows(await _counted_on_tickets(by, period))


def _tally_branches(scope: Visibility) -> Any | None:
    """The access branches the tally answers, as a where-clause on it (None: none)."""
    t = TicketSlaTally
    if scope.everything:
        return t.id > 0
    clause: Any = None
    if scope.establishment_ids:
        clause = t.establishment.is_in(sorted(scope.establishment_ids))
    if scope.group_ids:
        groups = t.assigned_group.is_in(sorted(scope.group_ids))
        clause = groups if clause is None else clause | groups
    return clause


def _people_branches(actor: Actor, scope: Visibility) -> list[list[Any]]:
    """Disjoint where-clauses on tickets for what the actor sees beyond the tally's
    branches: each starts from an index (``requester``, ``assignee``)."""
    if scope.everything:
        return []
    rest: list[Any] = []
    if scope.establishment_ids:
        rest.append(Ticket.establishment.not_in(sorted(scope.establishment_ids)))
    if scope.group_ids:
        rest.append(
            Ticket.assigned_group.is_null() | Ticket.assigned_group.not_in(sorted(scope.group_ids))
        )
    branches: list[list[Any]] = []
    seen: list[Any] = []
    if scope.requester_id is not None:
        branches.append([Ticket.requester == scope.requester_id])
        seen.append(Ticket.requester != scope.requester_id)
    if scope.assignee_id is not None:
        branches.append([Ticket.assignee == scope.assignee_id, *seen])
        seen.append(Ticket.assignee.is_null() | (Ticket.assignee != scope.assignee_id))
    if scope.establishment_id is not None or scope.shared_with_id is not None:
        # A requester's shared tickets (never a reader of this report): exact, not indexed.
        branches.append([visible_to(actor), *seen])
    return [[*branch, *rest] for branch in branches]


async def _names(by: str, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    if by == "establishment":
        rows = await Establishment.select(
            Establishment.id, Establishment.code.as_alias("name")
        ).where(Establishment.id.is_in(sorted(ids)))
    else:
        rows = await Group.select(Group.id, Group.name).where(Group.id.is_in(sorted(ids)))
    return {r["id"]: r["name"] for r in rows}


async def compliance(actor: Actor, first: date, last: date, by: str) -> list[Compliance]:
    """One row per establishment, group or priority: tickets opened from ``first`` to
    ``last`` (days of the reports' zone) that have a service level, and how many met each
    target (open ones are not yet measured). A few dozen tally rows per block of days."""
    scope = visibility(actor)
    counts: list[dict[str, Any]] = []
    covered = _tally_branches(scope)
    if covered is not None:
        t = TicketSlaTally
        key = {"establishment": t.establishment, "group": t.assigned_group, "priority": t.priority}[
            by
        ]
        blocks = blocks_covering(date_number(first), date_number(last))
        tally = await (
            t.select(key.as_alias("key"), t.take_state, t.resolve_state, Sum(t.n, alias="n"))
            .where(t.bucket.is_in(blocks), covered)
            .group_by(key, t.take_state, t.resolve_state)
        )
        if by != "priority":
            names = await _names(by, {row["key"] for row in tally if row["n"]})
            for row in tally:
                row["key"] = names.get(row["key"], "")
        counts += tally
    start, end = bounds(first, last)
    for branch in _people_branches(actor, scope):
        counts += await _counted_on_tickets(
            by, [*branch, Ticket.created_at >= start, Ticket.created_at < end]
        )
    return _rows(counts)
