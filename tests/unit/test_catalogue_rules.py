"""Pure catalogue rules: routing by category then request type, names with a fallback, the
tree's shape, and import files checked row by row."""

from __future__ import annotations

import pytest

from server.domain.catalogue import (
    ImportRejected,
    moves_under_itself,
    parse_category,
    pick_text,
    plan_import,
    slug,
)
from server.domain.errors import ValidationFailed
from server.domain.routing import CategoryRoute, TypeRoute, route
from server.domain.vocabulary import Priority

CHILD = CategoryRoute(Priority.HIGH, None)
PARENT = CategoryRoute(Priority.LOW, 7)


def test_route_takes_the_category_then_its_parents_group() -> None:
    assert route([CHILD, PARENT]) == route([CHILD, PARENT], None, None)
    assert route([CHILD, PARENT]).priority is Priority.HIGH
    assert route([CHILD, PARENT]).group_id == 7
    assert route([]).priority is Priority.MEDIUM and route([]).group_id is None


def test_a_request_type_overrides_priority_and_group() -> None:
    typed = route([CHILD, PARENT], TypeRoute(Priority.VERY_HIGH, 9))
    assert (typed.priority, typed.group_id) == (Priority.VERY_HIGH, 9)
    partial = route([CHILD, PARENT], TypeRoute(None, None))
    assert (partial.priority, partial.group_id) == (Priority.HIGH, 7)
    chosen = route([CHILD], TypeRoute(Priority.VERY_HIGH, 9), Priority.VERY_LOW)
    assert chosen.priority is Priority.VERY_LOW  # what the person chose wins


def test_names_fall_back_to_french_then_to_any_language() -> None:
    assert pick_text("Imprimante", {"ru": "Принтер"}, "ru") == "Принтер"
    assert pick_text("Imprimante", {"ru": "Принтер"}, "en") == "Imprimante"
    assert pick_text("", {"ru": "Принтер"}, "en") == "Принтер"
    assert pick_text("Imprimante", {"en": ""}, "en") == "Imprimante"


def test_codes_and_loops() -> None:
    assert slug("Dossier patient (DPI) — accès") == "dossier-patient-dpi-acces"
    assert slug("Запись на приём") == "zapis-na-priem"
    parents = {1: None, 2: 1, 3: 2}
    assert moves_under_itself(1, 3, parents)
    assert moves_under_itself(2, 2, parents)
    assert not moves_under_itself(3, 1, parents)
    with pytest.raises(ValidationFailed) as refused:
        parse_category({"name": "", "code": "Pas Bon", "position": "-1"})
    assert set(refused.value.errors) == {"name", "code", "position"}
    with pytest.raises(ValidationFailed) as bad_code:
        parse_category({"name": "Ok", "code": "Pas Bon"})
    assert set(bad_code.value.errors) == {"code"}


def test_import_plan_orders_parents_first_and_reports_every_fault_by_line() -> None:
    plan = plan_import(
        [
            {
                "kind": "category",
                "code": "child",
                "parent": "top",
                "name_fr": "Enfant",
                "priority": "low",
            },
            {
                "kind": "category",
                "code": "top",
                "name_fr": "Haut",
                "priority": "high",
                "group": "N1",
            },
            {"kind": "group", "name_fr": "N1", "next_tier": "N2"},
            {"kind": "request_type", "code": "t", "parent": "child", "name_fr": "Type"},
        ],
        known_categories={},
        known_groups=["N2"],
        known_establishments=[],
    )
    assert [r.code for r in plan.categories] == ["top", "child"]
    assert [r.code for r in plan.groups] == ["N1"] and len(plan.request_types) == 1

    with pytest.raises(ImportRejected) as refused:
        plan_import(
            [
                {"kind": "category", "code": "a", "parent": "b", "name_fr": "A", "priority": "low"},
                {"kind": "category", "code": "b", "parent": "a", "name_fr": "B", "priority": "low"},
                {"kind": "thing", "code": "c", "name_fr": "C"},
                {"kind": "category", "code": "a", "name_fr": "A", "priority": "low"},
                {"kind": "request_type", "code": "unspecified", "parent": "a", "name_fr": "U"},
                {
                    "kind": "category",
                    "code": "d",
                    "name_fr": "D",
                    "priority": "high",
                    "establishment": "ZZZ",
                    "group": "Fantôme",
                },
            ],
            known_categories={},
            known_groups=[],
            known_establishments=["CHA"],
        )
    assert refused.value.lines == [
        (1, "parent", "A category cannot be placed under itself."),
        (2, "parent", "A category cannot be placed under itself."),
        (3, "kind", "Choose one of the proposed values."),
        (4, "code", "This code appears twice in the file."),
        (5, "code", "This code is reserved."),
        (6, "establishment", "No establishment has this code."),
        (6, "group", "No group has this name."),
    ]
