"""What belongs on a kanban board, decided on plain values.

The same rules serve the first page load (turned into SQL by ``db.board``) and every live
update (evaluated here on the facts carried by an event), so a card appears, moves or leaves
exactly as a reload would show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.domain.actors import Actor
from server.domain.permissions import TicketAccess, can_view
from server.domain.vocabulary import Priority, Status

COLUMNS: tuple[Status, ...] = tuple(Status)
COLUMN_LIMIT = 20
# The Closed column is collapsed and only lists what closed recently.
CLOSED_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CardFacts:
    """The facts of a ticket that decide where (and whether) its card shows."""

    id: int
    status: Status
    priority_rank: int
    created_at: datetime
    closed_at: datetime | None
    establishment_id: int
    requester_id: int
    shared: bool
    category_id: int | None
    group_id: int | None
    assignee_id: int | None
    title: str
    shared_with: frozenset[int] = frozenset()

    @property
    def access(self) -> TicketAccess:
        return TicketAccess(
            requester_id=self.requester_id,
            establishment_id=self.establishment_id,
            shared=self.shared,
            group_id=self.group_id,
            assignee_id=self.assignee_id,
            shared_with=self.shared_with,
        )

    @property
    def sort_key(self) -> tuple[int, str, int]:
        """Most urgent first, then oldest first (stable across engines)."""
        return (self.priority_rank, self.created_at.isoformat(), self.id)

    def as_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "priority_rank": self.priority_rank,
            "created_at": self.created_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "establishment_id": self.establishment_id,
            "requester_id": self.requester_id,
            "shared": self.shared,
            "category_id": self.category_id,
            "group_id": self.group_id,
            "assignee_id": self.assignee_id,
            "title": self.title,
            "shared_with": sorted(self.shared_with),
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> CardFacts:
        closed = data.get("closed_at")
        return cls(
            id=int(data["id"]),
            status=Status(data["status"]),
            priority_rank=int(data["priority_rank"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            closed_at=datetime.fromisoformat(closed) if closed else None,
            establishment_id=int(data["establishment_id"]),
            requester_id=int(data["requester_id"]),
            shared=bool(data["shared"]),
            category_id=data.get("category_id"),
            group_id=data.get("group_id"),
            assignee_id=data.get("assignee_id"),
            title=str(data.get("title", "")),
            shared_with=frozenset(int(u) for u in data.get("shared_with", ())),
        )


@dataclass(frozen=True, slots=True)
class BoardFilters:
    """Filters kept in the board's URL. ``establishment_ids`` already includes children."""

    establishment_ids: frozenset[int] | None = None
    group_id: int | None = None
    assignee: str = ""  # "" anyone | "me" | "none"
    category_id: int | None = None
    priority: Priority | None = None
    text: str = ""


def on_board(viewer: Actor, filters: BoardFilters, card: CardFacts | None, now: datetime) -> bool:
    """Does this card show on this viewer's board? (Visibility first: deny by default.)"""
    if card is None or not can_view(viewer, card.access):
        return False
    if card.status is Status.CLOSED and (
        card.closed_at is None or card.closed_at < now - CLOSED_WINDOW
    ):
        return False
    if filters.establishment_ids is not None and card.establishment_id not in (
        filters.establishment_ids
    ):
        return False
    if filters.group_id is not None and card.group_id != filters.group_id:
        return False
    if filters.assignee == "me" and card.assignee_id != viewer.id:
        return False
    if filters.assignee == "none" and card.assignee_id is not None:
        return False
    if filters.category_id is not None and card.category_id != filters.category_id:
        return False
    if filters.priority is not None and card.priority_rank != filters.priority.rank:
        return False
    text = filters.text.strip().lower()
    if text:
        number = text.lstrip("#")
        if not (text in card.title.lower() or (number.isdigit() and int(number) == card.id)):
            return False
    return True
