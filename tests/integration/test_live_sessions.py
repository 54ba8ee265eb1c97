"""Open pages follow the account at once, over real websockets: signing out, a password
reset, a change of role, groups or scope, the removal of a share. The periodic re-check of
sessions is pushed out of reach here, so only the immediate path can pass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from server.domain.forms import parse_new_ticket
from server.domain.vocabulary import Role
from server.realtime import hub as hub_module
from server.realtime.publish import publish
from server.services import account_life, following, tickets
from tests import factories
from tests.live_server import LiveServer, csrf, live_server, until

SESSION_ENDED = 4401
RECONNECT = 1012
POLICY_VIOLATION = 4403


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveServer]:
    monkeypatch.setattr(hub_module, "SESSION_CHECK_SECONDS", 3600)
    async with live_server() as running:
        yield running


async def closed_with(ws: Any, within: float = 30) -> int | None:
    try:
        async with asyncio.timeout(within):
            async for _ in ws:
                pass
    except websockets.ConnectionClosed:
        pass
    return ws.close_code


async def still_live(server: LiveServer, ws: Any, actor: Any) -> None:
    """``ws`` (a ticket list) still receives updates: a new ticket shows up in it."""
    _, events = await tickets.open_ticket(
        actor, parse_new_ticket({"title": "Scanner bloqué", "description": "Plus rien."})
    )
    await publish(server.app, events)
    await until(ws, "Scanner bloqué")
    assert ws.close_code is None


async def page(server: LiveServer, client: httpx.AsyncClient, query: str = "view=list") -> Any:
    ws = await server.socket(client, query)
    await until(ws, 'hx-swap-oob="true"')  # the first snapshot
    return ws


async def test_logout_closes_that_sessions_sockets_at_once(server: LiveServer) -> None:
    w = await factories.world()
    leaving = await server.signed_in("alice@chu-a.test")
    staying = await server.signed_in("alice@chu-a.test")
    try:
        gone = await page(server, leaving)
        kept = await page(server, staying)
        response = await leaving.post("/logout", headers=csrf(leaving))
        assert response.status_code == 303
        assert await closed_with(gone) == SESSION_ENDED
        await still_live(server, kept, w.requester_a)
        await kept.close()
    finally:
        await leaving.aclose()
        await staying.aclose()


async def test_a_password_reset_closes_every_socket_of_that_person(server: LiveServer) -> None:
    w = await factories.world()
    alice = [await server.signed_in("alice@chu-a.test") for _ in range(2)]
    colette = await server.signed_in("colette@chu-a.test")
    try:
        sockets = [await page(server, client) for client in alice]
        other = await page(server, colette)
        link = await account_life.request_reset("alice@chu-a.test")
        assert link is not None
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as anonymous:
            await anonymous.get(f"/reset/{link.raw}")
            response = await anonymous.post(
                f"/reset/{link.raw}",
                data={"password": "a new long passphrase", "confirm": "a new long passphrase"},
                headers={"x-csrftoken": anonymous.cookies["guichet_csrf"]},
            )
            assert response.status_code == 200, response.text
        assert [await closed_with(ws) for ws in sockets] == [SESSION_ENDED] * 2
        await still_live(server, other, w.colleague_a)
        await other.close()
    finally:
        for client in [*alice, colette]:
            await client.aclose()


@pytest.mark.parametrize(
    ("what", "form"),
    [
        ("role", {"role": "requester"}),
        ("groups", {}),  # no group any more
        ("scope", {}),  # no establishment in scope any more
    ],
)
async def test_a_change_of_reach_reconnects_that_persons_sockets(
    server: LiveServer, what: str, form: dict[str, str]
) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, w.est_a, "Ada Admin")
    person = {"role": w.tech, "groups": w.tech, "scope": w.supervisor}[what]
    email = {"role": "tech@desk.test", "groups": "tech@desk.test", "scope": "sup@desk.test"}
    admin = await server.signed_in("admin@desk.test")
    changed = await server.signed_in(email[what])
    colette = await server.signed_in("colette@chu-a.test")
    try:
        sockets = [await page(server, changed, "view=board"), await page(server, changed)]
        other = await page(server, colette)
        response = await admin.post(
            f"/admin/users/{person.id}/{what}", data=form, headers=csrf(admin)
        )
        assert response.status_code == 303, response.text
        # 1012: the page reconnects at once and is checked again with the new reach.
        assert [await closed_with(ws) for ws in sockets] == [RECONNECT] * 2
        await still_live(server, other, w.colleague_a)
        await other.close()
    finally:
        for client in (admin, changed, colette):
            await client.aclose()


async def test_removing_a_share_narrows_the_colleagues_pages_at_once(server: LiveServer) -> None:
    w = await factories.world()
    ticket_id, _ = await tickets.open_ticket(
        w.requester_a,
        parse_new_ticket({"title": "Badge refusé", "description": "Porte B.", "shared": "0"}),
    )
    await following.share(w.requester_a, ticket_id, "colette@chu-a.test")
    alice = await server.signed_in("alice@chu-a.test")
    colette = await server.signed_in("colette@chu-a.test")
    try:
        ticket_page = await page(server, colette, f"view=ticket&id={ticket_id}")
        listing = await server.socket(colette, "view=list&scope=all")
        assert "Badge refusé" in await until(listing, 'id="ticket-list"')
        response = await alice.post(
            f"/tickets/{ticket_id}/shares/{w.colleague_a.id}/remove", headers=csrf(alice)
        )
        assert response.status_code == 200, response.text
        assert await closed_with(ticket_page) == POLICY_VIOLATION
        narrowed = await until(listing, 'id="ticket-list"')
        assert "Badge refusé" not in narrowed
        await listing.close()
    finally:
        await alice.aclose()
        await colette.aclose()
