"""Links, merge and child tickets over HTTP (pages, htmx answers) and the JSON API."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.link_tables import TicketLink
from server.db.tables import Ticket
from server.services import accounts
from tests import factories


async def bearer(actor_id: int, language: str = "en") -> dict[str, str]:
    token = await accounts.issue_api_token(actor_id)
    return {"authorization": f"Bearer {token}", "accept-language": language}


async def test_a_link_made_on_one_page_shows_on_both(client: AsyncTestClient) -> None:
    w = await factories.world()
    parent = await factories.ticket(w.requester_a, title="Coupure réseau bâtiment B")
    child = await factories.ticket(w.requester_a, title="Plus de réseau au 2e")
    await factories.login(client, "tech@desk.test")
    answer = await client.post(
        f"/tickets/{parent}/links",
        data={"relation": "parent_of", "other_id": f"#{child}"},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )
    assert answer.status_code == 200, answer.text
    assert f'id="links-{parent}"' in answer.text
    assert "Plus de réseau au 2e" in answer.text
    child_page = (await client.get(f"/tickets/{child}")).text
    assert "Coupure réseau bâtiment B" in child_page
    assert "Enfant de" in child_page  # "Child of", in the technician's French
    assert f"Lien ajouté : Enfant de #{parent}" in child_page  # the timeline


async def test_bad_link_input_is_a_translated_4xx_next_to_the_field(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket = await factories.ticket(w.requester_a)
    await factories.login(client, "tech@desk.test")
    headers = {**factories.csrf_header(client), "hx-request": "true"}
    # In the technician's language (French here).
    for data, message in (
        ({"relation": "parent_of", "other_id": "abc"}, "Indiquez le numéro de l&#39;autre ticket."),
        (
            {"relation": "related", "other_id": str(ticket)},
            "Un ticket ne peut pas être lié à lui-même.",
        ),
        ({"relation": "cousin_of", "other_id": "1"}, "Choisissez l&#39;une des valeurs proposées."),
        ({"relation": "related", "other_id": "987654"}, "Introuvable"),
    ):
        answer = await client.post(f"/tickets/{ticket}/links", data=data, headers=headers)
        assert 400 <= answer.status_code < 500, (data, answer.status_code)
        assert message in answer.text, data
        assert 'value="' + data["other_id"] + '"' in answer.text  # what was typed is kept
    assert await TicketLink.count() == 0


async def test_merge_leads_to_the_kept_ticket_and_child_opens_from_parent(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    kept = await factories.ticket(w.requester_a, title="Téléphonie coupée")
    dup = await factories.ticket(w.colleague_a, title="Plus de tonalité")
    await factories.login(client, "tech@desk.test")
    answer = await client.post(
        f"/tickets/{dup}/merge",
        data={"other_id": str(kept)},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )
    assert answer.status_code == 200
    assert answer.headers["hx-redirect"] == f"/tickets/{kept}"
    page = (await client.get(f"/tickets/{kept}")).text
    assert f"Fusionné depuis #{dup}" in page
    # A refused merge: the error and the typed number come back to the merge form.
    refused = await client.post(
        f"/tickets/{kept}/merge",
        data={"form": "merge", "other_id": str(kept)},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )
    assert refused.status_code == 422
    merge_form = refused.text.split(f'action="/tickets/{kept}/merge"', 1)[1].split("</form>")[0]
    assert f'value="{kept}"' in merge_form
    assert "Un ticket ne peut pas être lié à lui-même." in merge_form

    child = await client.post(
        f"/tickets/{kept}/children",
        data={"title": "Vérifier l'autocommutateur", "description": "Pour l'équipe réseau"},
        headers=factories.csrf_header(client),
        follow_redirects=False,
    )
    assert child.status_code == 303
    child_id = int(child.headers["location"].rsplit("/", 1)[1])
    row = (
        await Ticket.select(Ticket.requester, Ticket.establishment)
        .where(Ticket.id == child_id)
        .first()
    )
    assert row == {"requester": w.requester_a.id, "establishment": w.est_a}
    assert await TicketLink.exists().where(
        (TicketLink.source == child_id) & (TicketLink.target == kept)
    )


async def test_requesters_have_no_link_routes(client: AsyncTestClient) -> None:
    w = await factories.world()
    mine = await factories.ticket(w.requester_a)
    other = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    answer = await client.post(
        f"/tickets/{mine}/links",
        data={"relation": "related", "other_id": str(other)},
        headers=factories.csrf_header(client),
    )
    assert answer.status_code == 404
    assert await TicketLink.count() == 0


async def test_api_links_merge_children(client: AsyncTestClient) -> None:
    w = await factories.world()
    a = await factories.ticket(w.requester_a, title="Serveur de fichiers lent")
    b = await factories.ticket(w.requester_b, title="Partage réseau lent")
    tech = await bearer(w.tech.id)
    added = await client.post(
        f"/api/v1/tickets/{a}/links", headers=tech, json={"relation": "related", "other_id": b}
    )
    assert added.status_code == 201, added.text
    assert added.json()["items"][0]["ticket_id"] == b
    assert added.json()["items"][0]["title"] == "Partage réseau lent"

    # Alice sees her ticket's link, but not the clinic's ticket behind it.
    alice = await bearer(w.requester_a.id)
    seen = (await client.get(f"/api/v1/tickets/{a}/links", headers=alice)).json()
    assert seen["items"][0]["visible"] is False
    assert seen["items"][0]["title"] is None

    loop = await client.post(
        f"/api/v1/tickets/{a}/links", headers=tech, json={"relation": "related", "other_id": a}
    )
    assert loop.status_code == 422
    assert loop.json()["fields"]["other_id"] == "A ticket cannot be linked to itself."
    missing = await client.post(
        f"/api/v1/tickets/{a}/links", headers=tech, json={"relation": "related", "other_id": 987654}
    )
    assert missing.status_code == 404

    link_id = added.json()["items"][0]["id"]
    removed = await client.post(
        f"/api/v1/tickets/{b}/links/remove", headers=tech, json={"link_id": link_id}
    )
    assert removed.status_code == 200
    assert removed.json()["items"] == []

    merged = await client.post(f"/api/v1/tickets/{b}/merge", headers=tech, json={"into": a})
    assert merged.status_code == 200, merged.text
    assert merged.json() == {"duplicate_id": b, "kept_id": a}
    closed = await Ticket.select(Ticket.status).where(Ticket.id == b).first()
    assert closed["status"] == "closed"

    child = await client.post(
        f"/api/v1/tickets/{a}/children",
        headers=tech,
        json={"title": "Remplacer le disque", "description": "Baie de stockage"},
    )
    assert child.status_code == 201, child.text
    assert child.json()["parent_id"] == a
    refused = await client.post(
        f"/api/v1/tickets/{a}/children",
        headers=alice,
        json={"title": "Remplacer le disque", "description": "Baie de stockage"},
    )
    assert refused.status_code == 404


async def test_a_link_reaches_the_other_tickets_open_page_and_the_parent_card(
    client: AsyncTestClient,
) -> None:
    from tests.web.test_live import connect, receive, receive_until, session_of, use

    w = await factories.world()
    parent = await factories.ticket(w.requester_a, title="Panne du DPI")
    child = await factories.ticket(w.requester_a, title="DPI figé au bloc")
    alice = await session_of(client, "alice@chu-a.test")
    tech = await session_of(client, "tech@desk.test")
    page = await connect(client, alice, f"view=ticket&id={child}")
    with page:
        assert f'id="links-{child}"' in receive(page)  # the snapshot has the section
        use(client, tech)
        answer = await client.post(
            f"/tickets/{parent}/links",
            data={"relation": "parent_of", "other_id": str(child)},
            headers={**factories.csrf_header(client), "hx-request": "true"},
        )
        assert answer.status_code == 200
        seen = receive_until(page, "Panne du DPI")
        assert (
            f'id="links-{child}" aria-labelledby="links-title-{child}" hx-swap-oob="true"' in seen
        )
        assert f"Lien ajouté : Enfant de #{parent}" in seen  # the timeline, live
    board = (await client.get("/board")).text
    card = board.split(f'id="card-{parent}"', 1)[1].split("</article>", 1)[0]
    assert "1 ticket enfant" in card
