"""In-app notifications over HTTP and a real websocket: the bell, the list, preferences."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from server.db.notification_tables import InAppNotification
from server.db.notifications import unread_count
from server.domain.forms import NewFollowUp
from server.domain.notifications import Kind
from server.services import notifications, tickets
from tests import factories
from tests.web.test_live import connect, nothing_arrives, receive, receive_until, session_of, use


def bell_count(html: str) -> int | None:
    found = re.search(r'id="bell"[^>]*data-unread="(\d*)"', html, re.DOTALL)
    return int(found.group(1)) if found and found.group(1) else None


async def test_bell_count_follows_another_users_comment_over_the_websocket(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.ticket(w.requester_a, title="Deuxième demande")
    alice = await session_of(client, "alice@chu-a.test")
    tech = await session_of(client, "tech@desk.test")
    bruno = await session_of(client, "bruno@clinique-b.test")
    alice_ws = await connect(client, alice, "view=list")
    bruno_ws = await connect(client, bruno, "view=page")
    with alice_ws, bruno_ws:
        first = receive(alice_ws)
        assert bell_count(first) == 2  # the acknowledgements of her own two requests
        assert bell_count(receive(bruno_ws)) == 0
        use(client, tech)
        response = await client.post(
            f"/tickets/{ticket_id}/follow-ups",
            data={"text": "Je passe cet après-midi"},
            headers=factories.csrf_header(client),
        )
        assert response.status_code in (200, 303)
        pushed = receive_until(alice_ws, 'id="bell"')
        # Pushed, and folded into the unread line about that ticket: still one per ticket.
        assert bell_count(pushed) == 2
        assert 'hx-swap-oob="true"' in pushed
        # Someone who may not see the ticket hears nothing at all.
        assert nothing_arrives(bruno_ws)

        # Reading them all on another page updates this one too.
        use(client, alice)
        response = await client.post(
            "/notifications/read-all", headers=factories.csrf_header(client),
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert bell_count(receive_until(alice_ws, 'id="bell"')) == 0


async def test_notification_list_and_mark_as_read(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Scanner du bloc")
    await tickets.take(w.tech, ticket_id, 1)  # folds into the acknowledgement's line
    await factories.ticket(w.requester_a, title="Imprimante du bloc")
    alice = await session_of(client, "alice@chu-a.test")
    use(client, alice)
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert "Scanner du bloc" in page.text
    assert "2 notifications non lues." in page.text
    rows = await InAppNotification.select().where(InAppNotification.user == w.requester_a.id)
    first = rows[0]["id"]

    # Someone else's notification cannot be marked (nothing happens).
    bruno = await session_of(client, "bruno@clinique-b.test")
    use(client, bruno)
    await client.post(f"/notifications/{first}/read", headers=factories.csrf_header(client))
    assert await unread_count(w.requester_a) == 2
    assert "Scanner du bloc" not in (await client.get("/notifications")).text

    use(client, alice)
    response = await client.post(
        f"/notifications/{first}/read", headers=factories.csrf_header(client),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await unread_count(w.requester_a) == 1
    await client.post("/notifications/read-all", headers=factories.csrf_header(client))
    assert await unread_count(w.requester_a) == 0
    assert "0 notification non lue." in (await client.get("/notifications")).text


async def test_a_notification_about_a_ticket_no_longer_visible_is_not_listed(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.colleague_a, title="Poste partagé", shared="1")
    await notifications.enqueue(
        Kind.SHARED, ticket_id, w.colleague_a, extra_recipient_ids=[w.requester_a.id]
    )
    alice = await session_of(client, "alice@chu-a.test")
    use(client, alice)
    assert "Poste partagé" in (await client.get("/notifications")).text
    assert await unread_count(w.requester_a) == 1
    await tickets.set_shared(w.colleague_a, ticket_id, 1, False)
    assert "Poste partagé" not in (await client.get("/notifications")).text
    assert await unread_count(w.requester_a) == 0  # the bell does not count it either


async def test_preferences_page_saves_each_channel(client: AsyncTestClient) -> None:
    w = await factories.world()
    alice = await session_of(client, "alice@chu-a.test")
    use(client, alice)
    page = await client.get("/notifications/preferences")
    assert page.status_code == 200
    assert 'name="email:follow_up"' in page.text and 'name="in_app:follow_up"' in page.text
    chosen = {f"email:{k.value}": "on" for k in Kind} | {
        f"in_app:{k.value}": "on" for k in Kind if k is not Kind.FOLLOW_UP
    }
    del chosen["email:closed"]
    response = await client.post(
        "/notifications/preferences", data=chosen, headers=factories.csrf_header(client)
    )
    assert response.status_code in (200, 201)
    assert "Vos préférences sont enregistrées." in response.text
    in_app = await notifications.preferences(w.requester_a.id, notifications.IN_APP)
    email = await notifications.preferences(w.requester_a.id, notifications.EMAIL)
    assert in_app[Kind.FOLLOW_UP] is False and in_app[Kind.CLOSED] is True
    assert email[Kind.CLOSED] is False and email[Kind.FOLLOW_UP] is True
    # Honoured: a follow-up by the technician now reaches Alice by mail only.
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Vu", False, 0))
    assert await InAppNotification.count().where(
        (InAppNotification.user == w.requester_a.id) & (InAppNotification.kind == "follow_up")
    ) == 0


async def test_pages_without_live_content_open_the_bell_socket(client: AsyncTestClient) -> None:
    await factories.world()
    alice = await session_of(client, "alice@chu-a.test")
    use(client, alice)
    page = await client.get("/tickets/new")
    assert 'ws-connect="/ws?view=page"' in page.text
    assert 'id="bell"' in page.text
    listing = await client.get("/tickets")
    assert 'ws-connect="/ws?view=page"' not in listing.text  # its own socket carries the bell
    assert 'id="bell"' in listing.text
