"""The wallboard: its figures, its scope, and its live pushes over a real websocket."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from server.db.sla_tables import TicketSla
from server.domain.vocabulary import Role
from tests import factories
from tests.web.test_live import connect, move, receive, session_of


def figure(html: str, name: str) -> str:
    found = re.search(rf'id="wall-{name}">([^<]*)<', html)
    assert found, f"no figure {name}"
    return found.group(1).strip()


async def _mark(ticket_id: int, take: str = "", resolve: str = "") -> None:
    exists = await TicketSla.exists().where(TicketSla.ticket == ticket_id)
    if exists:
        await TicketSla.update(
            {TicketSla.take_state: take, TicketSla.resolve_state: resolve}
        ).where(TicketSla.ticket == ticket_id)
    else:
        await TicketSla.insert(TicketSla(ticket=ticket_id, take_state=take, resolve_state=resolve))


async def test_figures_by_status_group_service_level_and_today(client: AsyncTestClient) -> None:
    w = await factories.world()
    first = await factories.ticket(w.requester_a, title="Le plus ancien")
    second = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    third = await factories.ticket(w.requester_b)
    await _mark(second, resolve="at_risk")
    await _mark(third, take="breached", resolve="at_risk")
    sup = await session_of(client, "sup@desk.test")
    await move(client, sup, third, "resolved", 1, solution="Remplacé")
    page = await client.get("/wallboard")
    assert page.status_code == 200
    html = page.text
    assert figure(html, "open") == "2"
    assert figure(html, "status-new") == "2"
    assert figure(html, "status-assigned") == "0"
    assert figure(html, "new-today") == "3"
    assert figure(html, "resolved-today") == "1"
    assert figure(html, "at-risk") == "1"
    assert figure(html, "breached") == "0"  # the breached one is resolved: no longer open
    assert f"#{first} Le plus ancien" in html
    assert "Applications (N2)" in html  # the category routed the second ticket to the group


async def test_a_supervisor_sees_only_their_scope(client: AsyncTestClient) -> None:
    w = await factories.world()
    child_b = await factories.establishment("Annexe des Bouleaux", "CLX", parent=w.est_b)
    narrow = await factories.user("nora@desk.test", Role.SUPERVISOR, w.est_b, "Nora Scope")
    await factories.scope(narrow.id, w.est_b)
    await factories.ticket(w.requester_a, title="Chez A")
    await factories.ticket(w.requester_a, title="Encore chez A")
    at_child = await factories.user("cyril@annexe.test", Role.REQUESTER, child_b, "Cyril A")
    await factories.ticket(w.requester_b, title="Chez B")
    await factories.ticket(at_child, title="Annexe")

    await session_of(client, "nora@desk.test")
    html = (await client.get("/wallboard")).text
    assert figure(html, "open") == "2"  # B and its child, never A
    assert "Chez A" not in html and "CHA" not in html  # A is not even offered
    only_child = (await client.get(f"/wallboard?establishment={child_b}")).text
    assert figure(only_child, "open") == "1"
    refused = await client.get(f"/wallboard?establishment={w.est_a}")
    assert refused.status_code == 422
    assert "Chez A" not in refused.text

    await session_of(client, "sup@desk.test")
    assert figure((await client.get("/wallboard")).text, "open") == "4"
    await session_of(client, "alice@chu-a.test")
    assert (await client.get("/wallboard")).status_code == 404


async def test_live_pushes_follow_moves_at_most_once_a_second(client: AsyncTestClient) -> None:
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a) for _ in range(3)]
    sup = await session_of(client, "sup@desk.test")
    tech = await session_of(client, "tech@desk.test")
    ws = await connect(client, sup, "view=wallboard")
    with ws:
        snapshot = receive(ws)
        assert 'id="wallboard" class="wallboard" hx-swap-oob="true"' in snapshot
        assert figure(snapshot, "status-new") == "3"
        for ticket_id in ids:  # a burst of moves by another client
            assert (await move(client, tech, ticket_id, "assigned", 1)).status_code == 200
        pushes = 0
        pushed = ""
        while "wall-open" not in pushed or figure(pushed, "status-assigned") != "3":
            pushed = receive(ws, timeout=10)
            pushes += "wall-open" in pushed
        assert figure(pushed, "status-new") == "0"
        assert pushes <= 3


async def test_pushes_are_coalesced_to_one_a_second() -> None:
    """Ten changes in a burst: the first is pushed at once, the rest in one more push, a
    full interval after the first one was sent."""
    import asyncio

    from server.realtime.ws import WallboardViewer

    viewer = WallboardViewer.__new__(WallboardViewer)
    viewer.dirty = asyncio.Event()
    loop = asyncio.get_running_loop()
    sent: list[tuple[float, float]] = []
    second = asyncio.Event()

    async def snapshot() -> None:
        started = loop.time()
        await asyncio.sleep(0.05)
        sent.append((started, loop.time()))
        if len(sent) == 2:
            second.set()

    viewer.snapshot = snapshot  # type: ignore[method-assign]
    viewer.PUSH_INTERVAL = 2.0
    pusher = asyncio.create_task(viewer._push_when_dirty())
    try:
        for _ in range(10):
            viewer.dirty.set()
            await asyncio.sleep(0.01)
        async with asyncio.timeout(30):
            await second.wait()
        await asyncio.sleep(2.5)  # long enough for a third push, if one were (wrongly) due
    finally:
        pusher.cancel()
    assert len(sent) == 2
    assert sent[1][0] - sent[0][1] >= viewer.PUSH_INTERVAL


async def test_wallboard_socket_refuses_requesters_and_places_out_of_scope(
    client: AsyncTestClient,
) -> None:
    import pytest
    from litestar.exceptions import WebSocketDisconnect

    w = await factories.world()
    narrow = await factories.user("nora@desk.test", Role.SUPERVISOR, w.est_b, "Nora Scope")
    await factories.scope(narrow.id, w.est_b)
    alice = await session_of(client, "alice@chu-a.test")
    nora = await session_of(client, "nora@desk.test")
    outside = f"view=wallboard&establishment={w.est_a}"
    for jar, query in ((alice, "view=wallboard"), (nora, outside)):
        ws = await connect(client, jar, query)
        with pytest.raises(WebSocketDisconnect) as refused, ws:
            receive(ws)
        assert refused.value.code == 4403
