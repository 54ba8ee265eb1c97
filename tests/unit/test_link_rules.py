"""Link rules between tickets: self-links, loops, one parent (pure)."""

from __future__ import annotations

from server.domain.links import LinkKind, Relation, link_refusal


def test_a_ticket_cannot_link_to_itself() -> None:
    for kind in LinkKind:
        assert link_refusal(7, 7, kind) is not None


def test_a_child_link_that_closes_a_loop_is_refused() -> None:
    # 3 is a child of 2, itself a child of 1: making 1 a child of 3 closes the loop.
    assert link_refusal(1, 3, LinkKind.CHILD, target_ancestors=frozenset({2, 1})) is not None
    assert link_refusal(4, 3, LinkKind.CHILD, target_ancestors=frozenset({2, 1})) is None


def test_duplicates_cannot_loop_and_related_links_never_do() -> None:
    assert link_refusal(1, 2, LinkKind.DUPLICATE, target_ancestors=frozenset({1})) is not None
    assert link_refusal(1, 2, LinkKind.RELATED, target_ancestors=frozenset({1})) is None


def test_one_parent_per_ticket_and_no_twin_links() -> None:
    assert link_refusal(1, 2, LinkKind.CHILD, source_has_one=True) is not None
    assert link_refusal(1, 2, LinkKind.RELATED, exists=True) is not None


def test_relations_are_stored_from_the_right_end() -> None:
    assert Relation.PARENT_OF.stored(5, 9) == (9, 5, LinkKind.CHILD)
    assert Relation.CHILD_OF.stored(5, 9) == (5, 9, LinkKind.CHILD)
    assert Relation.RELATED.stored(9, 5) == (5, 9, LinkKind.RELATED)
    assert Relation.DUPLICATE_OF.stored(9, 5) == (9, 5, LinkKind.DUPLICATE)


def test_each_stored_link_reads_back_as_the_relation_made() -> None:
    from server.domain.links import relation_of

    for relation in Relation:
        source, _target, kind = relation.stored(5, 9)
        assert relation_of(kind, as_source=source == 5) is relation
