"""Board read model: bounded, most-urgent-first columns and per-status counts.

Each column reads at most COLUMN_LIMIT cards along the (status, priority_rank, created_at, id)
index, with keyset paging for "show more", so a page costs the same whatever the size of the
database. Visibility comes from the access policy (``queries.visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count

from server.db.queries import contains, escape_like, visible_to
from server.db.sla import attach_sla
from server.db.tables import Attachment, FollowUp, Ticket
from server.domain.actors import Actor
from server.domain.board import CLOSED_WINDOW, COLUMN_LIMIT, COLUMNS, BoardFilters
from server.domain.permissions import can_see_private_notes
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
)


async def establishment_with_children(establishment_id: int) -> frozenset[int]:
    """The establishment and every establishment below it in the tree."""
    from server.db.queries import establishment_subtree

    return await establishment_subtree(establishment_id)


def _clauses(viewer: Actor, f: BoardFilters, now: datetime) -> list[Any]:
    clauses: list[Any] = [visible_to(viewer)]
    if f.establishment_ids is not None:
        clauses.append(Ticket.establishment.is_in(sorted(f.establishment_ids) or [-1]))
    if f.group_id is not None:
        clauses.append(Ticket.assigned_group == f.group_id)
    if f.assignee == "me":
        clauses.append(Ticket.assignee == viewer.id)
    elif f.assignee == "none":
        clauses.append(Ticket.assignee.is_null())
    if f.category_id is not None:
        clauses.append(Ticket.category == f.category_id)
    if f.priority is not None:
        clauses.append(Ticket.priority_rank == f.priority.rank)
    text = escape_like(f.text)
    if text:
        like = contains(Ticket.title, f"%{text}%")
        number = text.lstrip("#")
        if number.isdigit() and len(number) < 10:
            like = like | (Ticket.id == int(number))
        clauses.append(like)
    # Closed only counts what closed within the window (the column is "recently closed").
    recent = now - CLOSED_WINDOW
    clauses.append((Ticket.status != Status.CLOSED.value) | (Ticket.closed_at >= recent))
    return clauses


async def counts(viewer: Actor, f: BoardFilters, now: datetime | None = None) -> dict[Status, int]:
    now = now or datetime.now(UTC)
    rows = await (
        Ticket.select(Ticket.status, Count(Ticket.id, alias="n"))
        .where(*_clauses(viewer, f, now))
        .group_by(Ticket.status)
    )
    found = {Status(r["status"]): r["n"] for r in rows}
    return {status: found.get(status, 0) for status in COLUMNS}


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
) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    clauses = [*_clauses(viewer, f, now), Ticket.status == status.value]
    if after is not None:
        rank, created, ident = Ticket.priority_rank, Ticket.created_at, Ticket.id
        clauses.append(
            (rank > after.priority_rank)
            | ((rank == after.priority_rank) & (created > after.created_at))
            | ((rank == after.priority_rank) & (created == after.created_at) & (ident > after.id))
        )
    rows = await (
        Ticket.select(*CARD_COLUMNS)
        .where(*clauses)
        .order_by(Ticket.priority_rank, Ticket.created_at, Ticket.id)
        .limit(limit)
    )
    await add_follow_up_counts(viewer, rows)
    await attach_sla(rows)
    return rows


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
    for row in rows:
        row["follow_ups"] = found.get(row["id"], 0)
        row["attachments"] = attached.get(row["id"], 0)
