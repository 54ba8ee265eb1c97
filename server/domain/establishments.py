"""The establishment tree (region > group of hospitals > establishment) as plain values.

Reach is always computed on ids walking ``parent`` links, never by comparing codes or names,
so establishment 1 and establishment 10 can never be confused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def descendants(roots: Iterable[int], parent_of: Mapping[int, int | None]) -> frozenset[int]:
    """The roots and every establishment below them."""
    children: dict[int, list[int]] = {}
    for node, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(node)
    found: set[int] = set()
    stack = [r for r in roots if r in parent_of]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(children.get(node, ()))
    return frozenset(found)


def ancestors(node: int, parent_of: Mapping[int, int | None]) -> list[int]:
    """The node's parents, nearest first (stops on a cycle rather than looping)."""
    chain: list[int] = []
    seen = {node}
    parent = parent_of.get(node)
    while parent is not None and parent not in seen:
        chain.append(parent)
        seen.add(parent)
        parent = parent_of.get(parent)
    return chain


def creates_cycle(node: int, new_parent: int | None, parent_of: Mapping[int, int | None]) -> bool:
    """Would hanging ``node`` under ``new_parent`` make it its own ancestor?"""
    if new_parent is None:
        return False
    return new_parent == node or node in ancestors(new_parent, parent_of)
