"""Bulk actions on selected tickets: what may be asked, read from a form (pure).

Each selected ticket then goes through the same use case as a single change; this module only
says which change, and refuses a request that names none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.domain.errors import ValidationFailed
from server.domain.text import N_
from server.domain.vocabulary import Priority, Status

# One request changes at most this many tickets ("select all matching" included).
BULK_LIMIT = 500


class BulkAction(StrEnum):
    ASSIGN = "assign"
    STATUS = "status"
    PRIORITY = "priority"
    CATEGORY = "category"
    PARENT = "parent"
    FOLLOW = "follow"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    BulkAction.ASSIGN: N_("Assign"),
    BulkAction.STATUS: N_("Change status"),
    BulkAction.PRIORITY: N_("Change priority"),
    BulkAction.CATEGORY: N_("Change category"),
    BulkAction.PARENT: N_("Link to a parent ticket"),
    BulkAction.FOLLOW: N_("Follow"),
}


@dataclass(frozen=True, slots=True)
class BulkChange:
    action: BulkAction
    group_id: int | None = None
    assignee_id: int | None = None
    status: Status | None = None
    solution: str = ""
    priority: Priority | None = None
    category_id: int | None = None
    parent_id: int | None = None


def _id(values: Mapping[str, str], name: str) -> int | None:
    raw = values.get(name, "").strip().lstrip("#")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed({name: N_("Choose one of the proposed values.")})
    return int(raw)


def parse_bulk_change(values: Mapping[str, str]) -> BulkChange:
    """The change asked for, with the one value each action needs."""
    raw = values.get("action", "")
    if raw not in BulkAction.__members__.values():
        raise ValidationFailed({"action": N_("Choose an action.")})
    action = BulkAction(raw)
    if action is BulkAction.ASSIGN:
        group_id, assignee_id = _id(values, "group_id"), _id(values, "assignee_id")
        if group_id is None and assignee_id is None:
            raise ValidationFailed({"group_id": N_("Choose a group or a technician.")})
        return BulkChange(action, group_id=group_id, assignee_id=assignee_id)
    if action is BulkAction.STATUS:
        status = values.get("status", "")
        if status not in Status.__members__.values():
            raise ValidationFailed({"status": N_("Choose one of the proposed values.")})
        solution = values.get("solution", "").strip()
        if len(solution) > 10_000:
            raise ValidationFailed({"solution": N_("This text is too long.")})
        return BulkChange(action, status=Status(status), solution=solution)
    if action is BulkAction.PRIORITY:
        priority = values.get("priority", "")
        if priority not in Priority.__members__.values():
            raise ValidationFailed({"priority": N_("Choose one of the proposed values.")})
        return BulkChange(action, priority=Priority(priority))
    if action is BulkAction.CATEGORY:
        category_id = _id(values, "category_id")
        if category_id is None:
            raise ValidationFailed({"category_id": N_("Choose one of the proposed values.")})
        return BulkChange(action, category_id=category_id)
    if action is BulkAction.PARENT:
        parent_id = _id(values, "parent_id")
        if parent_id is None:
            raise ValidationFailed({"parent_id": N_("Give the number of the parent ticket.")})
        return BulkChange(action, parent_id=parent_id)
    return BulkChange(action)


def parse_ticket_ids(raw: list[str]) -> list[int]:
    """Selected ticket numbers, in order, once each, at most BULK_LIMIT; junk is ignored."""
    ids: list[int] = []
    for value in raw:
        if value.isdigit() and len(value) <= 9 and int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise ValidationFailed({"ids": N_("Select at least one ticket.")})
    return ids[:BULK_LIMIT]
