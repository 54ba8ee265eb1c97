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


class Relation(StrEnum):
    """What the other ticket is to this one, as a person linking from a ticket page says it."""

    RELATED = "related"
    DUPLICATE_OF = "duplicate_of"  # this ticket duplicates the other (the kept one)
    DUPLICATED_BY = "duplicated_by"  # the other duplicates this one
    CHILD_OF = "child_of"  # the other is this ticket's parent
    PARENT_OF = "parent_of"  # the other is this ticket's child

    @property
    def label(self) -> str:
        return _RELATION_LABELS[self]

    def stored(self, ticket_id: int, other_id: int) -> tuple[int, int, LinkKind]:
        """The row that says it: (source, target, kind)."""
        if self is Relation.PARENT_OF:
            return other_id, ticket_id, LinkKind.CHILD
        if self is Relation.DUPLICATED_BY:
            return other_id, ticket_id, LinkKind.DUPLICATE
        kind = {
            Relation.RELATED: LinkKind.RELATED,
            Relation.DUPLICATE_OF: LinkKind.DUPLICATE,
            Relation.CHILD_OF: LinkKind.CHILD,
        }[self]
        source, target = stored_ends(ticket_id, other_id, kind)
        return source, target, kind


_RELATION_LABELS = {
    Relation.RELATED: N_("Related to"),
    Relation.DUPLICATE_OF: N_("Duplicate of"),
    Relation.DUPLICATED_BY: N_("Duplicated by"),
    Relation.CHILD_OF: N_("Child of"),
    Relation.PARENT_OF: N_("Parent of"),
}


def relation_of(kind: LinkKind, *, as_source: bool) -> Relation:
    """What the other end of a stored link is to the ticket at this end."""
    if kind is LinkKind.RELATED:
        return Relation.RELATED
    if kind is LinkKind.DUPLICATE:
        return Relation.DUPLICATE_OF if as_source else Relation.DUPLICATED_BY
    return Relation.CHILD_OF if as_source else Relation.PARENT_OF


def link_refusal(
    source_id: int,
    target_id: int,
    kind: LinkKind,
    *,
    target_ancestors: frozenset[int] = frozenset(),
    source_has_one: bool = False,
    exists: bool = False,
) -> str | None:
    """Why this link may not be made (a message id), or None.

    ``target_ancestors``: the tickets the target already leads to through links of the same
    directed kind (its parent, the parent's parent, ...; or what it duplicates). A source
    among them would close a loop. ``source_has_one``: the source already has a parent (or is
    already a duplicate of a ticket): a ticket has one parent and is kept in one place."""
    if source_id == target_id:
        return N_("A ticket cannot be linked to itself.")
    if exists:
        return N_("These tickets are already linked this way.")
    if kind is LinkKind.RELATED:
        return None
    if source_id in target_ancestors:
        return N_("This link would make a loop between the tickets.")
    if source_has_one:
        if kind is LinkKind.CHILD:
            return N_("This ticket already has a parent ticket.")
        return N_("This ticket is already a duplicate of another ticket.")
    return None
