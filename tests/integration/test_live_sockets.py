"""Live sockets over real websockets to a real server: viewers come and go, servers drop
sockets, sessions end; nobody else is disconnected and nothing is missed."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import httpx
import pytest

from server.db.tables import Ticket
from server.domain.forms import parse_new_ticket
from server.domain.vocabulary import Role
from server.realtime.bus import RESYNC
from server.realtime.hub import EventContext
from server.services import tickets
from server.web.rendering import template_engine
from tests import factories
from tests.live_server import LiveServer, csrf, eventually, live_server, until

VIEWERS = 20
CHURNS = 50
MOVES = 30


async def _move_all(tech: httpx.AsyncClient, ticket_ids: list[int]) -> None:
    for ticket_id in ticket_ids:
        response = await tech.post(
            f"/tickets/{ticket_id}/move",
            data={"status": "pending", "version": "1"},
            headers=csrf(tech),
        )
        assert response.status_code == 200, response.text


async def _sees_every_move(ws: Any, ticket_ids: list[int]) -> None:
    missing = set(ticket_ids)
    async with asyncio.timeout(120):
        while missing:
            message = await ws.recv()
            for ticket_id in list(missing):
                if f'id="card-{ticket_id}"' in message and "#cards-pending" in message:
                    missing.discard(ticket_id)


async def _board_with_tickets() -> list[int]:
    w = await factories.world()
    return [await factories.ticket(w.requester_a, title=f"Panne {n}") for n in range(MOVES)]


async def _viewers(server: LiveServer, client: httpx.AsyncClient) -> list[Any]:
    viewers = [await server.socket(client, "view=board") for _ in range(VIEWERS)]
    for ws in viewers:
        await until(ws, 'id="board-columns"')
    return viewers


async def test_one_viewer_churning_disconnects_no_one() -> None:
    ticket_ids = await _board_with_tickets()
    async with live_server() as server:
        tech = await server.signed_in("tech@desk.test")
        watcher = await server.signed_in("sup@desk.test")
        viewers = await _viewers(server, watcher)

        async def churn() -> None:
            for _ in range(CHURNS):
                ws = await server.socket(watcher, "view=board")
                await until(ws, 'id="board-columns"')
                await ws.close()

        try:
            await asyncio.gather(
                churn(),
                _move_all(tech, ticket_ids),
                *(_sees_every_move(ws, ticket_ids) for ws in viewers),
            )
            assert [ws.close_code for ws in viewers] == [None] * VIEWERS
        finally:
            for ws in viewers:
                await ws.close()
            await tech.aclose()
            await watcher.aclose()


async def _move(tech: httpx.AsyncClient, ticket_id: int, status: str) -> None:
    row = await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first()
    response = await tech.post(
        f"/tickets/{ticket_id}/move",
        data={"status": status, "version": str(row["version"])},
        headers=csrf(tech),
    )
    assert response.status_code == 200, response.text


async def _statuses_seen(ws: Any, ticket_id: int, count: int) -> list[str]:
    """The columns ``ticket_id``'s card was pushed to, in order, until ``count`` pushes."""
    seen: list[str] = []
    async with asyncio.timeout(120):
        while len(seen) < count:
            message = await ws.recv()
            if f'id="card-{ticket_id}"' in message:
                seen += re.findall(r"beforeend:#cards-(\w+)", message)
    return seen


async def test_the_server_dropping_a_stuck_socket_disconnects_no_one() -> None:
    """A socket that stopped reading stops answering pings: the server drops it, and only it,
    while moves go on."""
    [ticket_id, *_] = await _board_with_tickets()
    async with live_server(ws_ping_interval=1, ws_ping_timeout=5) as server:
        hub = server.app.state.hub
        tech = await server.signed_in("tech@desk.test")
        watcher = await server.signed_in("sup@desk.test")
        viewers = await _viewers(server, watcher)
        stuck = await server.socket(watcher, "view=board")
        await until(stuck, 'id="board-columns"')
        stuck.transport.pause_reading()
        moves: list[str] = []
        try:
            # The card goes back and forth until the server has dropped the stuck socket,
            # then a few more times.
            extra = 4
            async with asyncio.timeout(120):
                while len(hub.connections) > VIEWERS or extra:
                    if len(hub.connections) <= VIEWERS:
                        extra -= 1
                    status = "assigned" if moves and moves[-1] == "pending" else "pending"
                    await _move(tech, ticket_id, status)
                    moves.append(status)
            seen = await asyncio.gather(
                *(_statuses_seen(ws, ticket_id, len(moves)) for ws in viewers)
            )
            assert seen == [moves] * VIEWERS
            assert [ws.close_code for ws in viewers] == [None] * VIEWERS
        finally:
            stuck.transport.abort()
            for ws in viewers:
                await ws.close()
            await tech.aclose()
            await watcher.aclose()


async def test_a_push_to_a_closing_socket_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    await factories.world()
    async with live_server() as server:
        hub = server.app.state.hub
        watcher = await server.signed_in("sup@desk.test")
        ws = await server.socket(watcher, "view=board")
        await until(ws, 'id="board-columns"')
        [connection] = hub.connections
        ws.transport.abort()  # the tab is gone
        await eventually(lambda: not hub.connections)
        caplog.clear()
        # The app's logging set-up replaced the root handlers: listen on Guichet's logger.
        guichet = logging.getLogger("guichet")
        guichet.addHandler(caplog.handler)
        try:
            with caplog.at_level(logging.DEBUG, logger="guichet"):
                connection.offer(RESYNC)  # a push already on its way
                async with asyncio.timeout(30):
                    await connection.run()  # returns: nothing more to push to
        finally:
            guichet.removeHandler(caplog.handler)
        await watcher.aclose()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("closed during a push" in r.getMessage() for r in caplog.records)


async def test_a_viewer_cancelled_mid_render_leaves_the_shared_render_to_the_others() -> None:
    """The exact mechanism, without timing: the first viewer of an event starts the shared
    render and is cancelled while it runs; the others still get the card."""
    w = await factories.world()
    _, [event] = await tickets.open_ticket(
        w.requester_a, parse_new_ticket({"title": "Écran noir", "description": "Salle 4."})
    )
    context = EventContext(event.as_message(), template_engine().engine)
    leaving = asyncio.create_task(context.placed_card(Role.SUPERVISOR, "fr"))
    staying = [asyncio.create_task(context.placed_card(Role.SUPERVISOR, "fr")) for _ in range(3)]
    await asyncio.sleep(0)  # every task is now waiting on the shared render
    leaving.cancel()
    cards = await asyncio.gather(*staying)
    assert all(card and f'id="card-{event.ticket_id}"' in card for card in cards)


def _is_server_side_of(obj: Any, port: int) -> bool:
    """The server's protocol object for the client socket on ``port`` (the heap also holds
    dead weak proxies, which raise on any look)."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    try:
        return (
            isinstance(obj, WebSocketsSansIOProtocol) and bool(obj.client) and obj.client[1] == port
        )
    except ReferenceError:
        return False


async def test_pushes_to_a_paused_transport_wait_in_order_and_others_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hub writes board pushes itself (uvicorn frames and writes them without awaiting,
    so no socket task is woken). When one socket's transport is paused (its reader is slow),
    its pushes wait, in order, for the transport to drain, and the other sockets get theirs."""
    import gc

    from server.realtime.hub import Connection

    [ticket_id, *_] = await _board_with_tickets()
    async with live_server() as server:
        tech = await server.signed_in("tech@desk.test")
        watcher = await server.signed_in("sup@desk.test")
        viewers = await _viewers(server, watcher)
        slow = await server.socket(watcher, "view=board")
        await until(slow, 'id="board-columns"')
        port = slow.local_address[1]
        [protocol] = [o for o in gc.get_objects() if _is_server_side_of(o, port)]
        offered: list[Any] = []
        original = Connection.offer

        def counting(self: Connection, item: Any) -> None:
            offered.append(item)  # queued for a socket's task (which is woken for it)
            original(self, item)

        monkeypatch.setattr(Connection, "offer", counting)
        try:
            await _move(tech, ticket_id, "pending")
            seen = await asyncio.gather(*(_statuses_seen(ws, ticket_id, 1) for ws in viewers))
            assert seen == [["pending"]] * VIEWERS
            assert offered == []  # written from the hub's loop, no socket task woken
            await _statuses_seen(slow, ticket_id, 1)

            protocol.pause_writing()  # as asyncio does when the socket's buffer is full
            moves = ["assigned", "pending", "assigned"]
            for status in moves:
                await _move(tech, ticket_id, status)
            seen = await asyncio.gather(
                *(_statuses_seen(ws, ticket_id, len(moves)) for ws in viewers)
            )
            assert seen == [moves] * VIEWERS
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await slow.recv()  # nothing written while paused
            protocol.resume_writing()
            assert await _statuses_seen(slow, ticket_id, len(moves)) == moves
            assert slow.close_code is None
        finally:
            for ws in [*viewers, slow]:
                await ws.close()
            await tech.aclose()
            await watcher.aclose()
