"""Board read model: bounded, most-urgent-first columns and per-status counts.

Each column reads at most COLUMN_LIMIT cards along the (status, priority_rank, created_at, id)
index, with keyset paging for "show more", so a page costs the same whatever the size of the
database. Visibility comes from the access policy (``queries.visible_to``).
"""

from __future__ import annotations

from collections import Counter as CountOf
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count, Sum
from piccolo.query.mixins import OrderByRaw

from server.db import counters
from server.db.counter_tables import TicketCounter
from server.db.link_tables import TicketLink
from server.db.queries import contains, escape_like, visible_to
from server.db.sla import attach_sla
from server.db.tables import Attachment, FollowUp, Ticket
from server.domain.actors import Actor
from server.domain.board import CLOSED_WINDOW, COLUMN_LIMIT, COLUMNS, BoardFilters
from server.domain.links import LinkKind
from server.domain.permissions import can_see_private_notes, visibility
from server.domain.vocabulary import Status

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CARD_COLUMNS = (
    Ticket.id,
    Ticket.title,
    Ticket.status,
    Ticket.priority,
    Ticket.priority_rank,
    Ticket.ticket_type,
    Ticket.version,
    Ticket.created_at,
    Ticket.closed_at,
    Ticket.requester,
    Ticket.establishment,
    Ticket.shared,
    Ticket.category,
    Ticket.assigned_group,
    Ticket.assignee,
    Ticket.establishment.code.as_alias("establishment_code"),
    Ticket.assignee.full_name.as_alias("assignee_name"),
    Ticket.requester.full_name.as_alias("requester_name"),
)


async def establishment_with_children(establishment_id: int) -> frozenset[int]:
    """The establishment and every establishment below it in the tree."""
    from server.db.queries import establishment_subtree

    return await establishment_subtree(establishment_id)


def _visible(viewer: Actor) -> list[Any]:
    """The access clause, none for who sees everything: ``id > 0`` is true of every ticket,
    but SQLite takes it for a rowid range and walks every closed ticket by ``(status, id)``
    instead of the week's range of ``(status, closed_at)`` (0.4 s at 1 M)."""
    return [] if visibility(viewer).everything else [visible_to(viewer)]


def _filters(viewer: Actor, f: BoardFilters, table: Any = Ticket, seek: bool = True) -> list[Any]:
    """The board's filters as where-clauses on tickets or on their counters (which store
    "nobody" as 0 and know no titles: text is only ever matched on tickets).

    ``seek=False`` writes them so that no index can serve them (``+column``): the closed
    column must read the week's range of ``(status, closed_at)``, not every closed ticket of
    the priority (``ticket_board_order``) or of the assignee (``ticket_assignee_status``), as
    SQLite chooses without statistics (0.1-0.3 s at 1 M, linear)."""
    if not seek and table is Ticket:
        return _unindexed_filters(viewer, f)
    clauses: list[Any] = []
    if f.establishment_ids is not None:
        clauses.append(table.establishment.is_in(sorted(f.establishment_ids) or [-1]))
    if f.group_id is not None:
        clauses.append(table.assigned_group == f.group_id)
    if f.assignee == "me":
        clauses.append(table.assignee == viewer.id)
    elif f.assignee == "none":
        clauses.append(table.assignee.is_null() if table is Ticket else table.assignee == 0)
    if f.category_id is not None:
        clauses.append(table.category == f.category_id)
    if f.priority is not None:
        clauses.append(table.priority_rank == f.priority.rank)
    clauses.extend(_text_clause(f))
    return clauses


def _unindexed_filters(viewer: Actor, f: BoardFilters) -> list[Any]:
    clauses: list[Any] = []
    if f.establishment_ids is not None:
        ids = sorted(f.establishment_ids) or [-1]
        marks = ", ".join("{}" for _ in ids)
        clauses.append(WhereRaw(f'+"ticket"."establishment" IN ({marks})', *ids))
    if f.group_id is not None:
        clauses.append(WhereRaw('+"ticket"."assigned_group" = {}', f.group_id))
    if f.assignee == "me":
        clauses.append(WhereRaw('+"ticket"."assignee" = {}', viewer.id))
    elif f.assignee == "none":
        clauses.append(WhereRaw('+"ticket"."assignee" IS NULL'))
    if f.category_id is not None:
        clauses.append(WhereRaw('+"ticket"."category" = {}', f.category_id))
    if f.priority is not None:
        clauses.append(WhereRaw('+"ticket"."priority_rank" = {}', f.priority.rank))
    clauses.extend(_text_clause(f))
    return clauses


def _text_clause(f: BoardFilters) -> list[Any]:
    text = escape_like(f.text)
    if not text:
        return []
    like = contains(Ticket.title, f"%{text}%")
    number = text.lstrip("#")
    if number.isdigit() and len(number) < 10:
        like = like | (Ticket.id == int(number))
    return [like]


# With a text filter, counts stop at this many (the board then says "1000+").
COUNT_CAP = 1000


async def counts(viewer: Actor, f: BoardFilters, now: datetime | None = None) -> dict[Status, int]:
    """Cards per column. Without a text filter they are exact and read counters, not tickets
    (see ``db.counters``); with one, each column counts up to COUNT_CAP + 1 matches."""
    now = now or datetime.now(UTC)
    if escape_like(f.text):
        return await _capped_counts(viewer, f, now)
    found: CountOf[Status] = CountOf()
    recent = now - CLOSED_WINDOW
    # Counters know the day a ticket closed: whole days of the window come from them, the
    # window's first (partial) day from the tickets that closed then.
    first_full_day = counters.day_of(recent) + 1
    boundary = counters.start_of_day(first_full_day)
    branch = counters.counted(viewer, TicketCounter)
    if branch is not None:
        rows = await (
            TicketCounter.select(TicketCounter.status, Sum(TicketCounter.n, alias="n"))
            .where(
                branch,
                # Every status named: SQLite then seeks (status, closed_day) in the key index
                # for each; without it, it scans the whole key for the GROUP BY's order
                # (0.1-0.2 s at 1 M, a counter row per few tickets).
                TicketCounter.status.is_in([s.value for s in COLUMNS]),
                TicketCounter.closed_day >= first_full_day,
                *_filters(viewer, f, TicketCounter),
            )
            .group_by(TicketCounter.status)
        )
        found.update({Status(r["status"]): int(r["n"] or 0) for r in rows})
    for rest in counters.residual(viewer):
        rows = await (
            Ticket.select(Ticket.status, Count(Ticket.id, alias="n"))
            .where(
                *rest,
                *_filters(viewer, f),
                (Ticket.status != Status.CLOSED.value) | (Ticket.closed_at >= boundary),
            )
            .group_by(Ticket.status)
        )
        found.update({Status(r["status"]): r["n"] for r in rows})
    if recent < boundary:
        found[Status.CLOSED] += await Ticket.count().where(
            *_visible(viewer),
            *_filters(viewer, f, seek=False),
            Ticket.status == Status.CLOSED.value,
            Ticket.closed_at >= recent,
            Ticket.closed_at < boundary,
        )
    return {status: found.get(status, 0) for status in COLUMNS}


async def _capped_counts(viewer: Actor, f: BoardFilters, now: datetime) -> dict[Status, int]:
    result = {}
    for status in COLUMNS:
        ids = await (
            Ticket.select(Ticket.id)
            .where(*_column_clauses(viewer, f, status, now))
            .limit(COUNT_CAP + 1)
        )
        result[status] = len(ids)
    return result


def _column_clauses(viewer: Actor, f: BoardFilters, status: Status, now: datetime) -> list[Any]:
    closed = status is Status.CLOSED
    clauses = [*_visible(viewer), *_filters(viewer, f, seek=not closed)]
    if closed:
        # The week's closings: a range of the (status, closed_at) index, then a top-N sort
        # (see ``_order``: the planner must not walk years of closed tickets instead).
        clauses.append((Ticket.status == status.value) & (Ticket.closed_at >= now - CLOSED_WINDOW))
    else:
        clauses.append(Ticket.status == status.value)
    return clauses


# The closed column sorts a week of closings (bounded by the desk's pace, not by history).
# Written "priority_rank + 0" so that no index matches the ORDER BY: otherwise PostgreSQL
# walks the board's order index over every closed ticket, oldest first, filtering the date
# (170 ms at 100 k and linear; 3 ms with the range and a top-N sort).
_UNINDEXED_RANK = OrderByRaw('"ticket"."priority_rank" + 0')


def _order(status: Status) -> tuple[Any, ...]:
    rank = _UNINDEXED_RANK if status is Status.CLOSED else Ticket.priority_rank
    return (rank, Ticket.created_at, Ticket.id)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where "show more" continues: the sort key of the last card shown."""

    priority_rank: int
    created_at: datetime
    id: int

    def encode(self) -> str:
        # Whole microseconds since the epoch: URL-safe and exact.
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)
        return f"{self.priority_rank}_{micros}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor | None:
        try:
            rank, micros, ident = (int(part) for part in raw.split("_", 2))
            return cls(rank, EPOCH + timedelta(microseconds=micros), ident)
        except (ValueError, OverflowError):
            return None

    @classmethod
    def after_card(cls, row: dict[str, Any]) -> Cursor:
        return cls(row["priority_rank"], row["created_at"], row["id"])


async def column(
    viewer: Actor,
    f: BoardFilters,
    status: Status,
    after: Cursor | None = None,
    limit: int = COLUMN_LIMIT,
    now: datetime | None = None,
    decorate: bool = True,
) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    clauses = _column_clauses(viewer, f, status, now)
    if after is not None:
        rank, created, ident = Ticket.priority_rank, Ticket.created_at, Ticket.id
        clauses.append(
            (rank > after.priority_rank)
            | ((rank == after.priority_rank) & (created > after.created_at))
            | ((rank == after.priority_rank) & (created == after.created_at) & (ident > after.id))
        )
    rows = await Ticket.select(*CARD_COLUMNS).where(*clauses).order_by(*_order(status)).limit(limit)
    if decorate:
        await decorate_cards(viewer, rows)
    return rows


async def decorate_cards(viewer: Actor, rows: list[dict[str, Any]]) -> None:
    """Follow-up and attachment counts and SLA of cards, one query each for all of them."""
    await add_follow_up_counts(viewer, rows)
    await attach_sla(rows)


async def card(ticket_id: int) -> dict[str, Any] | None:
    """One card's display data (no access check: callers decide visibility first)."""
    row = await Ticket.select(*CARD_COLUMNS).where(Ticket.id == ticket_id).first()
    if row is not None:
        await attach_sla([row])
    return row


async def add_follow_up_counts(viewer: Actor, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    query = FollowUp.select(FollowUp.ticket, Count(FollowUp.id, alias="n")).where(
        FollowUp.ticket.is_in([r["id"] for r in rows])
    )
    if not can_see_private_notes(viewer):
        query = query.where(FollowUp.private == False)  # noqa: E712
    found = {r["ticket"]: r["n"] for r in await query.group_by(FollowUp.ticket)}
    files = await (
        Attachment.select(Attachment.ticket, Count(Attachment.id, alias="n"))
        .where(Attachment.ticket.is_in([r["id"] for r in rows]))
        .group_by(Attachment.ticket)
    )
    attached = {r["ticket"]: r["n"] for r in files}
    children = await child_counts([r["id"] for r in rows])
    for row in rows:
        row["follow_ups"] = found.get(row["id"], 0)
        row["attachments"] = attached.get(row["id"], 0)
        row["children"] = children.get(row["id"], 0)


async def child_counts(ticket_ids: list[int]) -> dict[int, int]:
    """How many child tickets each parent (a major incident) has."""
    rows = await (
        TicketLink.select(TicketLink.target, Count(TicketLink.id, alias="n"))
        .where(TicketLink.target.is_in(ticket_ids) & (TicketLink.kind == LinkKind.CHILD.value))
        .group_by(TicketLink.target)
    )
    return {r["target"]: r["n"] for r in rows}
