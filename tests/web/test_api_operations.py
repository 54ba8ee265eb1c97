"""The API does what the ticket page does, with the same rules: take, fields, sharing,
escalation, following, attachments, pages, and versions through ETag / If-Match."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.tables import FollowUp, HistoryEntry, Ticket, TicketShare, TicketWatcher
from tests import factories
from tests.web.test_api import bearer


async def test_get_carries_an_etag_and_if_match_guards_writes(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await bearer(w.tech.id)
    read = await client.get(f"/api/v1/tickets/{ticket_id}", headers=tech)
    assert read.headers["etag"] == '"1"'
    unchanged = await client.get(
        f"/api/v1/tickets/{ticket_id}", headers={**tech, "if-none-match": '"1"'}
    )
    assert unchanged.status_code == 304 and unchanged.content == b""
    # A write without any version is refused (428), and nothing changes.
    bare = await client.post(f"/api/v1/tickets/{ticket_id}/take", headers=tech, json={})
    assert bare.status_code == 428, bare.text
    assert "error" in bare.json()
    taken = await client.post(
        f"/api/v1/tickets/{ticket_id}/take",
        headers={**tech, "if-match": read.headers["etag"]},
        json={},
    )
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee"] == "Théo Tech"
    assert taken.json()["status"] == "assigned"
    assert taken.headers["etag"] == '"2"'
    # The same stale If-Match again: 412, not 409, and the ticket stays as it is.
    stale = await client.post(
        f"/api/v1/tickets/{ticket_id}/fields",
        headers={**tech, "if-match": '"1"'},
        json={"priority": "low"},
    )
    assert stale.status_code == 412
    assert "error" in stale.json()
    row = await Ticket.select(Ticket.priority, Ticket.version).where(Ticket.id == ticket_id).first()
    assert row["version"] == 2 and row["priority"] != "low"
    garbage = await client.post(
        f"/api/v1/tickets/{ticket_id}/fields",
        headers={**tech, "if-match": "not-a-version"},
        json={"priority": "low"},
    )
    assert garbage.status_code == 422
    # A version in the body still works (first clients), with its 409 when stale.
    body_stale = await client.post(
        f"/api/v1/tickets/{ticket_id}/fields", headers=tech, json={"priority": "low", "version": 1}
    )
    assert body_stale.status_code == 409
    changed = await client.post(
        f"/api/v1/tickets/{ticket_id}/fields",
        headers={**tech, "if-match": 'W/"2"'},
        json={"priority": "low", "type": "service_request"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["priority"], changed.json()["type"]) == ("low", "service_request")
    fresh = await client.get(
        f"/api/v1/tickets/{ticket_id}", headers={**tech, "if-none-match": '"1"'}
    )
    assert fresh.status_code == 200 and fresh.headers["etag"] == '"3"'


async def test_requesters_are_refused_desk_operations_like_in_the_ui(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    alice = await bearer(w.requester_a.id)
    for path, body in (
        ("take", {"version": 1}),
        ("fields", {"version": 1, "priority": "low"}),
        ("escalate", {"version": 1, "group_id": w.group_id, "reason": "N2"}),
    ):
        response = await client.post(
            f"/api/v1/tickets/{ticket_id}/{path}", headers=alice, json=body
        )
        assert response.status_code == 403, (path, response.text)
    private = await client.post(
        f"/api/v1/tickets/{ticket_id}/follow-ups",
        headers=alice,
        json={"text": "note", "private": True},
    )
    assert private.status_code == 403
    assert await FollowUp.count() == 0
    # Another establishment's requester: the same 404 as a missing ticket, on every route.
    bruno = await bearer(w.requester_b.id)
    for path in ("take", "fields", "shared", "escalate", "watch", "shares", "attachments"):
        hidden = await client.post(
            f"/api/v1/tickets/{ticket_id}/{path}", headers=bruno, json={"version": 1}
        )
        missing = await client.post(
            f"/api/v1/tickets/987654/{path}", headers=bruno, json={"version": 1}
        )
        assert hidden.status_code == missing.status_code, path
        assert hidden.text == missing.text, path
    assert (await Ticket.select(Ticket.version).first())["version"] == 1


async def test_escalation_shared_flag_and_named_shares(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await bearer(w.tech.id)
    other = await factories.group("Réseau (N3)", 3, (), serves=(w.est_a,))
    no_reason = await client.post(
        f"/api/v1/tickets/{ticket_id}/escalate",
        headers=tech,
        json={"version": 1, "group_id": other, "reason": " "},
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["fields"]
    escalated = await client.post(
        f"/api/v1/tickets/{ticket_id}/escalate",
        headers={**tech, "if-match": '"1"'},
        json={"group_id": other, "reason": "Switch en panne"},
    )
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["group"] == "Réseau (N3)"
    assert await HistoryEntry.exists().where(HistoryEntry.field == "escalation")

    alice = await bearer(w.requester_a.id)
    private = await client.post(
        f"/api/v1/tickets/{ticket_id}/shared", headers=alice, json={"shared": False, "version": 2}
    )
    assert private.status_code == 200, private.text
    assert private.json()["shared"] is False
    colette = await bearer(w.colleague_a.id)
    assert (await client.get(f"/api/v1/tickets/{ticket_id}", headers=colette)).status_code == 404
    unknown = await client.post(
        f"/api/v1/tickets/{ticket_id}/shares",
        headers=alice,
        json={"email": "bruno@clinique-b.test"},
    )
    assert unknown.status_code == 422
    shared = await client.post(
        f"/api/v1/tickets/{ticket_id}/shares", headers=alice, json={"email": "colette@chu-a.test"}
    )
    assert shared.status_code == 200, shared.text
    assert [s["full_name"] for s in shared.json()] == ["Colette Roy"]
    assert (await client.get(f"/api/v1/tickets/{ticket_id}", headers=colette)).status_code == 200
    removed = await client.post(
        f"/api/v1/tickets/{ticket_id}/shares/{w.colleague_a.id}/remove", headers=alice, json={}
    )
    assert removed.status_code == 200 and removed.json() == []
    assert await TicketShare.count() == 0


async def test_following_and_attachments(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    colette = await bearer(w.colleague_a.id)
    on = await client.post(
        f"/api/v1/tickets/{ticket_id}/watch", headers=colette, json={"watch": True}
    )
    assert on.status_code == 200, on.text
    assert await TicketWatcher.exists().where(TicketWatcher.user == w.colleague_a.id)
    off = await client.post(
        f"/api/v1/tickets/{ticket_id}/watch", headers=colette, json={"watch": False}
    )
    assert off.status_code == 200
    assert not await TicketWatcher.exists().where(TicketWatcher.user == w.colleague_a.id)

    alice = await bearer(w.requester_a.id)
    uploaded = await client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=alice,
        files={"file": ("journal.txt", b"ligne sans patient\n", "text/plain")},
    )
    assert uploaded.status_code == 201, uploaded.text
    listed = await client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=alice)
    assert [a["filename"] for a in listed.json()] == ["journal.txt"]
    url = listed.json()[0]["url"]
    assert url == uploaded.json()["url"]
    got = await client.get(url, headers=colette)
    assert got.status_code == 200
    assert got.content == b"ligne sans patient\n"
    assert got.headers["content-security-policy"].startswith("default-src 'none'")
    bruno = await bearer(w.requester_b.id)
    hidden = await client.get(url, headers=bruno)
    missing = await client.get("/api/v1/attachments/987654", headers=bruno)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text


async def test_keyset_pages_and_filters(client: AsyncTestClient) -> None:
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a, title=f"Poste {n}") for n in range(5)]
    other = await factories.ticket(w.requester_b, title="Ailleurs")
    tech = await bearer(w.tech.id)
    seen: list[int] = []
    url: str | None = "/api/v1/tickets?limit=2&establishment=" + str(w.est_a)
    pages = 0
    while url:
        page = await client.get(url, headers=tech)
        assert page.status_code == 200, page.text
        seen += [t["id"] for t in page.json()["items"]]
        url = page.json()["next"]
        pages += 1
        if pages == 1:
            # A ticket filed meanwhile does not shift the pages after the first.
            await factories.ticket(w.requester_a, title="Plus récent")
    assert seen == sorted(ids, reverse=True)
    assert pages == 3 and other not in seen
    await client.post(
        f"/api/v1/tickets/{ids[0]}/take", headers={**tech, "if-match": '"1"'}, json={}
    )
    mine = await client.get("/api/v1/tickets?assignee=me", headers=tech)
    assert [t["id"] for t in mine.json()["items"]] == [ids[0]]
    assigned = await client.get("/api/v1/tickets?status=assigned", headers=tech)
    assert [t["id"] for t in assigned.json()["items"]] == [ids[0]]
    later = (await Ticket.select(Ticket.updated_at).where(Ticket.id == ids[0]).first())[
        "updated_at"
    ]
    since = await client.get(
        "/api/v1/tickets", params={"updated_since": later.isoformat()}, headers=tech
    )
    assert [t["id"] for t in since.json()["items"]] == [ids[0]]
    for bad in ("cursor=%%%", "limit=0", "limit=1000", "updated_since=yesterday"):
        refused = await client.get(f"/api/v1/tickets?{bad}", headers=tech)
        assert refused.status_code == 422, bad


async def test_openapi_documents_every_error(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    take = schema["paths"]["/api/v1/tickets/{ticket_id}/take"]["post"]
    for status in ("400", "401", "403", "404", "409", "412", "422", "428"):
        assert status in take["responses"], status
        content = take["responses"][status]["content"]["application/json"]["schema"]
        assert content, status
    assert any(p["name"] == "If-Match" for p in take["parameters"])
    assert "/api/v1/attachments/{attachment_id}" in schema["paths"]
