"""Board snapshots shared by viewers of the same view (a restart reconnects every browser at
once): one read and render for all of them, never a stale one after a change."""

from __future__ import annotations

import asyncio

import pytest
from litestar.testing import AsyncTestClient

from server.realtime import snapshots
from server.realtime.bus import RESYNC
from tests import factories
from tests.web.test_live import connect, in_app, move, receive, session_of


@pytest.fixture
def reuse_long(monkeypatch: pytest.MonkeyPatch) -> None:
    # However slow the machine, the second viewer connects within the reuse window.
    monkeypatch.setattr(snapshots, "REUSE_SECONDS", 600.0)


def reads(client: AsyncTestClient) -> int:
    return snapshots.share_of(client.app.state.hub).reads


async def test_viewers_of_one_view_share_one_snapshot_read(
    client: AsyncTestClient, reuse_long: None
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Écran noir")
    tech = await session_of(client, "tech@desk.test")
    alice = await session_of(client, "alice@chu-a.test")
    before = reads(client)
    first = await connect(client, tech, "view=board")
    second = await connect(client, tech, "view=board")
    other = await connect(client, alice, "view=board")
    with first, second, other:
        one, two = receive(first), receive(second)
        assert f'id="card-{ticket_id}"' in one
        # Same columns for both (the bell that rides along is per socket).
        assert one[one.index('id="board-columns"') :] == two[two.index('id="board-columns"') :]
        assert "card-menu" not in receive(other)  # a requester's own view, not the desk's
        assert reads(client) - before == 2  # the technician's view once, the requester's once

        # Both still follow changes, counted from the shared snapshot.
        response = await move(client, tech, ticket_id, "assigned", 1)
        assert response.status_code == 200
        for ws in (first, second):
            pushed = receive(ws)
            assert 'id="count-assigned" hx-swap-oob="true">1<' in pushed
            assert 'id="count-new" hx-swap-oob="true">0<' in pushed


async def test_a_change_since_a_snapshot_gets_a_fresh_one(
    client: AsyncTestClient, reuse_long: None
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Imprimante bloquée")
    tech = await session_of(client, "tech@desk.test")
    first = await connect(client, tech, "view=board")
    with first:
        assert 'id="count-assigned" hx-swap-oob="true">0<' not in receive(first)
        await move(client, tech, ticket_id, "assigned", 1)
        receive(first)  # the move's push
        before = reads(client)
        late = await connect(client, tech, "view=board")
        with late:
            snapshot = receive(late)
            assert reads(client) - before == 1
            assert 'id="cards-assigned"' in snapshot
            column = snapshot[snapshot.index('id="cards-assigned"') :]
            assert f'id="card-{ticket_id}"' in column[: column.index("</section>")]


async def test_a_resync_never_reuses_an_earlier_snapshot(
    client: AsyncTestClient, reuse_long: None
) -> None:
    w = await factories.world()
    tech = await session_of(client, "tech@desk.test")
    ws = await connect(client, tech, "view=board")
    with ws:
        receive(ws)
        # Written while the bus was away: no event, only a resync tells the viewers.
        await factories.ticket(w.requester_a, title="Arrivé pendant la coupure")
        await in_app(client, client.app.state.bus.deliver, RESYNC)
        assert "Arrivé pendant la coupure" in receive(ws)


async def test_a_failed_read_is_not_kept_for_the_next_viewer() -> None:
    share = snapshots.SnapshotShare()
    calls = 0

    async def broken() -> snapshots.Snapshot:
        nonlocal calls
        calls += 1
        raise RuntimeError("database away")

    async def fine() -> snapshots.Snapshot:
        return snapshots.Snapshot("<div></div>", {}, 0, 0)

    with pytest.raises(RuntimeError):
        await share.get(("view",), 0, broken)
    await asyncio.sleep(0)  # the done-callback runs
    assert (await share.get(("view",), 0, fine)).html == "<div></div>"
    assert calls == 1 and share.reads == 2


async def test_a_viewer_leaving_does_not_cancel_the_others_snapshot() -> None:
    share = snapshots.SnapshotShare()
    release = asyncio.Event()

    async def slow() -> snapshots.Snapshot:
        await release.wait()
        return snapshots.Snapshot("<div>ok</div>", {}, 3, 3)

    leaver = asyncio.create_task(share.get(("view",), 3, slow))
    stayer = asyncio.create_task(share.get(("view",), 3, slow))
    await asyncio.sleep(0)
    leaver.cancel()
    release.set()
    assert (await asyncio.wait_for(stayer, timeout=30)).html == "<div>ok</div>"
    assert share.reads == 1
