"""Where a new ticket goes: by category, then by request type (the Québec guide's order).

Pure: the caller passes the category chain (the chosen category first, then its parents) and
the request type's overrides; nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.domain.vocabulary import Priority


@dataclass(frozen=True, slots=True)
class CategoryRoute:
    default_priority: Priority
    default_group_id: int | None


@dataclass(frozen=True, slots=True)
class TypeRoute:
    """A request type's overrides within its category; None keeps the category's value."""

    priority: Priority | None
    group_id: int | None


@dataclass(frozen=True, slots=True)
class Route:
    priority: Priority
    group_id: int | None


def route(
    chain: Sequence[CategoryRoute],
    request_type: TypeRoute | None = None,
    chosen_priority: Priority | None = None,
) -> Route:
    """Priority: what the person chose, else the type's, else the category's, else medium.
    Group: the type's, else the nearest category up the tree that names one, else none (the
    caller may then fall back to an intake group)."""
    priority = chosen_priority
    if priority is None and request_type is not None:
        priority = request_type.priority
    if priority is None and chain:
        priority = chain[0].default_priority
    group_id = request_type.group_id if request_type is not None else None
    if group_id is None:
        group_id = next((c.default_group_id for c in chain if c.default_group_id), None)
    return Route(priority=priority or Priority.MEDIUM, group_id=group_id)
