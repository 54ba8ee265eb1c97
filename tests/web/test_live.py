"""Live updates over real websockets: what each viewer receives, and what they never do."""

from __future__ import annotations

import queue
from typing import Any

import anyio.to_thread
import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient

from server.db.tables import Ticket
from server.domain.forms import parse_new_ticket
from server.domain.vocabulary import Status
from server.realtime.bus import RESYNC
from server.services import tickets
from tests import factories

ORIGIN = {"origin": "http://testserver.local"}


async def session_of(client: AsyncTestClient, email: str) -> httpx.Cookies:
    client.cookies.clear()
    await factories.login(client, email)
    await client.get("/tickets")  # the CSRF cookie
    return httpx.Cookies(client.cookies)


def use(client: AsyncTestClient, jar: httpx.Cookies) -> None:
    client.cookies.clear()
    client.cookies.update(jar)


async def connect(client: AsyncTestClient, jar: httpx.Cookies, query: str, **headers: str) -> Any:
    use(client, jar)
    return await client.websocket_connect(f"/ws?{query}", headers=headers or ORIGIN)


def receive(ws: Any, timeout: float = 5) -> str:
    return ws.receive_text(timeout=timeout)


def receive_until(ws: Any, text: str, tries: int = 5) -> str:
    """Messages may come in several pushes (presence, snapshot): read until ``text``."""
    seen = ""
    for _ in range(tries):
        seen += receive(ws)
        if text in seen:
            return seen
    return seen


async def in_app(client: AsyncTestClient, function: Any, *args: Any) -> Any:
    """Run in the application's own event loop (the test client runs it in another thread):
    the bus and the hub are not thread-safe, like any asyncio object."""
    return await anyio.to_thread.run_sync(client.blocking_portal.call, function, *args)


def nothing_arrives(ws: Any, timeout: float = 0.6) -> bool:
    try:
        ws.receive_text(timeout=timeout)
    except queue.Empty:
        return True
    return False


async def move(
    client: AsyncTestClient,
    jar: httpx.Cookies,
    ticket_id: int,
    status: str,
    version: int,
    **extra: str,
) -> httpx.Response:
    use(client, jar)
    return await client.post(
        f"/tickets/{ticket_id}/move",
        data={"status": status, "version": str(version), **extra},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )


async def test_board_move_reaches_viewers_who_may_see_it_only(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Scanner en panne")
    tech = await session_of(client, "tech@desk.test")
    alice = await session_of(client, "alice@chu-a.test")
    bruno = await session_of(client, "bruno@clinique-b.test")

    tech_ws = await connect(client, tech, "view=board")
    alice_ws = await connect(client, alice, "view=board")
    bruno_ws = await connect(client, bruno, "view=board")
    with tech_ws, alice_ws, bruno_ws:
        assert f'id="card-{ticket_id}"' in receive(tech_ws)  # snapshot
        assert f'id="card-{ticket_id}"' in receive(alice_ws)
        assert f'id="card-{ticket_id}"' not in receive(bruno_ws)

        response = await move(client, tech, ticket_id, "assigned", 1)
        assert response.status_code == 200

        pushed = receive(tech_ws)
        assert f'hx-swap-oob="beforeend:#cards-assigned"><article id="card-{ticket_id}"' in pushed
        assert 'id="count-new" hx-swap-oob="true">0<' in pushed
        assert 'id="count-assigned" hx-swap-oob="true">1<' in pushed
        assert "card-menu" in pushed  # technicians get the keyboard move menu

        seen_by_alice = receive(alice_ws)
        assert f'id="card-{ticket_id}"' in seen_by_alice
        assert "card-menu" not in seen_by_alice  # read-only for requesters

        assert nothing_arrives(bruno_ws)


async def test_card_leaves_a_board_whose_filters_it_no_longer_matches(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await session_of(client, "tech@desk.test")
    ws = await connect(client, tech, "view=board&assignee=none")
    with ws:
        assert f'id="card-{ticket_id}"' in receive(ws)
        await move(client, tech, ticket_id, "assigned", 1)  # dropping it in progress takes it
        pushed = receive(ws)
        assert f'<div id="card-{ticket_id}" hx-swap-oob="delete"></div>' in pushed
        assert "beforeend" not in pushed
        assert 'id="count-new" hx-swap-oob="true">0<' in pushed


async def test_refused_move_snaps_back_with_a_translated_reason(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await session_of(client, "tech@desk.test")
    response = await move(client, tech, ticket_id, "resolved", 1)
    assert response.status_code == 422
    assert f'beforeend:#cards-new"><article id="card-{ticket_id}"' in response.text
    assert "Une solution est obligatoire" in response.text or "solution" in response.text
    row = await Ticket.select(Ticket.status).where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.NEW.value


async def test_two_technicians_moving_the_same_card_one_wins(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await session_of(client, "tech@desk.test")
    sup = await session_of(client, "sup@desk.test")
    first = await move(client, tech, ticket_id, "pending", 1)
    second = await move(client, sup, ticket_id, "resolved", 1, solution="Fait")
    assert (first.status_code, second.status_code) == (200, 409)
    # The loser's card goes to the true column, with the current version.
    assert f'beforeend:#cards-pending"><article id="card-{ticket_id}"' in second.text
    assert 'data-version="2"' in second.text


async def test_handshake_checks_session_and_origin(client: AsyncTestClient) -> None:
    await factories.world()
    tech = await session_of(client, "tech@desk.test")
    for headers in ({"origin": "https://evil.example"}, {"x-nothing": "1"}):
        ws = await connect(client, tech, "view=board", **headers)
        with pytest.raises(WebSocketDisconnect) as refused, ws:
            receive(ws)
        assert refused.value.code == 4403
    client.cookies.clear()
    ws = await client.websocket_connect("/ws?view=board", headers=ORIGIN)
    with pytest.raises(WebSocketDisconnect), ws:
        receive(ws)


async def test_invisible_ticket_page_socket_is_refused(client: AsyncTestClient) -> None:
    w = await factories.world()
    hidden = await factories.ticket(w.requester_b)
    alice = await session_of(client, "alice@chu-a.test")
    ws = await connect(client, alice, f"view=ticket&id={hidden}")
    with pytest.raises(WebSocketDisconnect), ws:
        receive(ws)


async def test_ticket_page_timeline_and_presence(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    alice = await session_of(client, "alice@chu-a.test")
    tech = await session_of(client, "tech@desk.test")
    alice_ws = await connect(client, alice, f"view=ticket&id={ticket_id}")
    with alice_ws:
        assert f'id="timeline-{ticket_id}"' in receive(alice_ws)
        tech_ws = await connect(client, tech, f"view=ticket&id={ticket_id}")
        with tech_ws:
            snapshot = receive(tech_ws)
            assert "Alice Martin" in snapshot  # presence: Alice is on the page
            assert "Théo Tech" in receive_until(alice_ws, "Théo Tech")  # Alice learns he came
            use(client, tech)
            await client.post(
                f"/tickets/{ticket_id}/follow-ups",
                data={"text": "Note interne confidentielle", "private": "1"},
                headers={**factories.csrf_header(client), "hx-request": "true"},
            )
            await client.post(
                f"/tickets/{ticket_id}/follow-ups",
                data={"text": "Nous intervenons cet après-midi"},
                headers={**factories.csrf_header(client), "hx-request": "true"},
            )
            seen = receive_until(alice_ws, "Nous intervenons cet après-midi")
            assert "Nous intervenons cet après-midi" in seen
            assert "Note interne confidentielle" not in seen
            staff_seen = receive_until(tech_ws, "Note interne confidentielle")
            assert "Note interne confidentielle" in staff_seen
        left = ""
        while 'id="presence-' not in left or "Théo Tech" in left:
            left = receive(alice_ws)
        assert "Théo Tech" not in left  # Théo left


async def test_requester_list_shows_a_colleagues_new_shared_ticket(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    alice = await session_of(client, "alice@chu-a.test")
    ws = await connect(client, alice, "view=list&scope=establishment")
    with ws:
        assert "Aucun ticket" in receive(ws) or 'id="ticket-list"' in receive(ws)
        _id, events = await tickets.open_ticket(
            w.colleague_a,
            parse_new_ticket({"title": "Téléphone du bloc muet", "description": "Depuis ce matin"}),
        )
        await in_app(client, client.app.state.bus.publish, events[0].as_message())
        assert "Téléphone du bloc muet" in receive(ws)


async def test_resync_sends_a_fresh_snapshot(client: AsyncTestClient) -> None:
    w = await factories.world()
    tech = await session_of(client, "tech@desk.test")
    ws = await connect(client, tech, "view=board")
    with ws:
        receive(ws)
        # A change made while this viewer's bus was disconnected (no event ever arrives)...
        await factories.ticket(w.requester_a, title="Arrivé pendant la coupure")
        await in_app(client, client.app.state.bus.deliver, RESYNC)
        assert "Arrivé pendant la coupure" in receive(ws)


async def test_deactivation_closes_the_users_sockets(client: AsyncTestClient) -> None:
    w = await factories.world()
    alice = await session_of(client, "alice@chu-a.test")
    ws = await connect(client, alice, "view=board")
    with ws:
        receive(ws)
        await in_app(
            client,
            client.app.state.bus.publish,
            {"kind": "user.deactivated", "user_id": w.requester_a.id},
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 4401


async def test_api_changes_are_pushed_like_any_other(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await session_of(client, "tech@desk.test")
    ws = await connect(client, tech, "view=board")
    with ws:
        receive(ws)
        from server.services import accounts

        token = await accounts.issue_api_token(w.tech.id)
        response = await client.post(
            f"/api/v1/tickets/{ticket_id}/status",
            json={"status": "pending", "version": 1},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        assert f'beforeend:#cards-pending"><article id="card-{ticket_id}"' in receive(ws)


async def test_sockets_close_when_their_session_ends(client: AsyncTestClient) -> None:
    await factories.world()
    alice = await session_of(client, "alice@chu-a.test")
    tech = await session_of(client, "tech@desk.test")
    alice_ws = await connect(client, alice, "view=board")
    tech_ws = await connect(client, tech, "view=board")
    with alice_ws, tech_ws:
        receive(alice_ws)
        receive(tech_ws)
        use(client, alice)
        await client.post("/logout", headers=factories.csrf_header(client))
        await in_app(client, client.app.state.hub.revalidate)  # the hub's 30 s check
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(alice_ws)
        assert closed.value.code == 4401
        assert nothing_arrives(tech_ws)  # the technician's session is untouched
