"""Patient identifiers typed into tickets: shown next to the field, redacted or sent on request."""

from litestar.testing import AsyncTestClient

from server.db.tables import FollowUp, Ticket
from server.services import accounts
from tests import factories

NIR = "1 85 05 78 006 084 91"  # fictional, with a valid key


async def post(client: AsyncTestClient, path: str, data: dict, **headers: str):
    return await client.post(
        path,
        data=data,
        headers={**factories.csrf_header(client), "accept-language": "fr", **headers},
    )


async def test_new_ticket_with_a_nir_asks_then_redacts(client: AsyncTestClient) -> None:
    await factories.world()
    await factories.login(client, "alice@chu-a.test")
    form = {"title": "Dossier inaccessible", "description": f"Patient NIR {NIR} bloqué"}
    asked = await post(client, "/tickets", form)
    assert asked.status_code == 422
    assert "identifiants de patient" in asked.text.lower() or "phi-notice" in asked.text
    assert f"<mark>{NIR}</mark>" in asked.text
    assert 'name="phi" value="redact"' in asked.text
    assert await Ticket.count() == 0
    done = await post(client, "/tickets", {**form, "phi": "redact"})
    assert done.status_code in (200, 303)
    row = await Ticket.select(Ticket.description).first()
    assert row["description"] == "Patient NIR [NIR] bloqué"


async def test_send_anyway_keeps_the_text(client: AsyncTestClient) -> None:
    await factories.world()
    await factories.login(client, "alice@chu-a.test")
    form = {"title": "Compte de test", "description": "Écrire à support@example.org", "phi": "send"}
    await post(client, "/tickets", form)
    row = await Ticket.select(Ticket.description).first()
    assert row["description"] == "Écrire à support@example.org"


async def test_follow_up_with_identifier_is_held_back(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    asked = await post(
        client,
        f"/tickets/{ticket_id}/follow-ups",
        {"text": f"Son NIR est {NIR}"},
        **{"hx-request": "true"},
    )
    assert asked.status_code == 422
    assert f"<mark>{NIR}</mark>" in asked.text
    assert f"Son NIR est {NIR}" in asked.text  # what was typed is kept in the form
    assert await FollowUp.count() == 0
    await post(
        client,
        f"/tickets/{ticket_id}/follow-ups",
        {"text": f"Son NIR est {NIR}", "phi": "redact"},
        **{"hx-request": "true"},
    )
    assert (await FollowUp.select(FollowUp.text).first())["text"] == "Son NIR est [NIR]"


async def test_api_reports_kinds_and_accepts_a_decision(client: AsyncTestClient) -> None:
    w = await factories.world()
    headers = {
        "authorization": f"Bearer {await accounts.issue_api_token(w.requester_a.id)}",
        "accept-language": "en",
    }
    body = {"title": "Account locked", "description": f"NIR {NIR}"}
    asked = await client.post("/api/v1/tickets", json=body, headers=headers)
    assert asked.status_code == 422
    assert "social security number" in asked.json()["fields"]["description"]
    done = await client.post("/api/v1/tickets", json={**body, "phi": "redact"}, headers=headers)
    assert done.status_code == 201
    assert done.json()["description"] == "NIR [NIR]"


async def test_staff_remove_patient_data_written_earlier(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(
        w.requester_a, description="Mme Élodie Marchand, chambre 12", phi="send"
    )
    await factories.login(client, "tech@desk.test")
    response = await post(
        client, f"/tickets/{ticket_id}/redact",
        {"version": "1", "target": "description", "hide": "Élodie Marchand"},
        **{"hx-request": "true"},
    )  # fmt: skip
    assert response.status_code == 200
    row = await Ticket.select(Ticket.description).where(Ticket.id == ticket_id).first()
    assert row["description"] == "Mme [REDACTED], chambre 12"
    page = await client.get(f"/tickets/{ticket_id}")
    assert "Élodie" not in page.text
    assert "Données de patient retirées de Description" in page.text
    nothing = await post(
        client, f"/tickets/{ticket_id}/redact",
        {"version": "2", "target": "description", "hide": "absent"}, **{"hx-request": "true"},
    )  # fmt: skip
    assert nothing.status_code == 422


async def test_requesters_cannot_redact(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, description="Texte à garder")
    await factories.login(client, "alice@chu-a.test")
    response = await post(
        client, f"/tickets/{ticket_id}/redact",
        {"version": "1", "target": "description", "hide": "garder"}, **{"hx-request": "true"},
    )  # fmt: skip
    assert response.status_code == 403
    row = await Ticket.select(Ticket.description).where(Ticket.id == ticket_id).first()
    assert row["description"] == "Texte à garder"
