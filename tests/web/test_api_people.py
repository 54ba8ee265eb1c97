"""People through the API: the desk finds the requesters it serves, admins manage accounts
with the same rules as /admin/users, requesters find nothing."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.mail_tables import AccountMail
from server.db.tables import User
from server.domain.vocabulary import Role
from tests import factories
from tests.web.test_api import bearer


async def test_the_desk_looks_up_only_the_requesters_it_serves(client: AsyncTestClient) -> None:
    w = await factories.world()
    narrow = await factories.user("n1@desk.test", Role.TECHNICIAN, None, "Nina Un")
    await factories.group("Local A", 1, (narrow.id,), serves=(w.est_a,))
    headers = await bearer(narrow.id)
    listed = await client.get("/api/v1/people", headers=headers)
    assert listed.status_code == 200, listed.text
    assert {p["email"] for p in listed.json()["items"]} == {
        "alice@chu-a.test",
        "colette@chu-a.test",
    }
    found = await client.get("/api/v1/people?q=COLETTE", headers=headers)
    assert [p["full_name"] for p in found.json()["items"]] == ["Colette Roy"]
    assert (await client.get(f"/api/v1/people/{w.requester_a.id}", headers=headers)).json()[
        "establishment"
    ] == "CHA"
    # Another establishment's requester, a colleague of the desk, a missing id: one 404.
    answers = [
        await client.get(f"/api/v1/people/{user_id}", headers=headers)
        for user_id in (w.requester_b.id, w.tech.id, 987654)
    ]
    assert {a.status_code for a in answers} == {404}
    assert answers[0].text == answers[1].text == answers[2].text
    # Requesters: the routes do not exist; the desk may not change accounts.
    alice = await bearer(w.requester_a.id)
    assert (await client.get("/api/v1/people", headers=alice)).status_code == 404
    change = await client.post(
        f"/api/v1/people/{w.requester_a.id}", headers=headers, json={"active": False}
    )
    assert change.status_code == 404
    assert (await User.select(User.active).where(User.id == w.requester_a.id).first())["active"]


async def test_admins_invite_and_update_accounts(client: AsyncTestClient) -> None:
    w = await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    headers = {**await bearer(admin.id), "accept-language": "en"}
    created = await client.post(
        "/api/v1/people",
        headers=headers,
        json={
            "email": "Nouveau@CHU-A.test",
            "full_name": "Noé Nouveau",
            "establishment_id": w.est_a,
        },
    )
    assert created.status_code == 201, created.text
    person = created.json()
    assert (person["email"], person["role"], person["establishment"]) == (
        "nouveau@chu-a.test",
        "requester",
        "CHA",
    )
    assert await AccountMail.count() == 1  # the activation link is queued
    duplicate = await client.post(
        "/api/v1/people",
        headers=headers,
        json={"email": "nouveau@chu-a.test", "full_name": "Autre"},
    )
    assert duplicate.status_code == 422 and "email" in duplicate.json()["fields"]
    updated = await client.post(
        f"/api/v1/people/{person['id']}",
        headers=headers,
        json={"role": "technician", "establishment_id": None, "active": False},
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["role"], updated.json()["establishment"], updated.json()["active"]) == (
        "technician",
        None,
        False,
    )
    bad_role = await client.post(
        f"/api/v1/people/{person['id']}", headers=headers, json={"role": "boss"}
    )
    assert bad_role.status_code == 422 and "role" in bad_role.json()["fields"]
    myself = await client.post(
        f"/api/v1/people/{admin.id}", headers=headers, json={"active": False}
    )
    assert myself.status_code == 422
    missing = await client.post("/api/v1/people/987654", headers=headers, json={"active": True})
    assert missing.status_code == 404
    listed = await client.get("/api/v1/people?role=admin", headers=headers)
    assert [p["email"] for p in listed.json()["items"]] == ["admin@desk.test"]
