"""The JSON API: bearer tokens, validation, 404s, stale versions, OpenAPI."""

from litestar.testing import AsyncTestClient

from server.db.tables import Ticket
from server.services import accounts
from tests import factories


async def bearer(actor_id: int) -> dict[str, str]:
    return {"authorization": f"Bearer {await accounts.issue_api_token(actor_id)}"}


async def test_api_requires_a_valid_token(client: AsyncTestClient) -> None:
    w = await factories.world()
    assert (await client.get("/api/v1/tickets")).status_code == 401
    bad = await client.get("/api/v1/tickets", headers={"authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json() == {"error": "Veuillez vous connecter."} or "error" in bad.json()
    # A browser session cookie does not authenticate the API.
    await factories.login(client, "alice@chu-a.test")
    assert (await client.get("/api/v1/tickets")).status_code == 401
    assert w


async def test_create_read_and_list(client: AsyncTestClient) -> None:
    w = await factories.world()
    headers = await bearer(w.requester_a.id)
    created = await client.post(
        "/api/v1/tickets",
        headers=headers,
        json={
            "title": "Messagerie sécurisée indisponible",
            "description": "Depuis 8 h",
            "category_id": w.category_id,
            "type": "outage",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["priority"] == "high"
    assert body["status"] == "new"
    assert body["establishment"] == "CHA"
    assert body["version"] == 1
    source = await Ticket.select(Ticket.source).where(Ticket.id == body["id"]).first()
    assert source == {"source": "api"}
    listed = await client.get("/api/v1/tickets?tab=open", headers=headers)
    assert [t["id"] for t in listed.json()["items"]] == [body["id"]]
    fetched = await client.get(f"/api/v1/tickets/{body['id']}", headers=headers)
    assert fetched.json()["title"] == "Messagerie sécurisée indisponible"


async def test_validation_errors_are_4xx_json_and_store_nothing(client: AsyncTestClient) -> None:
    w = await factories.world()
    headers = {**await bearer(w.requester_a.id), "accept-language": "en"}
    wrong_type = await client.post(
        "/api/v1/tickets", headers=headers, json={"title": 5, "description": "x"}
    )
    assert wrong_type.status_code == 400
    invalid = await client.post(
        "/api/v1/tickets",
        headers=headers,
        json={
            "title": "ok title",
            "description": "",
            "service_url": "ftp://x",
            "category_id": 999,
        },
    )
    assert invalid.status_code == 422
    assert set(invalid.json()["fields"]) == {"description", "service_url"}
    not_json = await client.post(
        "/api/v1/tickets", headers={**headers, "content-type": "application/json"}, content=b"{oops"
    )
    assert not_json.status_code == 400
    assert await Ticket.count() == 0


async def test_other_establishment_is_404_like_missing(client: AsyncTestClient) -> None:
    w = await factories.world()
    hidden = await factories.ticket(w.requester_b)
    headers = await bearer(w.requester_a.id)
    invisible = await client.get(f"/api/v1/tickets/{hidden}", headers=headers)
    missing = await client.get("/api/v1/tickets/424242", headers=headers)
    assert invisible.status_code == missing.status_code == 404
    assert invisible.json() == missing.json()
    follow = await client.post(
        f"/api/v1/tickets/{hidden}/follow-ups", headers=headers, json={"text": "hello"}
    )
    assert follow.status_code == 404


async def test_status_change_with_stale_version_is_409(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    headers = await bearer(w.tech.id)
    assigned = await client.post(
        f"/api/v1/tickets/{ticket_id}/assign",
        headers=headers,
        json={"version": 1, "assignee_id": w.tech.id, "group_id": w.group_id},
    )
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == "Théo Tech"
    assert assigned.json()["version"] == 2
    stale = await client.post(
        f"/api/v1/tickets/{ticket_id}/status",
        headers=headers,
        json={"version": 1, "status": "pending"},
    )
    assert stale.status_code == 409
    fresh = await client.post(
        f"/api/v1/tickets/{ticket_id}/status",
        headers=headers,
        json={"version": 2, "status": "resolved", "solution": "OK"},
    )
    assert fresh.status_code == 200
    assert fresh.json()["status"] == "resolved"
    refused = await client.post(
        f"/api/v1/tickets/{ticket_id}/status",
        headers=headers,
        json={"version": 3, "status": "pending"},
    )
    assert refused.status_code == 422


async def test_requester_cannot_assign_through_the_api(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    response = await client.post(
        f"/api/v1/tickets/{ticket_id}/assign",
        headers=await bearer(w.requester_a.id),
        json={"version": 1, "assignee_id": w.requester_a.id},
    )
    assert response.status_code == 403
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["assignee"] is None


async def test_follow_ups_respect_privacy(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await bearer(w.tech.id)
    await client.post(
        f"/api/v1/tickets/{ticket_id}/follow-ups",
        headers=tech,
        json={"text": "interne", "private": True, "minutes": 10},
    )
    await client.post(
        f"/api/v1/tickets/{ticket_id}/follow-ups", headers=tech, json={"text": "public"}
    )
    seen = await client.get(f"/api/v1/tickets/{ticket_id}", headers=await bearer(w.requester_a.id))
    assert [f["text"] for f in seen.json()["follow_ups"]] == ["public"]
    desk = await client.get(f"/api/v1/tickets/{ticket_id}", headers=tech)
    assert [f["text"] for f in desk.json()["follow_ups"]] == ["interne", "public"]  # in order


async def test_openapi_schema_documents_the_api(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/tickets" in schema["paths"]
    assert "/api/v1/tickets/{ticket_id}/status" in schema["paths"]
    assert not any(path.startswith("/tickets") for path in schema["paths"])


def test_every_api_operation_documents_its_errors() -> None:
    """A client library generated from /schema knows each refusal and its body."""
    from server.app import create_app

    schema = create_app().openapi_schema.to_schema()
    undocumented = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1")
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        and not {"400", "401", "404"} <= set(operation.get("responses", {}))
    ]
    assert undocumented == []
