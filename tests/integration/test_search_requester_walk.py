"""A requester's walk of the newest matches on PostgreSQL goes by the parts of their scope
(``server.db.search._pg_requester_walk``): their establishment's tickets, their own
elsewhere, those shared with them by name elsewhere. Whichever plan finds the candidates,
the page is the same and holds exactly the newest visible matches, even when the newest
come from different parts and a ticket belongs to several. On SQLite the plan switches do
not apply and the same assertions hold."""

from __future__ import annotations

import random

import pytest

from server.db import search as search_module
from server.db.engine import db_session, engine
from server.db.search import SearchFilters
from server.db.tables import Ticket, TicketShare
from server.domain.vocabulary import Status
from tests import factories
from tests.integration.test_search_access import WORD, _expected
from tests.integration.test_search_pg_plans import _searched, recorded_statements
from tests.one_connection import one_connection


async def _tickets_in_every_part() -> tuple[factories.World, list[int], set[int]]:
    """Tickets with and without the word, interleaved: the requester's own in their
    establishment and moved to the other, their colleague's shared and not, the other
    establishment's, some shared by name with the requester (one of them their own, one
    in their establishment: a ticket in two parts)."""
    w = await factories.world()
    rng = random.Random(5)
    authors = [w.requester_a, w.colleague_a, w.requester_b]
    ids: list[int] = []
    matching: set[int] = set()
    for i in range(36):
        author = authors[i % 3]
        match = rng.random() < 0.7
        ids.append(
            await factories.ticket(
                author,
                title=f"{WORD.capitalize()} {i}" if match else f"Poste {i}",
                description="bourrage papier",
                shared="on" if rng.random() < 0.5 else "",
            )
        )
        if match:
            matching.add(ids[-1])
        if author is w.requester_a and i % 2:
            await Ticket.update({Ticket.establishment: w.est_b}).where(Ticket.id == ids[-1])
    own_elsewhere = [
        t
        for t in ids
        if (await Ticket.select(Ticket.establishment, Ticket.requester).where(Ticket.id == t))[0]
        == {"establishment": w.est_b, "requester": w.requester_a.id}
    ]
    colleagues = [t for i, t in enumerate(ids) if i % 3 == 1 and t in matching]
    # The other establishment's; and, in two parts at once, the newest matches among the
    # requester's own elsewhere and their colleague's (found by any number of candidates).
    shared_by_name = [*ids[2::6], max(colleagues), max(set(own_elsewhere) & matching)]
    for t in shared_by_name:
        await TicketShare.insert(
            TicketShare(ticket=t, user=w.requester_a.id, shared_by=w.requester_b.id)
        )
    return w, ids, matching


@pytest.mark.parametrize("candidates", [2, 5, 500])
@one_connection
async def test_a_requesters_walk_by_parts_gives_the_newest_visible_matches(
    monkeypatch: pytest.MonkeyPatch, candidates: int
) -> None:
    w, _ids, matching = await _tickets_in_every_part()
    monkeypatch.setattr(search_module, "CANDIDATES", candidates)
    filters = [
        SearchFilters(text=WORD, per_page=50),
        SearchFilters(text=WORD, per_page=2, page=2),
        SearchFilters(text=WORD, per_page=50, establishment_id=w.est_b),
        SearchFilters(text=WORD, per_page=50, establishment_id=w.est_a),
        SearchFilters(text=WORD, per_page=50, statuses=(Status.NEW,)),
    ]
    for viewer in (w.requester_a, w.colleague_a, w.requester_b):
        viewer = await factories.reload(viewer.id)
        visible = await _expected(viewer) & matching
        newest = set(sorted(visible, reverse=True)[:candidates])
        rows, total, *_ = await _searched(monkeypatch, viewer, filters[0], (True, False))
        assert {r[0] for r in rows} == newest, (viewer, candidates)
        assert total == len(newest)
        for f in filters:
            reference = await _searched(monkeypatch, viewer, f, (False, False))
            assert await _searched(monkeypatch, viewer, f, (True, False)) == reference, (viewer, f)
    # The parts all gave something: the requester sees tickets of each.
    a = await factories.reload(w.requester_a.id)
    rows, *_ = await _searched(monkeypatch, a, filters[0], (True, False))
    found = {r[0] for r in rows}
    shares = {s["ticket"] for s in await TicketShare.select(TicketShare.ticket)}
    facts = {
        r["id"]: r
        for r in await Ticket.select(Ticket.id, Ticket.establishment, Ticket.requester).where(
            Ticket.id.is_in(list(found))
        )
    }
    if candidates == 500:
        assert any(facts[t]["establishment"] == w.est_a for t in found)
        assert any(
            facts[t]["requester"] == a.id and facts[t]["establishment"] == w.est_b for t in found
        )
        assert any(
            t in shares and facts[t]["requester"] != a.id and facts[t]["establishment"] == w.est_b
            for t in found
        )


async def test_a_requesters_walk_reads_the_newest_first_indexes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The establishment's part of the walk is read newest first from ``ticket
    (establishment, id)``, without a sort (the single-column index gives its rows in no
    useful order); the requester's own tickets elsewhere from ``ticket (requester,
    establishment)``, only those outside their establishment. At a million tickets
    PostgreSQL picks them by itself (bench/README.md); here other tickets are added first,
    and scans and sorts ruled out."""
    db = engine()
    if db.engine_type != "postgres":
        return  # SQLite reads its FTS5 tables
    w = await factories.world()
    await factories.ticket(w.requester_a, title="Imprimante bloquée", shared="on")
    seen = recorded_statements(monkeypatch)
    await _searched(monkeypatch, w.requester_a, SearchFilters(text="imprimante"), (True, False))
    [(query, args)] = [(q, a) for q, a in seen if q.startswith("WITH matched AS")]
    assert "ORDER BY ticket.establishment DESC, ticket.id DESC" in query
    settings = ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort")
    async with db_session() as lease:
        connection = await lease.get()
        # Statistics of a desk where this requester's tickets are few among many: on a table
        # of a few rows, walking the primary key back costs as little as either index, and
        # which one PostgreSQL picks then depends on the suite's earlier data.
        await connection.execute(
            "INSERT INTO ticket (title, status, requester, establishment, shared)"
            " SELECT 'Autre ' || n, 'closed', $1, $2, false FROM generate_series(1, 5000) AS n",
            w.requester_b.id,
            w.est_b,
        )
        await connection.execute("ANALYZE ticket")
        for setting in settings:
            await connection.execute(f"SET {setting} = off")
        try:
            plan = "\n".join(r[0] for r in await connection.fetch("EXPLAIN " + query, *args))
        finally:
            for setting in settings:
                await connection.execute(f"RESET {setting}")
    assert "Index Scan Backward using ticket_establishment_newest" in plan, plan
    assert "using ticket_requester_elsewhere" in plan, plan
    assert "ticket_requester_newest" not in plan, plan
