"""Ticket list rows come from a cache (server.views.row_cache): the same HTML the row template
renders, for the right language and time zone, and never a stale row once its ticket changes."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server import i18n
from server.db import queries
from server.services import accounts
from server.views import row_cache
from server.views.fragment_cache import FragmentCache
from server.web.rendering import make_environment
from tests import factories
from tests.web.test_live import move, session_of, use


async def test_cached_rows_are_the_rows_the_template_renders_in_every_language() -> None:
    w = await factories.world()
    for i in range(4):
        await factories.ticket(w.requester_a, title=f"Écran {i} <noir>")
    env = make_environment()
    template = env.get_template("tickets/_row.html")
    page = await queries.list_tickets(w.tech, queries.TicketFilters(tab="all"))
    assert len(page.rows) == 4
    seen = set()
    for locale in i18n.SUPPORTED:
        i18n.set_locale(locale)
        for row in page.rows:
            for selectable in (True, False):
                cached = row_cache.html(env, row, selectable)
                assert cached == template.render(t=row, selectable=selectable)
                assert row_cache.html(env, row, selectable) is cached  # the second time: reused
                seen.add(str(cached))
    i18n.set_locale(i18n.DEFAULT)
    assert all("&lt;noir&gt;" in html for html in seen)  # escaped as the page escaped it
    assert len(seen) == 4 * 2 * len(i18n.SUPPORTED)  # language and selection are in the key


async def test_a_row_changes_as_soon_as_its_ticket_does(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket = await factories.ticket(w.requester_a, title="Imprimante muette")
    tech = await session_of(client, "tech@desk.test")
    before = (await client.get("/tickets?tab=all")).text
    row = before.split(f'id="row-{ticket}"', 1)[1].split("</tr>", 1)[0]
    assert "status-new" in row
    assert (await move(client, tech, ticket, "assigned", 1)).status_code == 200
    use(client, tech)
    after = (await client.get("/tickets?tab=all")).text
    row = after.split(f'id="row-{ticket}"', 1)[1].split("</tr>", 1)[0]
    assert "status-assigned" in row and "status-new" not in row


async def test_rows_follow_the_readers_time_zone(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket = await factories.ticket(w.requester_a, title="Badge refusé")
    await session_of(client, "tech@desk.test")

    def shown_time(page: str) -> str:
        row = page.split(f'id="row-{ticket}"', 1)[1].split("</tr>", 1)[0]
        return row.split("<time", 1)[1].split(">", 1)[1].split("</time>", 1)[0]

    paris = shown_time((await client.get("/tickets?tab=all")).text)
    await accounts.set_timezone(w.tech.id, "America/Montreal")
    montreal = shown_time((await client.get("/tickets?tab=all")).text)
    assert paris != montreal  # six hours apart, so the shown time differs


def test_the_key_holds_language_zone_and_minute() -> None:
    cache = FragmentCache(8)
    i18n.set_timezone("Europe/Paris")
    paris = cache.key(("row", 1), "fr", 100)
    assert cache.key(("row", 1), "en", 100) != paris
    assert cache.key(("row", 1), "fr", 101) != paris
    i18n.set_timezone("America/Montreal")
    assert cache.key(("row", 1), "fr", 100) != paris
    i18n.set_timezone(i18n.DEFAULT_ZONE)


def test_the_cache_keeps_only_its_size() -> None:
    cache = FragmentCache(3)
    for n in range(5):
        cache.html(n, "fr", lambda n=n: f"<td>{n}</td>")
    assert len(cache) == 3
    rendered = []
    cache.html(0, "fr", lambda: rendered.append(1) or "<td>0</td>")
    assert rendered == [1]  # the oldest went first
