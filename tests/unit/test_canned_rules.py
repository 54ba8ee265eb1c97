"""Canned replies' pure rules: placeholders, visibility and the language choice."""

from server.domain.actors import Actor
from server.domain.canned import CannedFacts, can_manage, can_use, expand, language_preference, pick
from server.domain.vocabulary import Role

TECH = Actor(id=1, role=Role.TECHNICIAN, establishment_id=None, group_ids=frozenset({10}))
ADMIN = Actor(id=2, role=Role.ADMIN, establishment_id=None)
REQUESTER = Actor(id=3, role=Role.REQUESTER, establishment_id=5)


def facts(
    id: int,
    language: str = "fr",
    *,
    owner: int | None = None,
    group: int | None = None,
    reference: str = "",
    title: str = "x",
) -> CannedFacts:
    return CannedFacts(id, language, reference, title, owner, group)


def test_expand_is_one_pass_and_keeps_unknown_placeholders() -> None:
    values = {"requester": "{link} <i>Zoé</i>\nRoy", "link": "https://desk.test/tickets/4"}
    assert expand("Bonjour {requester} – {link} {unknown} {technician}", values) == (
        "Bonjour {link} <i>Zoé</i> Roy – https://desk.test/tickets/4 {unknown} {technician}"
    )


def test_use_and_manage() -> None:
    mine, group, foreign = facts(1, owner=1), facts(2, group=10), facts(3, group=11)
    assert can_use(TECH, mine) and can_use(TECH, group) and not can_use(TECH, foreign)
    assert not can_use(REQUESTER, mine)
    assert not can_use(ADMIN, foreign) and can_manage(ADMIN, foreign)
    assert can_manage(TECH, group) and not can_manage(TECH, foreign)


def test_pick_one_per_reference_in_the_best_language() -> None:
    replies = [
        facts(1, "fr", group=10, reference="pw", title="Mot de passe"),
        facts(2, "en", group=10, reference="pw", title="Password"),
        facts(3, "en", group=10, title="Only English"),
        facts(4, "fr", owner=1, reference="pw", title="Le mien"),
    ]
    order = language_preference("en", "fr", supported=("fr", "en", "ru"))
    assert order == ["en", "fr", "ru"]
    assert [r.id for r in pick(replies, order)] == [3, 2, 4]
    assert language_preference("", "xx", supported=("fr", "en", "ru")) == ["fr", "en", "ru"]
