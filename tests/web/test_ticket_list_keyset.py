"""Ticket lists paged by keyset ("next" / "previous" by sort position, never OFFSET): every
ticket exactly once in every sort, ties included, both ways; totals capped as "N+"."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.db import queries
from server.db.sla_tables import TicketSla
from server.db.tables import Ticket
from tests import factories

HTMX = {"hx-request": "true", "hx-target": "ticket-list"}


async def tickets_with_ties(w: factories.World, count: int = 13) -> list[int]:
    ids = [
        await factories.ticket(
            w.requester_a, title=f"Poste {i:02d}", priority=["high", "low", "medium"][i % 3]
        )
        for i in range(count)
    ]
    # Several tickets created (and updated) at the same instant: the id must break the tie.
    same = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    for n, ticket_id in enumerate(ids):
        moment = same if n % 4 == 0 else same + timedelta(minutes=n)
        await Ticket.update({Ticket.created_at: moment, Ticket.updated_at: moment}).where(
            Ticket.id == ticket_id
        )
    return ids


@pytest.mark.parametrize("sort", sorted(queries.KEYSET_SORTS))
async def test_keyset_pages_walk_every_ticket_once_both_ways(sort: str) -> None:
    w = await factories.world()
    await tickets_with_ties(w)
    base = queries.TicketFilters(tab="all", sort=sort, per_page=100)
    # The reference order: the same sort in one page (no cursor).
    everything = [r["id"] for r in (await queries.list_tickets(w.tech, base)).rows]
    assert len(everything) == 13

    small = replace(base, per_page=4)
    forward: list[list[int]] = []
    page = await queries.list_tickets(w.tech, small)
    assert page.keyset and not page.previous_cursor
    while True:
        forward.append([r["id"] for r in page.rows])
        if not page.next_cursor:
            break
        page = await queries.list_tickets(w.tech, replace(small, after=page.next_cursor))
        assert page.previous_cursor
    assert [i for p in forward for i in p] == everything
    assert [len(p) for p in forward] == [4, 4, 4, 1]

    backward: list[list[int]] = []
    while page.previous_cursor:
        page = await queries.list_tickets(w.tech, replace(small, before=page.previous_cursor))
        backward.append([r["id"] for r in page.rows])
        assert page.next_cursor
    assert backward == forward[-2::-1]


async def test_list_pager_links_follow_cursors_and_count_past_the_cap(
    client: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "COUNT_AHEAD", 10)
    w = await factories.world()
    await tickets_with_ties(w, count=30)
    await factories.login(client, "tech@desk.test")
    first = await client.get("/tickets?sort=oldest&tab=all", headers=HTMX)
    assert first.status_code == 200
    assert "10+ tickets" in first.text
    assert 'rel="prev"' not in first.text
    link = unescape(re.search(r'rel="next" href="([^"]+)"', first.text).group(1))
    assert "after=" in link and not re.search(r"[?&]page=\d", link)
    second = await client.get(link, headers=HTMX)
    assert second.status_code == 200
    titles = re.findall(r"Poste \d\d", second.text)
    assert len(titles) == 5 and not set(titles) & set(re.findall(r"Poste \d\d", first.text))
    back = unescape(re.search(r'rel="prev" href="([^"]+)"', second.text).group(1))
    again = await client.get(back, headers=HTMX)
    assert re.findall(r"Poste \d\d", again.text) == re.findall(r"Poste \d\d", first.text)


async def test_a_broken_page_link_is_a_translated_422(client: AsyncTestClient) -> None:
    await factories.world()
    await factories.login(client, "tech@desk.test")
    for query in ("after=abc", "before=1_2_3_4", "sort=due&after=x_2", "sort=due&before=1_2_3"):
        response = await client.get(f"/tickets?{query}")
        assert response.status_code == 422, query
        # In the reader's language (French for this technician, English otherwise).
        assert "plus valable" in response.text or "no longer valid" in response.text


async def _due_times_with_ties_and_nulls(w: factories.World, count: int = 14) -> dict[int, Any]:
    """Tickets whose next due time ties with others', or is NULL (clock met, or no SLA row
    at all): the id must order each group on both engines, NULLs last."""
    ids = [await factories.ticket(w.requester_a, title=f"Poste {i:02d}") for i in range(count)]
    await TicketSla.delete().where(TicketSla.ticket.is_in(ids))
    base = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    due: dict[int, Any] = {}
    for n, ticket_id in enumerate(ids):
        if n % 5 == 4:
            due[ticket_id] = None  # no SLA row
            continue
        # Every third ticket shares one instant; others are spread out (some on whole seconds).
        at = base if n % 3 == 0 else base + timedelta(minutes=n, microseconds=n % 2 * 250)
        met = n % 7 == 6  # both clocks met: no running clock, sorted with the NULLs
        await TicketSla.insert(
            TicketSla(
                ticket=ticket_id,
                take_due_at=at - timedelta(hours=1) if n % 2 else None,
                take_met_at=at - timedelta(hours=2) if n % 2 else None,
                resolve_due_at=at,
                resolve_met_at=at if met else None,
            )
        )
        due[ticket_id] = None if met else at
    return due


async def test_due_sort_pages_by_keyset_with_ties_and_nulls_both_ways() -> None:
    w = await factories.world()
    due = await _due_times_with_ties_and_nulls(w)
    base = queries.TicketFilters(tab="all", sort="due", per_page=100)
    everything = [r["id"] for r in (await queries.list_tickets(w.tech, base)).rows]
    # Independent of the database: due time first (NULLs last), then the id, newest first.
    far = datetime(9999, 1, 1, tzinfo=UTC)
    assert everything == sorted(due, key=lambda i: (due[i] or far, -i))
    assert sum(1 for d in due.values() if d is None) >= 3
    assert len(set(due.values())) < len(due) - 3, "ties must be exercised"

    small = replace(base, per_page=3)
    forward: list[list[int]] = []
    page = await queries.list_tickets(w.tech, small)
    assert page.keyset and not page.previous_cursor
    while True:
        forward.append([r["id"] for r in page.rows])
        if not page.next_cursor:
            break
        page = await queries.list_tickets(w.tech, replace(small, after=page.next_cursor))
    assert [i for p in forward for i in p] == everything
    assert [len(p) for p in forward] == [3, 3, 3, 3, 2]

    backward: list[list[int]] = []
    while page.previous_cursor:
        page = await queries.list_tickets(w.tech, replace(small, before=page.previous_cursor))
        backward.append([r["id"] for r in page.rows])
    assert backward == forward[-2::-1]


async def test_old_page_links_are_served_up_to_a_cap_then_go_on_by_cursor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queries, "MAX_OLD_PAGE", 3)
    w = await factories.world()
    await tickets_with_ties(w, count=30)
    for sort in ("due", "newest"):
        base = queries.TicketFilters(tab="all", sort=sort, per_page=100)
        everything = [r["id"] for r in (await queries.list_tickets(w.tech, base)).rows]
        small = replace(base, per_page=4)
        second = await queries.list_tickets(w.tech, replace(small, page=2))
        assert [r["id"] for r in second.rows] == everything[4:8]
        assert second.keyset and second.previous_cursor and second.next_cursor
        # Past the cap, the deepest page served (a bounded OFFSET, whatever the table size).
        deep = await queries.list_tickets(w.tech, replace(small, page=500))
        assert [r["id"] for r in deep.rows] == everything[8:12]
        after = await queries.list_tickets(w.tech, replace(small, after=deep.next_cursor))
        assert [r["id"] for r in after.rows] == everything[12:16]
        before = await queries.list_tickets(w.tech, replace(small, before=deep.previous_cursor))
        assert [r["id"] for r in before.rows] == everything[4:8]


async def test_an_old_page_link_opens_with_cursor_links(client: AsyncTestClient) -> None:
    w = await factories.world()
    await _due_times_with_ties_and_nulls(w, count=60)
    await factories.login(client, "tech@desk.test")
    response = await client.get("/tickets?sort=due&tab=all&page=2", headers=HTMX)
    assert response.status_code == 200
    assert len(re.findall(r"Poste \d\d", response.text)) == 25
    for rel in ("prev", "next"):
        link = unescape(re.search(rf'rel="{rel}" href="([^"]+)"', response.text).group(1))
        assert ("before=" if rel == "prev" else "after=") in link
        assert not re.search(r"[?&]page=\d", link)
        assert (await client.get(link, headers=HTMX)).status_code == 200


async def test_a_page_holds_its_tickets_in_sort_order_with_their_names() -> None:
    """The page's tickets are chosen, then given their names (apart on PostgreSQL): the rows
    keep the sort's order, checked against the tickets sorted here, and carry every name."""
    w = await factories.world()
    ids = await tickets_with_ties(w)
    await Ticket.update({Ticket.assignee: w.tech.id}).where(Ticket.id == ids[2])
    rows = await Ticket.select(Ticket.id, Ticket.created_at).where(Ticket.id.is_in(ids))
    newest = sorted(rows, key=lambda r: (r["created_at"], r["id"]), reverse=True)
    f = queries.TicketFilters(tab="all", sort="newest", per_page=5)
    page = await queries.list_tickets(w.tech, f)
    assert [r["id"] for r in page.rows] == [r["id"] for r in newest[:5]]
    second = await queries.list_tickets(w.tech, replace(f, after=page.next_cursor))
    assert [r["id"] for r in second.rows] == [r["id"] for r in newest[5:10]]
    for row in [*page.rows, *second.rows]:
        assert row["establishment_code"] == "CHA" and row["requester_name"], row
        assert row["assignee_name"] == ("Théo Tech" if row["id"] == ids[2] else None)
    assert ids[2] in {r["id"] for r in [*page.rows, *second.rows]}
