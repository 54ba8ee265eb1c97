"""Ticket pages and htmx actions, as requesters and technicians use them."""

from litestar.testing import AsyncTestClient

from server.db.tables import FollowUp, Ticket
from server.domain.vocabulary import Status
from server.services import tickets
from tests import factories

HTMX = {"hx-request": "true"}


async def post(client: AsyncTestClient, path: str, data: dict, **headers: str):
    return await client.post(
        path,
        data=data,
        headers={**factories.csrf_header(client), **headers},
        follow_redirects=False,
    )


async def test_requester_files_a_ticket_through_the_form(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.login(client, "alice@chu-a.test")
    form = await client.get("/tickets/new")
    assert "Incident de production" in form.text
    response = await post(
        client,
        "/tickets",
        {
            "title": "Lecteur de carte HS",
            "description": "Au secrétariat",
            "category_id": str(w.category_id),
            "type": "incident",
            "priority": "",
            "environment": "production",
            "notify": "1",
            "shared": "0",
        },
    )
    assert response.status_code == 303
    ticket = await Ticket.select().first()
    assert response.headers["location"] == f"/tickets/{ticket['id']}"
    assert ticket["priority"] == "high"  # from the category
    assert ticket["shared"] is False
    page = await client.get(response.headers["location"])
    assert "Lecteur de carte HS" in page.text
    assert "CHA" in page.text


async def test_invalid_form_keeps_what_was_typed_and_says_why(client: AsyncTestClient) -> None:
    await factories.world()
    await factories.login(client, "alice@chu-a.test")
    response = await post(
        client,
        "/tickets",
        {
            "title": "ab",
            "description": "Texte précieux à ne pas perdre",
            "contact_phone": "not a phone",
            "type": "bogus",
        },
        **{"accept-language": "fr"},
    )
    assert response.status_code == 422
    assert "Texte précieux à ne pas perdre" in response.text
    assert "Le titre est trop court" in response.text
    assert 'aria-invalid="true"' in response.text
    assert await Ticket.count() == 0


async def test_another_establishments_ticket_is_404_like_a_missing_one(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    hidden = await factories.ticket(w.requester_b)
    await factories.login(client, "alice@chu-a.test")
    invisible = await client.get(f"/tickets/{hidden}")
    missing = await client.get("/tickets/999999")
    assert invisible.status_code == missing.status_code == 404
    # Same page but for the URL echoed in the language form.
    assert invisible.text.replace(f"/tickets/{hidden}", "/tickets/N") == missing.text.replace(
        "/tickets/999999", "/tickets/N"
    )
    assert "Imprimante" not in invisible.text
    action = await post(client, f"/tickets/{hidden}/follow-ups", {"text": "coucou"})
    assert action.status_code == 404
    assert await FollowUp.count() == 0


async def test_requester_sees_shared_tickets_of_colleagues_only(client: AsyncTestClient) -> None:
    w = await factories.world()
    shared = await factories.ticket(w.colleague_a, title="Partagé avec le service")
    private = await factories.ticket(w.colleague_a, title="Demande personnelle", shared="0")
    other = await factories.ticket(w.requester_b, title="Autre clinique")
    mine = await factories.ticket(w.requester_a, title="Ma demande")
    await factories.login(client, "alice@chu-a.test")
    own_list = await client.get("/tickets")
    assert "Ma demande" in own_list.text
    assert "Partagé avec le service" not in own_list.text
    est_list = await client.get("/tickets?scope=establishment")
    assert "Ma demande" in est_list.text
    assert "Partagé avec le service" in est_list.text
    assert "Demande personnelle" not in est_list.text
    assert "Autre clinique" not in est_list.text
    assert (await client.get(f"/tickets/{shared}")).status_code == 200
    assert (await client.get(f"/tickets/{private}")).status_code == 404
    assert (await client.get(f"/tickets/{other}")).status_code == 404
    assert mine


async def test_list_filters_sort_and_paginate(client: AsyncTestClient) -> None:
    w = await factories.world()
    for i in range(30):
        await factories.ticket(
            w.requester_a,
            title=f"Demande numéro {i:02d}",
            priority="very_high" if i == 7 else "low",
        )
    await factories.login(client, "tech@desk.test")
    first = await client.get("/tickets?sort=urgent")
    assert first.text.index("Demande numéro 07") < first.text.index("Demande numéro 00")
    page2 = await client.get("/tickets?sort=oldest&page=2")
    assert "Demande numéro 25" in page2.text
    assert "Demande numéro 00" not in page2.text
    filtered = await client.get("/tickets?priority=very_high")
    assert filtered.text.count("Demande numéro") == 1
    fragment = await client.get(
        "/tickets?q=num%C3%A9ro%2012", headers={**HTMX, "hx-target": "ticket-list"}
    )
    assert fragment.text.lstrip().startswith('<section id="ticket-list"')
    assert "Demande numéro 12" in fragment.text
    bad = await client.get("/tickets?priority=urgent&page=abc")
    assert bad.status_code == 422


async def test_technician_takes_and_resolves_with_htmx(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "tech@desk.test")
    taken = await post(client, f"/tickets/{ticket_id}/take", {"version": "1"}, **HTMX)
    assert taken.status_code == 200
    assert taken.text.lstrip().startswith('<div id="ticket-main"')
    assert "Théo Tech" in taken.text
    refused = await post(
        client,
        f"/tickets/{ticket_id}/status",
        {"version": "2", "status": "resolved", "solution": ""},
        **HTMX,
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    resolved = await post(
        client,
        f"/tickets/{ticket_id}/status",
        {"version": "2", "status": "resolved", "solution": "Câble remplacé"},
        **HTMX,
    )
    assert resolved.status_code == 200
    assert "Câble remplacé" in resolved.text
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.RESOLVED.value


async def test_stale_form_gets_409_and_the_current_state(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)  # someone else moved it meanwhile
    await factories.login(client, "sup@desk.test")
    response = await post(
        client, f"/tickets/{ticket_id}/status", {"version": "1", "status": "pending"}, **HTMX
    )
    assert response.status_code == 409
    assert 'data-version="2"' in response.text
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.ASSIGNED.value


async def test_private_notes_never_reach_requesters(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "tech@desk.test")
    await post(
        client,
        f"/tickets/{ticket_id}/follow-ups",
        {"text": "Mot de passe admin du switch", "private": "1", "minutes": "15"},
        **HTMX,
    )
    await post(
        client,
        f"/tickets/{ticket_id}/follow-ups",
        {"text": "Nous regardons.", "minutes": "5"},
        **HTMX,
    )
    staff_page = await client.get(f"/tickets/{ticket_id}")
    assert "Mot de passe admin du switch" in staff_page.text
    await client.post("/logout", headers=factories.csrf_header(client))
    await factories.login(client, "alice@chu-a.test")
    page = await client.get(f"/tickets/{ticket_id}")
    assert "Nous regardons." in page.text
    assert "Mot de passe admin du switch" not in page.text
    # A requester's attempt to write a private note is stored as public or refused, never hidden.
    await post(client, f"/tickets/{ticket_id}/follow-ups", {"text": "Merci", "private": "1"})
    note = await FollowUp.select().where(FollowUp.text == "Merci").first()
    assert note["private"] is False


async def test_requester_reply_reopens_and_close_is_offered(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="Redémarré")
    await factories.login(client, "alice@chu-a.test")
    page = await client.get(f"/tickets/{ticket_id}")
    assert 'id="close-ticket"' in page.text
    assert "Redémarré" in page.text
    await post(client, f"/tickets/{ticket_id}/follow-ups", {"text": "Toujours en panne"}, **HTMX)
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.ASSIGNED.value


async def test_user_text_is_escaped(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(
        w.requester_a,
        title="<script>alert(1)</script>",
        description='<img src=x onerror=alert(1)> <div hx-get="/logout">',
    )
    await factories.login(client, "alice@chu-a.test")
    page = await client.get(f"/tickets/{ticket_id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert '<div hx-get="/logout">' not in page.text
