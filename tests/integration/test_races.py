"""Races through the real application (real HTTP, real SMTP): writes made at the same moment.

Follow-ups carry no version, so none is ever refused for concurrency; changes made from a
stale view (status, fields, assignment) still are, with 409.
"""

from __future__ import annotations

import asyncio

from server.db.tables import FollowUp, Ticket, TicketWatcher
from server.domain.reply_address import reply_address
from server.domain.vocabulary import Role
from tests import factories
from tests.integration.test_inbound_mail import SECRET, SENDER, Desk, outcomes
from tests.integration.test_notifications import SmtpServer
from tests.live_server import csrf, live_server

RACERS = 20
MAIL_RACERS = 5


async def test_concurrent_follow_ups_all_land() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    async with live_server() as server:
        tech = await server.signed_in("tech@desk.test")
        requester = await server.signed_in("alice@chu-a.test")
        try:

            async def write(n: int) -> int:
                client = tech if n % 2 else requester
                response = await client.post(
                    f"/tickets/{ticket_id}/follow-ups",
                    data={"text": f"Relance numéro {n}"},
                    headers=csrf(client),
                )
                return response.status_code

            statuses = await asyncio.gather(*(write(n) for n in range(RACERS)))
        finally:
            await tech.aclose()
            await requester.aclose()
    assert statuses == [200] * RACERS
    texts = {r["text"] for r in await FollowUp.select(FollowUp.text)}
    assert texts == {f"Relance numéro {n}" for n in range(RACERS)}
    row = await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first()
    assert row["version"] == 1 + RACERS  # each follow-up bumped it exactly once


async def test_changes_from_a_stale_view_are_still_refused() -> None:
    w = await factories.world()
    second = await factories.user("tech2@desk.test", Role.TECHNICIAN, w.est_a, "Tom Two")
    await factories.group("N1", 1, (second.id,), serves=(w.est_a, w.est_b))
    ticket_id = await factories.ticket(w.requester_a)
    version = (await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first())["version"]
    async with live_server() as server:
        clients = [await server.signed_in(e) for e in ("tech@desk.test", "tech2@desk.test")]
        try:

            async def take(client) -> int:  # type: ignore[no-untyped-def]
                response = await client.post(
                    f"/tickets/{ticket_id}/take",
                    data={"version": str(version)},
                    headers=csrf(client),
                )
                return response.status_code

            statuses = await asyncio.gather(*(take(c) for c in clients))
        finally:
            for client in clients:
                await client.aclose()
    assert sorted(statuses) == [200, 409]


async def test_following_the_same_tickets_at_once_keeps_one_row_each() -> None:
    """A follow sent several times at once (a double click, two tabs, a bulk follow of the
    same page): every request answers normally, and each ticket is followed once. Each saw
    the ticket not yet followed; on PostgreSQL the later inserts met the unique index (500)."""
    w = await factories.world()
    ticket_ids = [await factories.ticket(w.requester_a) for _ in range(3)]
    bulk = {"action": "follow", "ids": [str(t) for t in ticket_ids]}
    async with live_server() as server:
        clients = [await server.signed_in("tech@desk.test") for _ in range(4)]
        try:

            async def follow(n: int) -> int:
                client = clients[n % len(clients)]
                if n % 2:
                    response = await client.post("/bulk", data=bulk, headers=csrf(client))
                else:
                    response = await client.post(
                        f"/tickets/{ticket_ids[0]}/watch",
                        data={"watch": "1"},
                        headers=csrf(client),
                    )
                return response.status_code

            statuses = await asyncio.gather(*(follow(n) for n in range(RACERS)))
        finally:
            for client in clients:
                await client.aclose()
    assert set(statuses) <= {200, 303}, statuses
    rows = await TicketWatcher.select(TicketWatcher.ticket, TicketWatcher.user)
    assert sorted(r["ticket"] for r in rows) == sorted(ticket_ids)
    assert {r["user"] for r in rows} == {w.tech.id}


async def test_concurrent_mail_replies_all_land_as_follow_ups() -> None:
    """Every mail answered 250 ends as a follow-up (the real aiosmtpd receiver, concurrent
    senders over real SMTP)."""
    outside = SmtpServer()
    outside.start()
    desk = Desk(outside)
    await desk.receiver.start()
    try:
        w = await factories.world()
        ticket_id = await factories.ticket(w.requester_a)
        address = reply_address(SECRET, SENDER, ticket_id, w.requester_a.id)
        # aiosmtplib raises unless the receiver answered 250.
        await asyncio.gather(
            *(
                desk.send("alice@chu-a.test", to=address, body=f"Réponse numéro {n}")
                for n in range(MAIL_RACERS)
            )
        )
    finally:
        await desk.receiver.stop()
        outside.stop()
    texts = {r["text"] for r in await FollowUp.select(FollowUp.text)}
    assert texts == {f"Réponse numéro {n}" for n in range(MAIL_RACERS)}
    assert await outcomes() == ["follow_up"] * MAIL_RACERS
