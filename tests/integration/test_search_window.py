"""SQLite ranks a search in a window of the newest tickets and follow-ups (the migration "a
window of the newest rows of the search indexes"): the triggers keep every row from the
window's oldest id on in it, through creations, edits, deletions and imports of old ids,
and a search finds exactly the newest visible matches whether they lie in the window,
below it, or on both sides, for tickets and follow-ups alike."""

from __future__ import annotations

import random

import pytest

from server.db import search as search_module
from server.db.search import SearchFilters, reindex, search_tickets
from server.db.tables import Ticket
from server.domain.forms import NewFollowUp
from server.services import tickets
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.integration.test_search_access import _expected

pytestmark = pytest.mark.skipif(IS_POSTGRES, reason="PostgreSQL ranks with ts_rank, no window")

SIZE = 6


async def _sql(sql: str, *args: object) -> list[tuple]:
    """Plain SQL (the windows are no Piccolo tables), placeholders as ``{}``."""
    return [tuple(r.values()) for r in await Ticket.raw(sql, *args)]


async def _window(table: str) -> list[int]:
    return [r[0] for r in await _sql(f"SELECT rowid FROM {table}_fts_recent ORDER BY rowid")]


async def _ids(table: str) -> list[int]:
    return [r[0] for r in await _sql(f"SELECT id FROM {table} ORDER BY id")]


async def _set_size(size: int) -> None:
    await _sql("UPDATE search_window SET size = {}", size)


async def _assert_window_is_a_suffix(table: str) -> None:
    """The window holds every row from its oldest id on, and no more than ``SIZE`` ids."""
    window, ids = await _window(table), await _ids(table)
    assert window, table
    assert window == [i for i in ids if i >= window[0]], table
    assert window[-1] - window[0] < SIZE, table


async def _bare_ticket(template: dict, **fields: object) -> int:
    """A ticket row alone, without history: Guichet never deletes a ticket, but the window
    must follow one deleted by hand, and tickets imported with their old numbers."""
    row = {k: v for k, v in template.items() if k != "id"}
    [created] = await Ticket.insert(Ticket(**{**row, **fields})).returning(Ticket.id)
    return created["id"]


async def test_the_window_follows_creations_edits_deletions_and_old_imports() -> None:
    await _set_size(SIZE)
    w = await factories.world()
    first = await factories.ticket(w.requester_a, title="Scanner")
    template = (await Ticket.select().where(Ticket.id == first))[0]
    hole = await _bare_ticket(template, title="Scanner")
    made = [await factories.ticket(w.requester_a, title=f"Scanner {i}") for i in range(10)]
    await _assert_window_is_a_suffix("ticket")
    assert await _window("ticket") == made[-SIZE:]

    # An edit is indexed again in the window; a row below it stays out of it.
    newest, oldest = made[-1], made[0]
    await Ticket.update({Ticket.title: "Lecteur de badges"}).where(Ticket.id == newest)
    await Ticket.update({Ticket.title: "Lecteur de badges"}).where(Ticket.id == oldest)
    found = await _sql("SELECT rowid FROM ticket_fts_recent WHERE ticket_fts_recent MATCH 'badges'")
    assert found == [(newest,)]
    assert await _window("ticket") == made[-SIZE:]

    # A deletion leaves the window; the next tickets push the oldest ones out.
    bare = await _bare_ticket(template, title="Écran noir")
    assert (await _window("ticket"))[-1] == bare
    await Ticket.delete().where(Ticket.id == bare)
    assert bare not in await _window("ticket")
    more = [await factories.ticket(w.requester_a, title=f"Badge {i}") for i in range(3)]
    await _assert_window_is_a_suffix("ticket")
    assert more[-1] in await _window("ticket")

    # A ticket imported with an id older than the window stays out of it (else the window
    # would claim every id from there on); the search still finds it, below the window.
    await Ticket.delete().where(Ticket.id == hole)
    await Ticket.insert(Ticket(**{**template, "id": hole, "title": "Imprimante importée"}))
    await _assert_window_is_a_suffix("ticket")
    assert hole not in await _window("ticket")
    rows = (await search_tickets(w.tech, SearchFilters(text="importée"))).rows
    assert [r["id"] for r in rows] == [hole]

    # Follow-ups have their window too.
    for i in range(9):
        await tickets.add_follow_up(
            w.tech, newest, NewFollowUp(text=f"Relance {i}", private=False, minutes=0)
        )
    await _assert_window_is_a_suffix("follow_up")

    # reindex-search fills the windows anew, of the same rows.
    before = await _window("ticket"), await _window("follow_up")
    await _sql("DELETE FROM ticket_fts_recent")
    await reindex()
    assert (await _window("ticket"), await _window("follow_up")) == before


@pytest.mark.parametrize("candidates", [3, 8, 40])
async def test_a_search_gives_the_newest_visible_matches_across_the_window(
    monkeypatch: pytest.MonkeyPatch, candidates: int
) -> None:
    """Tickets matching by title or by a follow-up, visible to some viewers only, spread
    over the window and below it: whatever the number of candidates, each viewer gets the
    newest of what they may see, counted once, as with a window holding everything."""
    await _set_size(SIZE)
    monkeypatch.setattr(search_module, "CANDIDATES", candidates)
    w = await factories.world()
    rng = random.Random(11)
    authors = [w.requester_a, w.colleague_a, w.requester_b]
    matching: set[int] = set()
    for i in range(30):
        by_title = rng.random() < 0.5
        ticket_id = await factories.ticket(
            authors[i % 3],
            title=f"Imprimante {i}" if by_title else f"Poste {i}",
            description="bourrage papier",
            shared="on" if rng.random() < 0.5 else "",
        )
        if by_title:
            matching.add(ticket_id)
        elif rng.random() < 0.5:
            await tickets.add_follow_up(
                w.tech,
                ticket_id,
                NewFollowUp(text="L'imprimante est réparée", private=False, minutes=0),
            )
            matching.add(ticket_id)
    viewers = [w.tech, w.requester_a, w.colleague_a, w.requester_b]
    windowed = {}
    for viewer in viewers:
        visible = await _expected(viewer) & matching
        results = await search_tickets(viewer, SearchFilters(text="imprimante", per_page=100))
        found = [r["id"] for r in results.rows]
        assert len(found) == len(set(found)), viewer
        # Each source gives its newest visible matches; a ticket counts once.
        assert set(sorted(visible, reverse=True)[:candidates]) <= set(found), viewer
        assert set(found) <= visible, viewer
        windowed[viewer.id] = set(found)
    await _set_size(1_000_000)
    await reindex()
    for viewer in viewers:
        results = await search_tickets(viewer, SearchFilters(text="imprimante", per_page=100))
        assert {r["id"] for r in results.rows} == windowed[viewer.id], viewer
