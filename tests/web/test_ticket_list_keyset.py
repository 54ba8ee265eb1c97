"""Ticket lists paged by keyset ("next" / "previous" by sort position, never OFFSET): every
ticket exactly once in every sort, ties included, both ways; totals capped as "N+"."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from litestar.testing import AsyncTestClient

from server.db import queries
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
    for query in ("after=abc", "before=1_2_3_4", "sort=due&after=1_2"):
        response = await client.get(f"/tickets?{query}")
        assert response.status_code == 422, query
        # In the reader's language (French for this technician, English otherwise).
        assert "plus valable" in response.text or "no longer valid" in response.text
