"""PostgreSQL's search plans (``server.db.search``): whichever way the candidates are found
(walking the newest rows or reading the GIN index, per source), with the text tested once
per distinct language query, the page is the same: the same tickets, scores, marks and
totals, exactly those the access rule lets the viewer see. On SQLite the plan switches do
not apply and the same assertions hold."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from server.db import search as search_module
from server.db.connections import LeasedPostgresEngine
from server.db.engine import db_session, engine
from server.db.search import SearchFilters, search_tickets
from server.domain.actors import Actor
from server.domain.forms import NewFollowUp
from server.domain.vocabulary import Status
from server.services import tickets
from tests import factories
from tests.integration.test_search_access import WORD, _expected, _random_change
from tests.one_connection import one_connection

PLANS = [(True, True), (False, False), (True, False), (False, True)]


def _page(found: search_module.Results) -> tuple[Any, ...]:
    rows = [
        (r["id"], round(float(r["score"]), 6), r["title_html"], r["text_html"], r["in_follow_up"])
        for r in found.rows
    ]
    return rows, found.total, found.pages, found.capped


def recorded_statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    """Every statement PostgreSQL runs from now on in this test, with its arguments."""
    seen: list[tuple[str, list[Any]]] = []
    fetch = LeasedPostgresEngine._fetch

    async def recorded(self: Any, query: str, args: list[Any]) -> Any:
        seen.append((query, args))
        return await fetch(self, query, args)

    monkeypatch.setattr(LeasedPostgresEngine, "_fetch", recorded)
    return seen


async def _searched(
    monkeypatch: pytest.MonkeyPatch,
    viewer: Actor,
    f: SearchFilters,
    dense: tuple[bool, bool] | None = None,
    match_each_language: bool = False,
    dense_share: float | None = None,
) -> tuple[Any, ...]:
    """The page of ``f`` with the plan forced (``dense``; ``dense_share``, how staff go
    below the search window: 0.0 walks back, 2.0 reads the GIN index) and, if asked, the
    text tested with every language's query as it is (none left out as a repeat)."""
    with monkeypatch.context() as patched:
        if dense is not None:
            probe = search_module._pg_probe

            async def decided(*args: Any, **options: Any) -> Any:
                found = await probe(*args, **options)
                found = replace(found, dense_tickets=dense[0], dense_notes=dense[1])
                if dense_share is not None:
                    found = replace(found, dense_share=dense_share)
                return found

            patched.setattr(search_module, "_pg_probe", decided)
        if match_each_language:
            distinct = search_module._pg_match_query

            def every(texts: list[str]) -> Any:
                query = distinct(texts[:1])
                for text in texts[1:]:
                    query = search_module.QueryString("({} || {}::tsquery)", query, text)
                return query

            patched.setattr(search_module, "_pg_match_query", every)
        return _page(await search_tickets(viewer, f))


async def _world_with_words() -> tuple[factories.World, list[int]]:
    w = await factories.world()
    rng = random.Random(12)
    requesters = [w.requester_a, w.colleague_a, w.requester_b]
    made = []
    texts = [
        ("Imprimante bloquée aux urgences", "L'imprimante des urgences ne répond plus"),
        ("Imprimantes en panne", "printer offline, urgences"),
        ("Printers offline", "The printers of the emergency ward are offline"),
        ("Принтер не печатает", "принтеры в приёмном покое"),
        ("Poste lent", "imprimante et poste lents aux urgences"),
        ("Badge refusé", "lecteur de badge des urgences"),
    ]
    for i in range(30):
        title, description = texts[i % len(texts)]
        made.append(
            await factories.ticket(
                rng.choice(requesters),
                title=f"{title} {i}",
                description=description,
                shared="on" if rng.random() < 0.6 else "",
            )
        )
        if i % 4 == 0:
            await tickets.add_follow_up(
                w.tech,
                made[-1],
                NewFollowUp(
                    text=rng.choice(["Imprimante redémarrée", "printer replaced", "принтер"]),
                    private=i % 8 == 0,
                    minutes=0,
                ),
            )
    for _ in range(20):
        await _random_change(rng, w, made)
    return w, made


QUERIES = [
    SearchFilters(text="imprimante"),
    SearchFilters(text="imprimante urgences"),
    SearchFilters(text="imprimantes", per_page=3, page=2),
    SearchFilters(text="printers offline"),
    SearchFilters(text="принтер"),
    SearchFilters(text="urgences", statuses=(Status.NEW,)),
    SearchFilters(text="impr", any_word=True, follow_ups=False),
    SearchFilters(text="martin"),  # staff: the tickets of Alice Martin, by her name
    SearchFilters(text="bruno imprimante"),  # no name holds both, no text either
]


@one_connection
async def test_every_plan_and_the_distinct_language_queries_give_the_same_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w, _made = await _world_with_words()
    viewers = [w.requester_a, w.colleague_a, w.requester_b, w.tech, w.supervisor]
    for viewer in viewers:
        viewer = await factories.reload(viewer.id)
        for f in QUERIES:
            reference = await _searched(monkeypatch, viewer, f, match_each_language=True)
            for dense in PLANS:
                assert await _searched(monkeypatch, viewer, f, dense) == reference, (
                    viewer,
                    f,
                    dense,
                )
    # Something was found, by several viewers, and not the same things.
    pages = {
        v.id: await _searched(monkeypatch, await factories.reload(v.id), QUERIES[0])
        for v in viewers
    }
    assert all(page[1] for page in pages.values()) and len(set(map(str, pages.values()))) > 2


@one_connection
async def test_every_plan_finds_exactly_what_the_access_rule_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The walk tests the access rule before the text (a CASE): with access changing
    under it, each plan still returns exactly the visible matches."""
    rng = random.Random(3)
    w = await factories.world()
    requesters = [w.requester_a, w.colleague_a, w.requester_b]
    ids = [
        await factories.ticket(
            rng.choice(requesters),
            title=f"{WORD.capitalize()} {i}" if i % 3 else f"Poste {i}",
            description="bourrage papier",
            shared="on" if rng.random() < 0.5 else "",
        )
        for i in range(18)
    ]
    matching = {t for i, t in enumerate(ids) if i % 3}
    for _round in range(4):
        for _ in range(8):
            await _random_change(rng, w, ids)
        for viewer in [*requesters, w.tech, w.supervisor]:
            viewer = await factories.reload(viewer.id)
            expected = await _expected(viewer) & matching
            for dense in PLANS:
                rows, total, *_ = await _searched(
                    monkeypatch, viewer, SearchFilters(text=WORD, per_page=50), dense
                )
                assert {r[0] for r in rows} == expected, (viewer, dense)
                assert total == len(expected)


def test_each_language_query_is_tested_once() -> None:
    query = search_module._pg_match_query(["'imprim'", "'imprimant'", "'imprimant'"])
    sql, args = query.compile_string(engine_type="postgres")
    assert list(args) == ["( 'imprim' ) | ( 'imprimant' )"] and sql.count("::tsquery") == 1
    # A language that kept no word (stop words only) adds nothing; none left matches nothing.
    assert search_module._pg_match_query(["", "'a' & 'b'", ""]).compile_string(
        engine_type="postgres"
    )[1] == ["( 'a' & 'b' )"]
    assert search_module._pg_match_query(["", "", ""]).compile_string(engine_type="postgres")[
        1
    ] == [""]


async def test_the_candidates_statement_never_plans_parallel_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Starting parallel workers for a misjudged word cost more than the bounded work
    (see ``_PG_SERIAL``). With parallel plans made free, the candidates' statement gets a
    Gather without its marker, none with it."""
    db = engine()
    if db.engine_type != "postgres":
        return  # SQLite has no parallel workers
    w = await factories.world()
    await factories.ticket(w.requester_a, title="Imprimante bloquée")
    seen = recorded_statements(monkeypatch)
    async with db_session() as lease:
        found = await search_tickets(w.requester_a, SearchFilters(text="imprimante"))
        assert found.total == 1
        connection = await lease.get()
        # Parallel plans made free, as they seem to PostgreSQL at a million rows.
        cheap = {
            "parallel_setup_cost": 0,
            "parallel_tuple_cost": 0,
            "min_parallel_table_scan_size": 0,
            "min_parallel_index_scan_size": 0,
        }
        for setting, value in cheap.items():
            await connection.execute(f"SET {setting} = {value}")
        try:
            [(query, args)] = [(q, a) for q, a in seen if q.startswith("WITH matched AS")]
            plans = {
                "candidates": query,
                "without the marker": query.replace(search_module._PG_SERIAL, ""),
            }
            for name, sql in plans.items():
                plan = await connection.fetch("EXPLAIN " + sql, *args)
                plans[name] = "\n".join(r[0] for r in plan)
        finally:
            for setting in cheap:
                await connection.execute(f"RESET {setting}")
    assert search_module._PG_SERIAL in query
    assert "Gather" in plans["without the marker"], plans["without the marker"]
    assert "Gather" not in plans["candidates"], plans["candidates"]


async def test_a_generic_plan_gives_the_same_page() -> None:
    """asyncpg prepares each statement, and after five runs PostgreSQL may keep a generic
    plan (parameters unknown when planned): the words' query is then computed once per
    statement (``_once``, the typed match value), never per row; the page is the same."""
    db = engine()
    w, _made = await _world_with_words()
    viewers = [w.requester_a, w.tech]
    modes = ("force_custom_plan", "force_generic_plan")
    pages: dict[str, list[Any]] = {}
    for mode in modes if db.engine_type == "postgres" else modes[:1]:
        async with db_session() as lease:
            connection = await lease.get() if db.engine_type == "postgres" else None
            if connection is not None:
                await connection.execute(f"SET plan_cache_mode = {mode}")
            try:
                pages[mode] = [
                    _page(await search_tickets(await factories.reload(v.id), f))
                    for v in viewers
                    for f in QUERIES
                    for _run in range(2)
                ]
            finally:
                if connection is not None:
                    await connection.execute("RESET plan_cache_mode")
    assert any(page[1] for page in pages["force_custom_plan"])
    by_name = QUERIES.index(SearchFilters(text="martin"))
    assert pages["force_custom_plan"][len(QUERIES) * 2 + by_name * 2][1] > 0  # tech, by name
    if db.engine_type == "postgres":
        assert pages["force_generic_plan"] == pages["force_custom_plan"]


async def test_only_a_requesters_probe_counts_the_newest_tickets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Staff searches start in the window, which judges the words by itself: counting the
    # newest tickets for them was half the probe's time, for a number nobody read.
    if engine().engine_type != "postgres":
        return  # SQLite has no probe
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Imprimante bloquée")
    seen = recorded_statements(monkeypatch)
    newest_tickets = "FROM (SELECT * FROM ticket ORDER BY id DESC LIMIT"
    for viewer, counts in ((w.tech, False), (w.requester_a, True)):
        seen.clear()
        async with db_session():
            found = await search_tickets(viewer, SearchFilters(text="imprimante"))
        assert [row["id"] for row in found.rows] == [ticket_id]
        [probe] = [
            query for query, _args in seen if query.startswith("SELECT") and " AS notes" in query
        ]
        assert (newest_tickets in probe) is counts, probe
