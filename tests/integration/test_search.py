"""Full-text search on both engines: the same tests pass on SQLite (FTS5) and PostgreSQL
(tsvector + unaccent + stemming). Results obey the access policy like lists do."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from server.db.articles import list_articles, reachable_establishments
from server.db.search import SearchFilters, search_articles, search_tickets
from server.db.tables import FollowUp, Ticket
from server.domain.actors import Actor
from server.domain.forms import NewFollowUp
from server.domain.knowledge import (
    ArticleAccess,
    ArticleForm,
    ArticleState,
    ArticleVisibility,
    Language,
    can_read_article,
)
from server.domain.vocabulary import Role, Status
from server.services import knowledge, tickets
from tests import factories


def ids(results) -> list[int]:
    return [r["id"] for r in results.rows]


async def search(actor: Actor, text: str, **kw) -> list[int]:
    return ids(await search_tickets(actor, SearchFilters(text=text, **kw)))


async def test_accent_insensitive_and_prefix_match_on_title_and_description() -> None:
    w = await factories.world()
    a = await factories.ticket(w.requester_a, title="Écran bloqué au bloc", description="rien")
    b = await factories.ticket(w.requester_a, title="Souris", description="L'imprimante réseau")
    await factories.ticket(w.requester_a, title="Autre chose", description="sans rapport")
    assert await search(w.tech, "ecran bloque") == [a]
    assert await search(w.tech, "ÉCRAN") == [a]
    assert await search(w.tech, "imprim") == [b]  # typed so far: a prefix
    assert await search(w.tech, "reseau") == [b]


async def test_ranking_prefers_title_and_number_finds_the_ticket() -> None:
    w = await factories.world()
    in_text = await factories.ticket(
        w.requester_a, title="Problème divers", description="le scanner du service"
    )
    in_title = await factories.ticket(
        w.requester_a, title="Scanner en panne", description="ne démarre plus"
    )
    assert await search(w.tech, "scanner") == [in_title, in_text]
    assert await search(w.tech, f"#{in_text}") == [in_text]


async def test_highlight_escapes_text_and_marks_only_matches() -> None:
    w = await factories.world()
    await factories.ticket(
        w.requester_a,
        title="<script>alert(1)</script> imprimante",
        description='Le pilote <img src=x onerror="alert(1)"> de l\'imprimante plante.',
    )
    [row] = (await search_tickets(w.tech, SearchFilters(text="imprimante"))).rows
    for html in (row["title_html"], row["text_html"]):
        assert "<mark>" in html
        assert "<script" not in html and "<img" not in html
        assert html.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "&lt;script&gt;" in row["title_html"]


async def test_results_obey_the_access_policy() -> None:
    w = await factories.world()
    mine = await factories.ticket(w.requester_a, title="Imprimante A")
    private = await factories.ticket(w.colleague_a, title="Imprimante privée", shared="0")
    shared = await factories.ticket(w.colleague_a, title="Imprimante partagée")
    other = await factories.ticket(w.requester_b, title="Imprimante B")
    assert set(await search(w.requester_a, "imprimante")) == {mine, shared}
    assert set(await search(w.requester_b, "imprimante")) == {other}
    assert set(await search(w.tech, "imprimante")) == {mine, private, shared, other}
    # A number the requester may not see is not found either.
    assert await search(w.requester_a, str(other)) == []
    inactive = Actor(w.requester_a.id, Role.REQUESTER, w.est_a, active=False)
    assert await search(inactive, "imprimante") == []


async def test_follow_ups_count_only_where_the_viewer_may_see_them() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Poste lent", description="lent")
    await tickets.add_follow_up(
        w.tech,
        ticket_id,
        NewFollowUp(text="Mot de passe administrateur: zorglub", private=True, minutes=0),
    )
    await tickets.add_follow_up(
        w.tech,
        ticket_id,
        NewFollowUp(text="Le disque est plein, nettoyage fait", private=False, minutes=0),
    )
    assert await search(w.tech, "zorglub") == [ticket_id]
    assert await search(w.requester_a, "zorglub") == []
    [row] = (await search_tickets(w.requester_a, SearchFilters(text="disque plein"))).rows
    assert row["in_follow_up"] and "<mark>" in row["text_html"]
    # Redacting a follow-up re-indexes it (triggers keep the index in sync on update).
    await FollowUp.update({FollowUp.text: "[redacted]"}).where(FollowUp.private == True)  # noqa: E712
    assert await search(w.tech, "zorglub") == []


async def test_a_follow_up_found_by_another_form_of_the_word_is_marked() -> None:
    # The follow-up says "imprimante", the search "imprimantes": neither starts the other,
    # the shared stem found it, and the snippet marks the follow-up's own word.
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Poste lent", description="lent")
    await tickets.add_follow_up(
        w.tech,
        ticket_id,
        NewFollowUp(text="L'imprimante du bureau est réparée", private=False, minutes=0),
    )
    [row] = (await search_tickets(w.requester_a, SearchFilters(text="imprimantes"))).rows
    assert row["id"] == ticket_id and row["in_follow_up"]
    assert "<mark>imprimante</mark>" in row["text_html"].lower()


async def test_search_page_matches_whole_words_and_suggestions_an_unfinished_last_one() -> None:
    # The same on both engines: the search page's words are complete (word forms are found
    # by their stems); suggestions follow what is being typed, so the last word may be cut.
    w = await factories.world()
    t = await factories.ticket(w.requester_a, title="Portable lent", description="rien")
    assert await search(w.tech, "port") == []
    assert await search(w.tech, "portables") == [t]
    assert await search(w.tech, "port", any_word=True) == [t]
    assert await search(w.tech, "port lent", any_word=True) == [t]


async def test_index_follows_updates_and_deletes() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Clavier", description="touche")
    await Ticket.update({Ticket.title: "Téléphone"}).where(Ticket.id == ticket_id)
    assert await search(w.tech, "clavier") == []
    assert await search(w.tech, "telephone") == [ticket_id]


async def test_filters_status_establishment_category_dates_and_pages() -> None:
    w = await factories.world()
    a = await factories.ticket(w.requester_a, title="Wifi coupé", category_id=str(w.category_id))
    b = await factories.ticket(w.requester_b, title="Wifi lent")
    await tickets.take(w.tech, b, 1)
    assert await search(w.tech, "wifi", establishment_id=w.est_b) == [b]
    assert await search(w.tech, "wifi", category_id=w.category_id) == [a]
    assert await search(w.tech, "wifi", statuses=(Status.ASSIGNED,)) == [b]
    assert await search(w.tech, "wifi", date_from=date(2000, 1, 1), date_to=date(2000, 1, 2)) == []
    assert set(await search(w.tech, "wifi", date_from=date.today())) == {a, b}
    first = await search_tickets(w.tech, SearchFilters(text="wifi", per_page=1))
    second = await search_tickets(w.tech, SearchFilters(text="wifi", per_page=1, page=2))
    assert first.total == 2 and first.pages == 2
    assert set(ids(first) + ids(second)) == {a, b}


async def test_query_syntax_is_never_passed_to_the_engine() -> None:
    w = await factories.world()
    a = await factories.ticket(w.requester_a, title="Badge refusé")
    for text in ['badge"', "badge*", "badge:*", "(badge", "badge' --", "badge&"]:
        assert await search(w.tech, text) == [a], text
    assert await search(w.tech, "!!! ??? ''") == []
    assert await search(w.tech, "badge OR NOT zzz") == []  # words, not operators: all must match


def article_form(**kw) -> ArticleForm:
    values = dict(
        title="Imprimante hors ligne",
        body="Redémarrez le **spouleur** d'impression.",
        category_id=None,
        language=Language.FR,
        visibility=ArticleVisibility.PUBLIC,
        state=ArticleState.PUBLISHED,
        establishment_ids=(),
    )
    values.update(kw)
    return ArticleForm(**values)


async def test_articles_visibility_drafts_and_establishments() -> None:
    w = await factories.world()
    child = await factories.establishment("Annexe", "ANX", parent=w.est_a)
    kid = await factories.user("kid@anx.test", Role.REQUESTER, child)
    public = await knowledge.create_article(w.tech, article_form())
    internal = await knowledge.create_article(
        w.tech, article_form(visibility=ArticleVisibility.INTERNAL)
    )
    draft = await knowledge.create_article(w.tech, article_form(state=ArticleState.DRAFT))
    for_a = await knowledge.create_article(w.tech, article_form(establishment_ids=(w.est_a,)))
    for_b = await knowledge.create_article(w.tech, article_form(establishment_ids=(w.est_b,)))
    everything = {public, internal, draft, for_a, for_b}

    async def visible(actor: Actor) -> set[int]:
        reach = await reachable_establishments(actor.establishment_id)
        found = await search_articles(actor, SearchFilters(text="imprimante"), reach)
        listed, _ = await list_articles(actor)
        assert {r["id"] for r in listed} == set(ids(found))
        return set(ids(found))

    assert await visible(w.tech) == everything
    assert await visible(w.requester_a) == {public, for_a}
    assert await visible(kid) == {public, for_a}  # an ancestor's article applies
    assert await visible(w.requester_b) == {public, for_b}
    # The SQL filter and the domain rule agree.
    assert can_read_article(
        kid,
        ArticleAccess(ArticleVisibility.PUBLIC, ArticleState.PUBLISHED, frozenset({w.est_a})),
        [child, w.est_a],
    )


async def test_article_search_is_accent_insensitive_ranked_and_highlighted() -> None:
    w = await factories.world()
    body_only = await knowledge.create_article(
        w.tech, article_form(title="Divers", body="Vider le cache du navigateur réseau")
    )
    in_title = await knowledge.create_article(
        w.tech, article_form(title="Réseau Wi-Fi", body="Se connecter au réseau invité")
    )
    russian = await knowledge.create_article(
        w.tech,
        article_form(
            title="Принтер не печатает", body="Перезапустите службу", language=Language.RU
        ),
    )
    english = await knowledge.create_article(
        w.tech,
        article_form(
            title="Password reset", body="Use the self-service portal", language=Language.EN
        ),
    )
    found = await search_articles(w.tech, SearchFilters(text="reseau"), [])
    assert ids(found) == [in_title, body_only]
    assert "<mark>" in found.rows[0]["title_html"]
    assert ids(await search_articles(w.tech, SearchFilters(text="принтер"), [])) == [russian]
    assert ids(await search_articles(w.tech, SearchFilters(text="password"), [])) == [english]


@pytest.mark.parametrize("role", [Role.REQUESTER, Role.TECHNICIAN, Role.SUPERVISOR])
async def test_search_runs_for_every_role(role: Role) -> None:
    """visible_to() is embedded as it is: this breaks loudly if it ever needs joins."""
    w = await factories.world()
    actor = {Role.REQUESTER: w.requester_a, Role.TECHNICIAN: w.tech}.get(role, w.supervisor)
    t = await factories.ticket(w.requester_a, title="Lecteur de cartes")
    assert await search(actor, "lecteur") == [t]


async def test_broad_queries_rank_only_the_most_recent_matches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.db import search as search_module

    monkeypatch.setattr(search_module, "CANDIDATES", 2)
    w = await factories.world()
    made = [await factories.ticket(w.requester_a, title=f"Borne wifi {i}") for i in range(4)]
    found = await search_tickets(w.tech, SearchFilters(text="borne"))
    assert found.capped and set(ids(found)) == set(made[-2:])


async def test_demo_articles_are_searchable_in_each_language() -> None:
    from server.db.tables import User
    from server.demo import load_demo

    assert await load_demo(ticket_count=5)
    row = await User.select().where(User.email == "demandeur@chu-a.example").first()
    requester = Actor(row["id"], Role.REQUESTER, row["establishment"])
    reach = await reachable_establishments(requester.establishment_id)
    for text in ("imprimante bloquee", "VPN connection", "принтер"):
        found = await search_articles(requester, SearchFilters(text=text), reach)
        assert found.total >= 1, text
    # The clinic-only article is not offered to another establishment's requester.
    clinic = await search_articles(requester, SearchFilters(text="Bouleaux"), reach)
    assert clinic.total == 0


@pytest.mark.parametrize("dense", [(True, True), (False, False), (True, False)])
async def test_both_postgres_plans_give_the_same_results(
    monkeypatch: pytest.MonkeyPatch, dense: tuple[bool, bool]
) -> None:
    """PostgreSQL walks back the newest rows for common words and reads the GIN index for rare
    ones (server.db.search._pg_probe decides); both forms must find the same tickets, under
    the same access rules. (On SQLite, FTS5 has one plan: the same assertions hold.)"""
    from server.db import search as search_module

    probe = search_module._pg_probe

    async def decided(*args: object, **options: object) -> object:
        found = await probe(*args, **options)
        return replace(found, dense_tickets=dense[0], dense_notes=dense[1])

    monkeypatch.setattr(search_module, "_pg_probe", decided)
    w = await factories.world()
    mine = await factories.ticket(w.requester_a, title="Douchette en panne")
    other = await factories.ticket(w.requester_b, title="Douchette cassée")
    noted = await factories.ticket(w.requester_a, title="Poste", description="lent")
    await tickets.add_follow_up(
        w.tech, noted, NewFollowUp(text="Douchette remplacée", private=True, minutes=0)
    )
    assert set(await search(w.tech, "douchette")) == {mine, other, noted}
    assert set(await search(w.requester_a, "douchette")) == {mine}
