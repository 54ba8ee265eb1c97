"""Kinds of links between tickets and how each reads from either end (pure)."""

from __future__ import annotations

from enum import StrEnum

from server.domain.text import N_


class LinkKind(StrEnum):
    RELATED = "related"  # symmetric
    DUPLICATE = "duplicate"  # source duplicates target (the kept ticket)
    CHILD = "child"  # source is a child of target (the parent, e.g. a major incident)

    def label_from(self, *, as_source: bool) -> str:
        """What the other ticket is, seen from this end of the link."""
        return _LABELS[(self, as_source)]


_LABELS = {
    (LinkKind.RELATED, True): N_("Related to"),
    (LinkKind.RELATED, False): N_("Related to"),
    (LinkKind.DUPLICATE, True): N_("Duplicate of"),
    (LinkKind.DUPLICATE, False): N_("Duplicated by"),
    (LinkKind.CHILD, True): N_("Child of"),
    (LinkKind.CHILD, False): N_("Parent of"),
}


def stored_ends(source_id: int, target_id: int, kind: LinkKind) -> tuple[int, int]:
    """A related link is stored once whichever end made it: smaller id first."""
    if kind is LinkKind.RELATED:
        return min(source_id, target_id), max(source_id, target_id)
    return source_id, target_id
