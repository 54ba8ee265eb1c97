"""Search matches word forms in French, English and Russian on both engines (SQLite through
the Snowball stems column, PostgreSQL through its stemming configurations), finds a ticket by
"#number" as by its number, and lets staff find tickets by the requester's name."""

from __future__ import annotations

import pytest

from server.db.search import SearchFilters, reindex, search_articles, search_tickets
from server.domain.actors import Actor
from server.domain.forms import NewFollowUp
from server.domain.knowledge import ArticleForm, ArticleState, ArticleVisibility, Language
from server.domain.vocabulary import Role
from server.services import knowledge, tickets
from tests import factories


def ids(results) -> list[int]:
    return [r["id"] for r in results.rows]


async def search(actor: Actor, text: str, **kw) -> list[int]:
    return ids(await search_tickets(actor, SearchFilters(text=text, **kw)))


TICKETS = {
    "fr": ("Imprimante bloquée", "L'imprimante du secrétariat refuse les impressions."),
    "en": ("Backup policy is not applied", "The policy was changed and the jobs are failing."),
    "ru": ("Сервис записи не работает", "Ошибка при записи пациента на приём к врачу."),
}
# (typed, language of the ticket it must find): other forms than the ones written.
TICKET_QUERIES = [
    ("imprimantes", "fr"),
    ("imprimantes bloquées", "fr"),
    ("policies", "en"),
    ("jobs failed", "en"),
    ("сервисы", "ru"),
    ("сервисом", "ru"),
    ("ошибки записи", "ru"),
]


@pytest.mark.parametrize(("typed", "language"), TICKET_QUERIES)
async def test_ticket_search_matches_word_forms(typed: str, language: str) -> None:
    w = await factories.world()
    made = {
        lang: await factories.ticket(w.requester_a, title=title, description=text)
        for lang, (title, text) in TICKETS.items()
    }
    assert await search(w.tech, typed) == [made[language]]
    assert await search(w.requester_a, typed) == [made[language]]


async def test_a_word_form_found_through_its_stem_is_highlighted() -> None:
    w = await factories.world()
    await factories.ticket(w.requester_a, title=TICKETS["fr"][0], description=TICKETS["fr"][1])
    [row] = (await search_tickets(w.tech, SearchFilters(text="imprimantes"))).rows
    assert "<mark>Imprimante</mark>" in row["title_html"]


async def test_follow_ups_match_word_forms() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Poste lent", description="lent")
    await tickets.add_follow_up(
        w.tech, ticket_id, NewFollowUp(text="Сервисы перезапущены ночью.", private=False, minutes=0)
    )
    assert await search(w.tech, "сервис") == [ticket_id]
    assert await search(w.requester_a, "сервисов") == [ticket_id]


def article_form(title: str, body: str, language: Language) -> ArticleForm:
    return ArticleForm(
        title=title,
        body=body,
        category_id=None,
        language=language,
        visibility=ArticleVisibility.PUBLIC,
        state=ArticleState.PUBLISHED,
        establishment_ids=(),
    )


ARTICLES = {
    "fr": ("Débloquer une imprimante", "Redémarrez le spouleur puis relancez les impressions."),
    "en": ("Printing policy", "Printers apply the colour policy set by the administrators."),
    "ru": ("Сервис записи к врачу", "Если сервис недоступен, перезапустите службу очереди."),
}
ARTICLE_QUERIES = [
    ("imprimantes", "fr"),
    ("spouleurs redémarrés", "fr"),
    ("policies", "en"),
    ("printer administrator", "en"),
    ("сервисы", "ru"),
    ("службы очередей", "ru"),
]


@pytest.mark.parametrize(("typed", "language"), ARTICLE_QUERIES)
async def test_article_search_matches_word_forms(typed: str, language: str) -> None:
    w = await factories.world()
    made = {
        lang: await knowledge.create_article(w.tech, article_form(title, body, Language(lang)))
        for lang, (title, body) in ARTICLES.items()
    }
    found = await search_articles(w.requester_a, SearchFilters(text=typed), [w.est_a])
    assert ids(found) == [made[language]]
    assert found.total == 1
    assert "<mark>" in found.rows[0]["title_html"] + found.rows[0]["text_html"]


async def test_hash_number_finds_the_ticket_as_the_number_does() -> None:
    w = await factories.world()
    target = await factories.ticket(w.requester_a, title="Scanner en panne", description="rien")
    await factories.ticket(
        w.requester_a, title="Relance", description=f"Voir le ticket {target}, toujours en panne"
    )
    by_number = await search(w.tech, str(target))
    assert by_number[0] == target
    assert await search(w.tech, f"#{target}") == by_number
    assert await search(w.tech, f" #{target} ") == by_number
    # Not a way round the access policy.
    hidden = await factories.ticket(w.requester_b, title="Autre")
    assert hidden not in await search(w.requester_a, f"#{hidden}")


async def test_staff_find_tickets_by_the_requesters_name() -> None:
    w = await factories.world()
    olga = await factories.user("olga@chu-a.test", Role.REQUESTER, w.est_a, "Ольга Смирнова")
    hers = await factories.ticket(olga, title="Принтер не печатает", description="нет бумаги")
    alices = await factories.ticket(w.requester_a, title="Souris cassée", description="clic")
    bruno = await factories.ticket(w.requester_b, title="Clavier", description="touches")
    assert await search(w.tech, "Смирнова") == [hers]
    assert await search(w.tech, "смирнова ольга") == [hers]
    assert await search(w.supervisor, "alice martin") == [alices]
    assert await search(w.tech, "MARTIN") == [alices]
    assert await search(w.tech, "petit") == [bruno]
    assert await search(w.tech, "martin petit") == []
    # Requesters do not search people: not a colleague's tickets by name, nor another
    # establishment's.
    assert await search(w.requester_a, "Смирнова") == []
    assert await search(w.requester_a, "petit") == []


async def test_reindex_keeps_everything_findable() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title=TICKETS["ru"][0], description="-")
    article = await knowledge.create_article(w.tech, article_form(*ARTICLES["fr"], Language.FR))
    await reindex()
    assert await search(w.tech, "сервисы") == [ticket_id]
    found = await search_articles(w.tech, SearchFilters(text="imprimantes"), [])
    assert ids(found) == [article]
