"""Search finds exactly the tickets each viewer may see while the columns the access rule
reads keep changing (moved to another establishment, shared or not, assigned, requester
changed, status). On SQLite the candidates' access columns come from the index
``ticket_search_access`` (see its migration): the results must equal the permission rule's,
and the same tickets in the same order as when every ticket's row is read."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from piccolo.querystring import QueryString

from server.db import search as search_module
from server.db.engine import engine
from server.db.queries import access_words
from server.db.search import SearchFilters, search_tickets
from server.db.tables import Ticket, TicketShare
from server.domain.actors import Actor
from server.domain.forms import NewFollowUp
from server.domain.permissions import can_view
from server.domain.vocabulary import Role, Status
from server.services import tickets
from tests import factories
from tests.one_connection import one_connection

WORD = "imprimante"


async def _expected(viewer: Actor) -> set[int]:
    shares: dict[int, set[int]] = {}
    for s in await TicketShare.select(TicketShare.ticket, TicketShare.user):
        shares.setdefault(s["ticket"], set()).add(s["user"])
    return {
        row["id"]
        for row in await Ticket.select()
        if can_view(viewer, tickets.card_facts(row, frozenset(shares.get(row["id"], ()))).access)
    }


async def _random_change(rng: random.Random, w: factories.World, ids: list[int]) -> None:
    ticket_id = rng.choice(ids)
    change = rng.choice(
        ["establishment", "shared", "assignee", "group", "requester", "status", "share"]
    )
    requesters = [w.requester_a, w.colleague_a, w.requester_b]
    if change == "share":  # shared with a colleague by name, or no longer
        user = rng.choice(requesters).id
        mine = (TicketShare.ticket == ticket_id) & (TicketShare.user == user)
        if await TicketShare.exists().where(mine):
            await TicketShare.delete().where(mine)
        else:
            await TicketShare.insert(
                TicketShare(ticket=ticket_id, user=user, shared_by=w.requester_a.id)
            )
        return
    values = {
        "establishment": {Ticket.establishment: rng.choice([w.est_a, w.est_b])},
        "shared": {Ticket.shared: rng.random() < 0.5},
        "assignee": {Ticket.assignee: rng.choice([w.tech.id, w.supervisor.id, None])},
        "group": {Ticket.assigned_group: rng.choice([w.group_id, None])},
        "requester": {Ticket.requester: rng.choice(requesters).id},
        "status": {Ticket.status: rng.choice(list(Status)).value},
    }[change]
    await Ticket.update(values).where(Ticket.id == ticket_id)


@one_connection
async def test_search_follows_every_change_of_access_after_random_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(7)
    w = await factories.world()
    # A technician whose group serves only the first establishment: moving a ticket to the
    # second takes it out of their sight, unless it is assigned to their group or to them.
    local = await factories.user("luc@desk.test", Role.TECHNICIAN, w.est_a, "Luc Local")
    await factories.group("Proximité (N1)", 1, (local.id,), serves=(w.est_a,))
    local = await factories.reload(local.id)
    requesters = [w.requester_a, w.colleague_a, w.requester_b]
    ids = []
    for i in range(24):
        author = rng.choice(requesters)
        words = " ".join(rng.choice(["bloquée", "lente", "réseau"]) for _ in range(i % 4))
        ids.append(
            await factories.ticket(
                author,
                title=f"{WORD.capitalize()} {words}".strip(),
                description=rng.choice([WORD, "bourrage papier", f"{WORD} {WORD} hors ligne"]),
                shared="on" if rng.random() < 0.6 else "",
            )
        )
    await TicketShare.insert(
        TicketShare(ticket=ids[0], user=w.colleague_a.id, shared_by=w.requester_a.id)
    )
    viewers = [*requesters, w.tech, w.supervisor, local]
    filters = [
        SearchFilters(text=WORD, per_page=50),
        SearchFilters(text=WORD, per_page=5, page=2),
        SearchFilters(text=f"{WORD} réseau", per_page=50),
        SearchFilters(text=WORD, per_page=50, establishment_id=w.est_b),
        SearchFilters(text=WORD, per_page=50, statuses=(Status.NEW, Status.ASSIGNED)),
        SearchFilters(text=WORD, per_page=50, date_from=date.today() - timedelta(days=1)),
    ]
    for _round in range(6):
        for _ in range(12):
            await _random_change(rng, w, ids)
        for viewer in viewers:
            # Fresh actors: a requester's establishment is read at sign-in.
            viewer = await factories.reload(viewer.id)
            found = await search_tickets(viewer, SearchFilters(text=WORD, per_page=50))
            assert {r["id"] for r in found.rows} == await _expected(viewer), viewer
            assert found.total == len(found.rows)
            for f in filters:
                indexed = await search_tickets(viewer, f)
                # The same search reading every candidate's ticket row, as before the index.
                monkeypatch.setattr(search_module, "_TICKET_ACCESS", "ticket")
                read_rows = await search_tickets(viewer, f)
                monkeypatch.undo()
                assert [(r["id"], r["score"]) for r in indexed.rows] == [
                    (r["id"], r["score"]) for r in read_rows.rows
                ], (viewer, f)
                assert (indexed.total, indexed.pages) == (read_rows.total, read_rows.pages)
    seen = {v.id: await _expected(await factories.reload(v.id)) for v in viewers}
    assert all(seen.values()) and len({frozenset(s) for s in seen.values()}) > 2


async def test_a_ticket_moved_to_another_establishment_leaves_the_searches_of_its_staff() -> None:
    w = await factories.world()
    local = await factories.user("luc@desk.test", Role.TECHNICIAN, w.est_a, "Luc Local")
    await factories.group("Proximité (N1)", 1, (local.id,), serves=(w.est_a,))
    local = await factories.reload(local.id)
    moved = await factories.ticket(w.requester_a, title="Imprimante du secrétariat")
    stays = await factories.ticket(w.colleague_a, title="Imprimante de l'accueil")
    assert await _ids(local) == {stays, moved}
    assert await _ids(w.colleague_a) == {stays, moved}  # shared in their establishment
    assert await _ids(w.requester_b) == set()
    await Ticket.update({Ticket.establishment: w.est_b}).where(Ticket.id == moved)
    assert await _ids(local) == {stays}
    assert await _ids(w.colleague_a) == {stays}
    assert await _ids(w.requester_a) == {stays, moved}  # their own request still
    assert await _ids(w.requester_b) == {moved}  # shared in its new establishment
    assert await _ids(w.tech) == {stays, moved}  # their group serves both


async def _ids(viewer: Actor) -> set[int]:
    return {r["id"] for r in (await search_tickets(viewer, SearchFilters(text=WORD))).rows}


async def test_sqlite_checks_candidates_from_the_access_index() -> None:
    """Every viewer and filter the search page has: the walk over FTS5 matches reads the
    access index only (a covering index), never the wide ticket rows. PostgreSQL searches
    by other plans: the migration leaves it without that index."""
    db = engine()
    if db.engine_type == "postgres":
        rows = await db.run_ddl(
            "SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'ticket_search_access'"
        )
        assert rows[0]["n"] == 0
        return
    w = await factories.world()
    viewers = [
        w.requester_a,
        w.tech,
        w.supervisor,
        Actor(w.requester_a.id, Role.REQUESTER, w.est_a, active=False),
    ]
    filters = [
        SearchFilters(text=WORD),
        SearchFilters(text=WORD, open_only=True, establishment_id=w.est_a),
        SearchFilters(
            text=WORD,
            statuses=(Status.NEW,),
            category_id=w.category_id,
            date_from=date(2026, 1, 1),
            date_to=date(2026, 12, 31),
        ),
    ]
    for viewer in viewers:
        for f in filters:
            where = search_module._ticket_clauses(viewer, f)
            words = access_words(viewer)
            ctes, branches = search_module._sqlite_matches([WORD], where, "", f, words)
            with_ctes = QueryString("WITH " + ", ".join("{}" for _ in ctes), *ctes)
            for branch in branches:
                plan = await Ticket.raw("EXPLAIN QUERY PLAN {} {}", with_ctes, branch)
                details = [p["detail"] for p in plan]
                assert any("USING COVERING INDEX ticket_search_access" in d for d in details), (
                    details
                )
                assert not any(
                    d.startswith(("SEARCH ticket USING INTEGER", "SCAN ticket ")) for d in details
                ), details


async def test_marks_are_the_same_whichever_way_the_shown_rows_are_looked_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite reads the marks of the shown tickets and follow-ups by ranges of close ids
    (``_fts_rows``): by one range, by one per id, or by the plain id list, the page is the
    same, and rows between the shown ones that match too are not taken for shown ones."""
    w = await factories.world()
    made = []
    for i in range(12):
        made.append(
            await factories.ticket(
                w.requester_a,
                title=f"Imprimante {'bloquée' if i % 2 else 'lente'} {i}",
                description=f"L'imprimante du poste {i} affiche une erreur",
            )
        )
        if i % 3 == 0:
            await tickets.add_follow_up(
                w.tech,
                made[-1],
                NewFollowUp(text=f"Imprimante redémarrée ({i})", private=i == 3, minutes=0),
            )
    pages = []
    for gap, most in ((256, 64), (0, 64), (256, 0)):
        monkeypatch.setattr(search_module, "RUN_GAP", gap)
        monkeypatch.setattr(search_module, "MAX_RUNS", most)
        for viewer in (w.tech, w.requester_a):
            for f in (
                SearchFilters(text="imprimante bloquee", per_page=3),
                SearchFilters(text="imprimante", per_page=4, page=2),
                SearchFilters(text="redemarree"),
            ):
                found = await search_tickets(viewer, f)
                pages.append([(r["id"], r["title_html"], r["text_html"]) for r in found.rows])
    assert all(pages[:6]) and pages[:6] == pages[6:12] == pages[12:]
    assert all("<mark>" in title for page in pages[:2] for _, title, _ in page)
    assert any("redémarrée" in text for _, _, text in pages[2])
