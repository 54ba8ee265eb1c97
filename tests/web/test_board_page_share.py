"""The board page's columns are read and rendered once per effective view and shared between
requests (``views.board.shared_columns_html``): never shown to a viewer who may not see
them, never stale after a change."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from server.realtime import snapshots
from tests import factories
from tests.web.test_live import move, session_of, use


@pytest.fixture
def reuse_long(monkeypatch: pytest.MonkeyPatch) -> None:
    # However slow the machine, the next request comes within the reuse window.
    monkeypatch.setattr(snapshots, "REUSE_SECONDS", 600.0)


def reads(client: AsyncTestClient) -> int:
    return snapshots.share_of(client.app.state.hub).reads


def column_of(page: str, status: str) -> str:
    start = page.index(f'id="cards-{status}"')
    return page[start : page.index("</section>", start)]


async def test_requests_of_one_view_share_one_read(
    client: AsyncTestClient, reuse_long: None
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Écran noir")
    tech = await session_of(client, "tech@desk.test")
    before = reads(client)
    pages = []
    for _ in range(3):
        use(client, tech)
        response = await client.get("/board")
        assert response.status_code == 200
        pages.append(response.text)
    assert reads(client) - before == 1
    assert f'id="card-{ticket_id}"' in column_of(pages[0], "new")
    assert pages[0] == pages[1] == pages[2]
    # Another filter is another view.
    use(client, tech)
    assert (await client.get("/board?priority=high")).status_code == 200
    assert reads(client) - before == 2


async def test_a_shared_render_never_reaches_another_access_scope(
    client: AsyncTestClient, reuse_long: None
) -> None:
    w = await factories.world()
    # Not shared with the establishment: only their requester (and the desk) may see them.
    alices = await factories.ticket(w.requester_a, title="Badge refusé", shared=False)
    colettes = await factories.ticket(w.colleague_a, title="Souris cassée", shared=False)
    common = await factories.ticket(w.colleague_a, title="Wi-Fi du service")
    brunos = await factories.ticket(w.requester_b, title="Scanner muet")
    alice = await session_of(client, "alice@chu-a.test")
    colette = await session_of(client, "colette@chu-a.test")
    bruno = await session_of(client, "bruno@clinique-b.test")
    tech = await session_of(client, "tech@desk.test")
    seen = {}
    for name, jar in (("tech", tech), ("alice", alice), ("colette", colette), ("bruno", bruno)):
        use(client, jar)
        response = await client.get("/board")
        assert response.status_code == 200
        seen[name] = response.text
    # Same role, same establishment, same filters: still each one's own tickets only.
    assert f'id="card-{alices}"' in seen["alice"]
    assert f'id="card-{colettes}"' not in seen["alice"]
    assert f'id="card-{colettes}"' in seen["colette"]
    assert f'id="card-{alices}"' not in seen["colette"]
    assert f'id="card-{common}"' in seen["alice"]  # shared with her establishment
    assert f'id="card-{brunos}"' in seen["bruno"]
    assert f'id="card-{common}"' not in seen["bruno"]
    assert f'id="card-{alices}"' not in seen["bruno"]
    # The desk's board offers moves; a requester's never does.
    assert "card-menu" in seen["tech"]
    assert all("card-menu" not in seen[name] for name in ("alice", "colette", "bruno"))


async def test_the_page_after_a_change_shows_it(client: AsyncTestClient, reuse_long: None) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Imprimante bloquée")
    tech = await session_of(client, "tech@desk.test")
    use(client, tech)
    first = (await client.get("/board")).text
    assert f'id="card-{ticket_id}"' in column_of(first, "new")
    response = await move(client, tech, ticket_id, "assigned", 1)
    assert response.status_code == 200
    before = reads(client)
    use(client, tech)
    after = (await client.get("/board")).text
    assert reads(client) - before == 1  # read again, not the render from before the move
    assert f'id="card-{ticket_id}"' in column_of(after, "assigned")
    assert f'id="card-{ticket_id}"' not in column_of(after, "new")
