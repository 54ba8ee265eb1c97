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
from server.db.tables import FollowUp, Ticket, TicketShare
from server.domain.forms import NewFollowUp
from server.domain.vocabulary import Role
from server.services import tickets
from server.services.scheduler import Scheduler
from server.settings import get_settings
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.integration.test_search_access import _expected, _random_change
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
    # PostgreSQL: staff go below the window by walking back (0.0) or by the GIN index
    # (2.0), as the window's share of matches decides; both must give the same page.
    shares = [0.0, 2.0] if IS_POSTGRES else [None]

    async def found_by(viewer: Any) -> list[int]:
        pages = []
        for share in shares:
            rows, *_ = await _searched(monkeypatch, viewer, f, dense, dense_share=share)
            pages.append([r[0] for r in rows])
        assert all(page == pages[0] for page in pages), (viewer, pages)
        return pages[0]

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


async def _window_words() -> list[tuple[str, int, int, set[str]]]:
    """Each window row (SQLite): its table, id, ticket and access words."""
    rows = []
    for table, ticket in (("ticket", "ticket.id"), ("follow_up", "follow_up.ticket")):
        rows += [
            (table, row_id, ticket_id, set(words.split()))
            for row_id, ticket_id, words in await _sql(
                f"SELECT w.rowid, {ticket}, w.access FROM {table}_fts_recent AS w "
                f"JOIN {table} ON {table}.id = w.rowid"
            )
        ]
    return rows


async def _words_of_tickets() -> dict[int, set[str]]:
    """Who may see each ticket through a requester's branch of the policy, as two words:
    its requester, and its establishment when shared there (else "s0")."""
    return {
        t["id"]: {f"r{t['requester']}", f"s{t['establishment'] if t['shared'] else 0}"}
        for t in await Ticket.select(
            Ticket.id, Ticket.requester, Ticket.establishment, Ticket.shared
        )
    }


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's windows carry access words")
async def test_window_rows_carry_the_words_of_who_may_see_them_through_random_changes(
    monkeypatch: pytest.MonkeyPatch, window_size: SetSize
) -> None:
    """The words that narrow a requester's walk through the window (the migration "who may
    see each row, as words of the search windows") follow every change of who may see a
    ticket, for the ticket's row and its follow-ups' rows; and a requester's search finds
    with them exactly what it finds without them, scores included."""
    await window_size(30)
    rng = random.Random(5)
    w = await factories.world()
    requesters = [w.requester_a, w.colleague_a, w.requester_b]
    ids = []
    for i in range(40):
        ids.append(
            await factories.ticket(
                rng.choice(requesters),
                title=f"Imprimante {i}" if i % 2 else f"Poste {i}",
                description="bourrage papier",
                shared="on" if rng.random() < 0.5 else "",
            )
        )
        if rng.random() < 0.5:
            await tickets.add_follow_up(
                w.tech, ids[-1], NewFollowUp(text="L'imprimante chauffe", private=False, minutes=0)
            )
    follow_ups = [f["id"] for f in await FollowUp.select(FollowUp.id)]
    shares = set()
    f = SearchFilters(text="imprimante", per_page=100)
    for _round in range(5):
        for _ in range(15):
            if rng.random() < 0.2:  # a follow-up moved to another ticket
                await FollowUp.update({FollowUp.ticket: rng.choice(ids)}).where(
                    FollowUp.id == rng.choice(follow_ups)
                )
            else:
                await _random_change(rng, w, ids)
        expected = await _words_of_tickets()
        rows = await _window_words()
        assert {table for table, *_ in rows} == {"ticket", "follow_up"}
        for table, row_id, ticket_id, words in rows:
            assert words == expected[ticket_id], (table, row_id)
        for viewer in requesters:
            viewer = await factories.reload(viewer.id)
            shares.add(await TicketShare.exists().where(TicketShare.user == viewer.id))
            narrowed = await search_tickets(viewer, f)
            monkeypatch.setattr(search_module, "access_words", lambda _actor: None)
            walked = await search_tickets(viewer, f)
            monkeypatch.undo()
            assert narrowed.rows, viewer
            assert [(r["id"], r["score"]) for r in narrowed.rows] == [
                (r["id"], r["score"]) for r in walked.rows
            ], viewer
    assert shares == {True, False}  # both ways were searched
    # reindex-search gives the same words.
    before = await _window_words()
    await reindex()
    assert await _window_words() == before


_COPIED = (
    "requester, establishment, shared, assigned_group, assignee, status, category, created_at"
)


async def _window_columns() -> dict[int, tuple]:
    rows = await _sql(f"SELECT id, search::text, {_COPIED} FROM ticket_recent_search")
    return {r[0]: r[1:] for r in rows}


async def _ticket_columns() -> dict[int, tuple]:
    rows = await _sql(f"SELECT id, search::text, {_COPIED} FROM ticket")
    return {r[0]: r[1:] for r in rows}


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's window copies the ticket's columns")
async def test_window_rows_carry_the_tickets_access_and_filter_columns_through_random_changes(
    window_size: SetSize,
) -> None:
    """What a staff search tests in the window (the migration "the search window carries
    the access and filter columns") is the ticket's own: through random changes of who may
    see a ticket, of its status, category and text, and after ``reindex-search``."""
    await window_size(30)
    rng = random.Random(11)
    w = await factories.world()
    requesters = [w.requester_a, w.colleague_a, w.requester_b]
    category = await factories.category("Imprimantes")
    ids = [
        await factories.ticket(rng.choice(requesters), title=f"Imprimante {i}")
        for i in range(40)
    ]
    for _round in range(4):
        for _ in range(15):
            if rng.random() < 0.15:
                await Ticket.update({Ticket.category: rng.choice([category, None])}).where(
                    Ticket.id == rng.choice(ids)
                )
            elif rng.random() < 0.1:
                await Ticket.update({Ticket.title: f"Scanner {rng.random()}"}).where(
                    Ticket.id == rng.choice(ids)
                )
            else:
                await _random_change(rng, w, ids)
        window, rows = await _window_columns(), await _ticket_columns()
        assert len(window) >= 30
        for ticket_id, columns in window.items():
            assert columns == rows[ticket_id], ticket_id
    await reindex()
    window, rows = await _window_columns(), await _ticket_columns()
    assert len(window) == 30
    assert window == {ticket_id: rows[ticket_id] for ticket_id in window}


async def test_typed_words_are_not_matched_in_the_access_column() -> None:
    """A technician searching "r12" finds the tickets that say "r12", not those requester
    12 opened (SQLite's access words are in the window's own column, out of the user's
    reach), accents or not (SQLite folds them); nor does a requester, whose search adds
    access words of their own. PostgreSQL has no such words: the same answers."""
    w = await factories.world()
    said = await factories.ticket(w.requester_a, title=f"Borne r{w.requester_b.id} en panne")
    shared = await factories.ticket(w.requester_b, title="Borne en panne", shared="on")
    word = f"r{w.requester_b.id}"
    accented = () if IS_POSTGRES else (f"ŕ{w.requester_b.id}",)  # FTS5 folds accents
    for text in (word, *accented, f"borne {word}"):
        found = await search_tickets(w.tech, SearchFilters(text=text))
        assert [r["id"] for r in found.rows] == [said], text
    mine = await search_tickets(w.requester_b, SearchFilters(text=word))
    assert mine.rows == []  # "r12" is not in what they may see
    found = await search_tickets(w.requester_b, SearchFilters(text="borne"))
    assert [r["id"] for r in found.rows] == [shared]


async def _segments(table: str) -> int:
    return (await _sql(f"SELECT count(DISTINCT segid) FROM {table}_fts_recent_idx"))[0][0]


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's FTS5 windows are compacted")
async def test_the_scheduler_compacts_a_fragmented_window_and_the_search_keeps_its_answers(
    monkeypatch: pytest.MonkeyPatch, window_size: SetSize
) -> None:
    """Each new row pushes the window's oldest out, and FTS5 keeps each deletion as a mark
    in a newer segment: the scheduler merges a window's segments, a bounded step per pass,
    once there are more than COMPACT_ABOVE; the answers stay the same."""
    await window_size(20)
    monkeypatch.setattr(search_module, "COMPACT_ABOVE", 2)
    w = await factories.world()
    for i in range(60):
        ticket_id = await factories.ticket(w.requester_a, title=f"Imprimante {i}", shared="on")
        await tickets.add_follow_up(
            w.tech, ticket_id, NewFollowUp(text=f"Imprimante vue ({i})", private=False, minutes=0)
        )
    assert await _segments("ticket") > 2 and await _segments("follow_up") > 2
    f = SearchFilters(text="imprimante", per_page=100)
    before = {
        viewer.id: [(r["id"], r["score"]) for r in (await search_tickets(viewer, f)).rows]
        for viewer in (w.tech, w.requester_a, w.colleague_a)
    }
    passes = 0
    while await _segments("ticket") > 2 or await _segments("follow_up") > 2:
        await Scheduler(get_settings(), _no_publish).run_once()
        passes += 1
        assert passes < 20
    assert await _segments("ticket") == 1 and await _segments("follow_up") == 1
    assert await search_module.compact_windows() == 0  # nothing more to do
    for table in ("ticket", "follow_up"):
        window, ids = await _window(table), await _ids(table)
        assert window == ids[-20:], table
    for viewer in (w.tech, w.requester_a, w.colleague_a):
        after = [(r["id"], r["score"]) for r in (await search_tickets(viewer, f)).rows]
        assert after == before[viewer.id] and after, viewer


async def _no_publish(_message: dict[str, Any]) -> None:
    return None
