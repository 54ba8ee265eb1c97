"""The card a move answers with is read in one statement and shows what the board shows."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from server.db import board as board_db
from server.db import card_read
from server.db.connections import observing
from server.db.link_tables import TicketLink
from server.db.sla_tables import SlaPolicy
from server.db.tables import Attachment, FollowUp, Ticket
from server.domain.actors import Actor
from server.services import tickets
from tests import factories


async def _slow_card(viewer: Actor, ticket_id: int) -> dict[str, Any] | None:
    """The card as the board's column reads it (several statements)."""
    row = await board_db.card(ticket_id)
    if row is not None:
        await board_db.add_follow_up_counts(viewer, [row])
    return row


async def test_the_one_statement_card_equals_the_boards_card() -> None:
    w = await factories.world()
    await SlaPolicy.insert(
        SlaPolicy(name="N1", priority="high", take_minutes=120, resolve_minutes=600)
    )
    plain = await factories.ticket(w.requester_a)  # no SLA policy applies, nothing attached
    busy = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    await tickets.take(w.tech, busy, 1)
    for private in (False, True, True):
        await FollowUp.insert(FollowUp(ticket=busy, author=w.tech.id, text="n", private=private))
    await Attachment.insert(
        Attachment(ticket=busy, uploader=w.tech.id, storage_key="k1", filename="a.png",
                   mime="image/png", kind="image", size=3)
    )  # fmt: skip
    child = await factories.ticket(w.requester_a)
    await TicketLink.insert(TicketLink(source=child, target=busy, kind="child"))
    resolved = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    await tickets.move(w.tech, resolved, tickets.Status.RESOLVED, 1, "Remplacé")
    for viewer in (w.tech, w.requester_a):
        for ticket_id in (plain, busy, child, resolved):
            fast = await card_read.card(viewer, ticket_id)
            assert fast == await _slow_card(viewer, ticket_id), (viewer.role, ticket_id)
    staff, public = await card_read.card(w.tech, busy), await card_read.card(w.requester_a, busy)
    assert staff is not None and public is not None
    assert (staff["follow_ups"], public["follow_ups"]) == (3, 1)
    assert (staff["attachments"], staff["children"]) == (1, 1)
    assert staff["sla"] is not None and staff["sla"]["target"] == "resolve"
    assert await card_read.card(w.tech, 10**8) is None


async def test_a_move_answers_with_its_card_without_reading_it_again(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Scanner bloc B")
    await factories.login(client, "tech@desk.test")
    csrf = factories.csrf_header(client)
    version = (await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first())[
        "version"
    ]
    path = f"/tickets/{ticket_id}/move"
    with observing() as seen:
        response = await client.post(
            path, data={"status": "assigned", "version": str(version)}, headers=csrf
        )
    assert response.status_code == 200, response.text
    assert "Scanner bloc B" in response.text and f'data-version="{version + 2}"' in response.text
    # A refused move (stale version) still answers with the card where it belongs.
    response = await client.post(
        path, data={"status": "planned", "version": str(version)}, headers=csrf
    )
    assert response.status_code == 409, response.text
    assert "Scanner bloc B" in response.text
    assert seen  # the lease was counted (the budget test holds the number)
