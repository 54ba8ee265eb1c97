"""The composer over HTTP: one submit, errors beside their field with the text kept, canned
replies inserted into the text, the facts panel answering alone, and the canned pages."""

import re

from litestar.testing import AsyncTestClient

from server.db.canned_tables import CannedReply
from server.db.tables import FollowUp, Ticket
from server.domain.vocabulary import Role, Status
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


async def taken(client: AsyncTestClient) -> tuple[factories.World, int, int]:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Imprimante du bloc")
    await tickets.take(w.tech, ticket_id, version=1)
    await factories.login(client, "tech@desk.test")
    row = await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first()
    return w, ticket_id, row["version"]


async def test_page_preselects_the_current_status_and_offers_allowed_ones(
    client: AsyncTestClient,
) -> None:
    _w, ticket_id, _version = await taken(client)
    page = (await client.get(f"/tickets/{ticket_id}")).text
    select = page.split('id="status-target"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([a-z]*)"( selected)?', select)
    assert options[0] == ("", " selected")  # the current status, unchanged
    assert "(unchanged)" in select or "inchangé" in select
    assert {value for value, _sel in options[1:]} == {"planned", "pending", "resolved"}
    assert 'id="shortcuts-help"' in page and "js/composer.js" in page


async def test_resolve_without_solution_comes_back_with_the_text_and_the_field_error(
    client: AsyncTestClient,
) -> None:
    _w, ticket_id, version = await taken(client)
    typed = "Texte précieux & <long> à ne pas perdre"
    response = await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {
            "text": typed,
            "status": "resolved",
            "solution": "",
            "version": str(version),
            "minutes": "20",
        },
        **HTMX,
    )
    assert response.status_code == 422
    body = response.text
    # The composer alone comes back (the page does not move), with what was typed.
    assert body.lstrip().startswith(f'<form id="composer-{ticket_id}"')
    assert "Texte précieux &amp; &lt;long&gt; à ne pas perdre</textarea>" in body
    assert '<option value="resolved" selected>' in body
    assert 'value="20"' in body
    solution_box = body.split('class="composer-solution"', 1)[1]
    assert 'id="solution-error"' in solution_box.split("</div>", 1)[0]
    assert 'aria-invalid="true"' in solution_box.split("</textarea>", 1)[0]
    assert await FollowUp.count().where(FollowUp.ticket == ticket_id) == 0


async def test_without_javascript_errors_render_the_page_and_success_redirects(
    client: AsyncTestClient,
) -> None:
    _w, ticket_id, version = await taken(client)
    refused = await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {"text": "Gardé", "status": "resolved", "version": str(version)},
    )
    assert refused.status_code == 422
    assert "<html" in refused.text and "Gardé</textarea>" in refused.text
    sent = await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {"text": "Fait", "status": "resolved", "solution": "Relancé", "version": str(version)},
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/tickets/{ticket_id}"
    row = await Ticket.select(Ticket.status).where(Ticket.id == ticket_id).first()
    assert row["status"] == Status.RESOLVED.value


async def test_stale_answer_is_a_conflict_that_keeps_the_text(client: AsyncTestClient) -> None:
    _w, ticket_id, version = await taken(client)
    response = await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {"text": "Je reste", "status": "pending", "version": str(version - 1)},
        **HTMX,
    )
    assert response.status_code == 409
    assert "Je reste</textarea>" in response.text
    assert 'role="alert"' in response.text
    # The composer comes back with the fresh version, ready to be sent again.
    assert f'name="version" value="{version}"' in response.text


async def test_send_answers_with_an_empty_composer_and_the_page_out_of_band(
    client: AsyncTestClient,
) -> None:
    _w, ticket_id, version = await taken(client)
    response = await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {"text": "Je passe à 14 h", "kind": "note", "status": "pending", "version": str(version)},
        **HTMX,
    )
    assert response.status_code == 200
    assert "</textarea>" in response.text and "Je passe à 14 h</textarea>" not in response.text
    assert f'id="timeline-{ticket_id}" hx-swap-oob="true"' in response.text
    assert f'id="facts-{ticket_id}"' in response.text
    note = await FollowUp.select().where(FollowUp.ticket == ticket_id).first()
    assert note["private"] and note["text"] == "Je passe à 14 h"


async def test_canned_reply_is_inserted_after_the_typed_text_and_counted_once_sent(
    client: AsyncTestClient,
) -> None:
    w, ticket_id, version = await taken(client)
    row = await CannedReply.insert(
        CannedReply(
            title="Accusé",
            body="Bonjour {requester}, je prends {ticket_number}.",
            language="fr",
            owner=w.tech.id,
        )
    ).returning(CannedReply.id)
    canned_id = row[0]["id"]
    page = (await client.get(f"/tickets/{ticket_id}")).text
    assert f'<option value="{canned_id}"' in page
    inserted = await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {"text": "Déjà écrit", "insert": "1", "canned_id": str(canned_id), "canned_ids": ""},
        **HTMX,
    )
    assert inserted.status_code == 200
    expected = f"Déjà écrit\n\nBonjour Alice Martin, je prends #{ticket_id}.</textarea>"
    assert expected in inserted.text
    assert f'name="canned_ids" value="{canned_id}"' in inserted.text
    assert await FollowUp.count() == 0  # inserting sends nothing
    uses = await CannedReply.select(CannedReply.uses).where(CannedReply.id == canned_id).first()
    assert uses["uses"] == 0
    await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {"text": "Bonjour, c'est noté.", "canned_ids": str(canned_id), "version": str(version)},
        **HTMX,
    )
    uses = await CannedReply.select(CannedReply.uses).where(CannedReply.id == canned_id).first()
    assert uses["uses"] == 1


async def test_unknown_canned_reply_is_a_field_error(client: AsyncTestClient) -> None:
    _w, ticket_id, _version = await taken(client)
    response = await post(
        client,
        f"/tickets/{ticket_id}/answer",
        {"text": "Mon texte", "insert": "1", "canned_id": "987654"},
        **HTMX,
    )
    assert response.status_code == 422
    assert 'id="canned_id-error"' in response.text and "Mon texte</textarea>" in response.text


async def test_a_fact_edited_in_place_answers_with_the_panel(client: AsyncTestClient) -> None:
    _w, ticket_id, version = await taken(client)
    response = await post(
        client,
        f"/tickets/{ticket_id}/fields",
        {"priority": "very_high", "version": str(version)},
        **HTMX,
        **{"hx-target": f"facts-{ticket_id}"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<aside class="ticket-facts" id="facts-{ticket_id}"')
    assert 'id="ticket-main"' not in response.text
    # The composer follows (fresh version) out of band.
    assert f'id="composer-{ticket_id}"' in response.text
    assert f'name="version" value="{version + 1}"' in response.text
    bad = await post(
        client,
        f"/tickets/{ticket_id}/fields",
        {"priority": "urgentissime", "version": str(version + 1)},
        **HTMX,
        **{"hx-target": f"facts-{ticket_id}"},
    )
    assert bad.status_code == 422
    assert f'id="edit-priority-{ticket_id}" open' in bad.text


async def test_canned_pages_create_edit_and_archive(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.login(client, "tech@desk.test")
    empty = await post(
        client, "/canned", {"title": "", "body": "Texte gardé", "language": "fr", "scope": "me"}
    )
    assert empty.status_code == 422 and "Texte gardé</textarea>" in empty.text
    created = await post(
        client,
        "/canned",
        {
            "title": "Accusé",
            "body": "Bonjour {requester}",
            "language": "fr",
            "scope": str(w.group_id),
            "reference": "ack",
        },
    )
    assert created.status_code == 303
    row = await CannedReply.select().first()
    assert row["group"] == w.group_id and row["owner"] is None
    listing = (await client.get("/canned")).text
    assert "Accusé" in listing
    edited = await post(
        client,
        f"/canned/{row['id']}",
        {"title": "Accusé de réception", "body": "Bonjour", "language": "en", "scope": "me"},
    )
    assert edited.status_code == 303
    await post(client, f"/canned/{row['id']}/archive", {"archived": "1"})
    assert "Accusé de réception" not in (await client.get("/canned")).text
    assert "Accusé de réception" in (await client.get("/canned?archived=1")).text

    # Another technician does not see it: a 404, like a missing one.
    await factories.user("other@desk.test", Role.TECHNICIAN, None, "Olga Autre")
    client.cookies.clear()
    await factories.login(client, "other@desk.test")
    assert (await client.get(f"/canned/{row['id']}")).status_code == 404
    assert (await post(client, f"/canned/{row['id']}/archive", {})).status_code == 404
