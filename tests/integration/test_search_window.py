"""A search finds its newest matches in a window of the newest rows first (the migrations
"a window of the newest rows of the search indexes" on SQLite, for tickets and follow-ups,
and "... of the newest tickets' search vectors" on PostgreSQL, for tickets). The triggers
keep every row from the window's oldest id on in it, through creations, edits, deletions
and imports of old ids; and a search finds exactly the newest visible matches whether they
lie in the window, below it, or on both sides."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from server.db import search as search_module
from server.db.search import SearchFilters, reindex, search_tickets, trim_window
from server.db.tables import Ticket
from server.domain.forms import NewFollowUp
from server.domain.vocabulary import Role
from server.services import tickets
from server.services.scheduler import Scheduler
from server.settings import get_settings
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.integration.test_search_access import _expected
from tests.integration.test_search_pg_plans import _searched

SIZE = 6


async def _sql(sql: str, *args: object) -> list[tuple]:
    """Plain SQL (the windows are no Piccolo tables), placeholders as ``{}``."""
    return [tuple(r.values()) for r in await Ticket.raw(sql, *args)]


async def _window(table: str) -> list[int]:
    if IS_POSTGRES:
        assert table == "ticket"  # PostgreSQL walks follow-ups as before
        rows = await _sql("SELECT id FROM ticket_recent_search ORDER BY id")
    else:
        rows = await _sql(f"SELECT rowid FROM {table}_fts_recent ORDER BY rowid")
    return [r[0] for r in rows]


async def _ids(table: str) -> list[int]:
    return [r[0] for r in await _sql(f"SELECT id FROM {table} ORDER BY id")]


SetSize = Callable[[int], Coroutine[Any, Any, None]]


@pytest.fixture
async def window_size() -> AsyncIterator[SetSize]:
    """Sets the window's size; gives the migration's back (PostgreSQL keeps the row between
    tests, SQLite starts each from a fresh copy)."""
    before = (await _sql("SELECT size FROM search_window"))[0][0]

    async def set_size(size: int) -> None:
        await _sql("UPDATE search_window SET size = {}", size)

    yield set_size
    await set_size(before)


async def _assert_window_is_a_suffix(table: str) -> None:
    """The window holds every row from its oldest id on, and no more than ``SIZE`` ids (on
    PostgreSQL once a scheduler pass has trimmed it, on SQLite at once)."""
    await trim_window()
    window, ids = await _window(table), await _ids(table)
    assert window, table
    assert window == [i for i in ids if i >= window[0]], table
    assert window[-1] - window[0] < SIZE, table


async def _scheduler_pass() -> None:
    """What trims PostgreSQL's window: the scheduler's pass (its other jobs find nothing)."""

    async def publish(_message: dict[str, Any]) -> None:
        return None

    await Scheduler(get_settings(), publish).run_once()
    window, ids = await _window("ticket"), await _ids("ticket")
    assert len(window) <= SIZE and window == ids[-len(window) :]


async def _bare_ticket(template: dict, **fields: object) -> int:
    """A ticket row alone, without history: Guichet never deletes a ticket, but the window
    must follow one deleted by hand, and tickets imported with their old numbers."""
    row = {k: v for k, v in template.items() if k not in ("id", "search")}
    [created] = await Ticket.insert(Ticket(**{**row, **fields})).returning(Ticket.id)
    return created["id"]


async def _matching_in_window(word: str) -> list[int]:
    if IS_POSTGRES:
        sql = "SELECT id FROM ticket_recent_search WHERE search @@ to_tsquery('guichet_fr', {})"
    else:
        sql = "SELECT rowid FROM ticket_fts_recent WHERE ticket_fts_recent MATCH {}"
    return [r[0] for r in await _sql(sql, word)]


async def test_the_window_follows_creations_edits_deletions_and_old_imports(
    window_size: SetSize,
) -> None:
    await window_size(SIZE)
    w = await factories.world()
    first = await factories.ticket(w.requester_a, title="Scanner")
    template = (await Ticket.select().where(Ticket.id == first))[0]
    hole = await _bare_ticket(template, title="Scanner")
    made = [await factories.ticket(w.requester_a, title=f"Scanner {i}") for i in range(10)]
    await _assert_window_is_a_suffix("ticket")
    assert await _window("ticket") == made[-SIZE:]
    # On PostgreSQL creations do not wait on each other for the window: no row leaves it
    # with a new ticket (a scheduler pass trims it), so none is locked by two creations.
    together = await asyncio.gather(
        *(factories.ticket(w.requester_b, title=f"Scanner {i}") for i in range(8))
    )
    await _scheduler_pass()
    await _assert_window_is_a_suffix("ticket")
    assert await _window("ticket") == sorted(together)[-SIZE:]
    made += sorted(together)

    # An edit is indexed again in the window; a row below it stays out of it.
    newest, oldest = made[-1], made[0]
    await Ticket.update({Ticket.title: "Lecteur de badges"}).where(Ticket.id == newest)
    await Ticket.update({Ticket.title: "Lecteur de badges"}).where(Ticket.id == oldest)
    assert await _matching_in_window("badges") == [newest]
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
    row = {k: v for k, v in template.items() if k != "search"}
    await Ticket.insert(Ticket(**{**row, "id": hole, "title": "Imprimante importée"}))
    await _assert_window_is_a_suffix("ticket")
    assert hole not in await _window("ticket")
    rows = (await search_tickets(w.tech, SearchFilters(text="importée"))).rows
    assert [r["id"] for r in rows] == [hole]

    if not IS_POSTGRES:  # SQLite's follow-ups have their window too
        for i in range(9):
            await tickets.add_follow_up(
                w.tech, newest, NewFollowUp(text=f"Relance {i}", private=False, minutes=0)
            )
        await _assert_window_is_a_suffix("follow_up")

    # reindex-search fills the windows anew, of the same rows.
    tables = ("ticket",) if IS_POSTGRES else ("ticket", "follow_up")
    before = [await _window(t) for t in tables]
    await _sql(
        "DELETE FROM ticket_recent_search" if IS_POSTGRES else "DELETE FROM ticket_fts_recent"
    )
    await reindex()
    assert [await _window(t) for t in tables] == before


@pytest.mark.parametrize("candidates", [3, 8, 40])
async def test_a_search_gives_the_newest_visible_matches_across_the_window(
    monkeypatch: pytest.MonkeyPatch, window_size: SetSize, candidates: int
) -> None:
    """Tickets matching by title or by a follow-up, visible to some viewers only, spread
    over the window and below it: whatever the number of candidates, each viewer gets the
    newest of what they may see, counted once, as with a window holding everything. On
    PostgreSQL the walk is forced (on a few rows it would read the GIN index instead); a
    supervisor of one establishment is the staff scope that leaves some tickets out."""
    await window_size(SIZE)
    monkeypatch.setattr(search_module, "CANDIDATES", candidates)
    w = await factories.world()
    narrow = await factories.user("sup-b@desk.test", Role.SUPERVISOR, w.est_b, "Sam Sup")
    await factories.scope(narrow.id, w.est_b)
    narrow = await factories.reload(narrow.id)
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
    await trim_window()  # a scheduler pass (PostgreSQL; SQLite's triggers trim at once)
    viewers = [w.tech, narrow, w.requester_a, w.colleague_a, w.requester_b]
    f = SearchFilters(text="imprimante", per_page=100)
    dense = (True, True) if IS_POSTGRES else None

    async def found_by(viewer: Any) -> list[int]:
        rows, *_ = await _searched(monkeypatch, viewer, f, dense)
        return [r[0] for r in rows]

    windowed = {}
    for viewer in viewers:
        visible = await _expected(viewer) & matching
        found = await found_by(viewer)
        assert len(found) == len(set(found)), viewer
        # Each source gives its newest visible matches; a ticket counts once.
        assert set(sorted(visible, reverse=True)[:candidates]) <= set(found), viewer
        assert set(found) <= visible, viewer
        windowed[viewer.id] = set(found)
    # Some of what the narrow scope found lies below the window.
    oldest_in_window = (await _window("ticket"))[0]
    assert any(t < oldest_in_window for t in windowed[narrow.id])
    await window_size(1_000_000)
    await reindex()
    for viewer in viewers:
        assert set(await found_by(viewer)) == windowed[viewer.id], viewer
