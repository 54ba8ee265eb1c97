"""The catalogue API (/api/v1/catalogue): admins only, the API's error shape, translated
messages, per-line import faults, and a document that round-trips."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.catalogue_tables import RequestType
from server.db.tables import Category, Group
from server.domain.vocabulary import Role
from tests import factories
from tests.web.test_api import bearer


async def test_only_admins_reach_the_catalogue_api(client: AsyncTestClient) -> None:
    w = await factories.world()
    for actor in (w.tech, w.supervisor, w.requester_a):
        headers = await bearer(actor.id)
        assert (await client.get("/api/v1/catalogue", headers=headers)).status_code == 404
        made = await client.post(
            "/api/v1/catalogue/categories", json={"name": "Pirate"}, headers=headers
        )
        assert made.status_code == 404
    assert not await Category.exists().where(Category.name == "Pirate")


async def test_admin_manages_categories_types_and_groups(client: AsyncTestClient) -> None:
    w = await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    headers = await bearer(admin.id)
    group = await client.post(
        "/api/v1/catalogue/groups",
        json={"name": "Laboratoire", "name_ru": "Лаборатория", "tier": 2},
        headers=headers,
    )
    assert group.status_code == 201
    group_id = group.json()["id"]
    made = await client.post(
        "/api/v1/catalogue/categories",
        json={
            "name": "Résultats de laboratoire",
            "name_ru": "Лабораторные данные",
            "code": "labo",
            "default_priority": "high",
            "default_group_id": group_id,
        },
        headers=headers,
    )
    assert made.status_code == 201
    category_id = made.json()["id"]
    kind = await client.post(
        f"/api/v1/catalogue/categories/{category_id}/request-types",
        json={"name": "Résultat manquant", "priority": "very_high", "group_id": w.group_id},
        headers=headers,
    )
    assert kind.status_code == 201
    assert (await RequestType.select().where(RequestType.id == kind.json()["id"]).first())[
        "group"
    ] == w.group_id

    listed = await client.get(
        "/api/v1/catalogue/categories", headers={**headers, "accept-language": "ru"}
    )
    entry = next(c for c in listed.json() if c["id"] == category_id)
    assert entry["name"] == "Лабораторные данные"
    assert entry["request_types"][0]["priority"] == "very_high"

    # Bad input: a 422 with translated messages per field, and nothing changed.
    bad = await client.post(
        f"/api/v1/catalogue/categories/{category_id}",
        json={"name": "", "code": "Labo !", "parent_id": category_id},
        headers={**headers, "accept-language": "fr"},
    )
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) >= {"name", "code"}
    assert bad.json()["fields"]["name"] == "Ce champ est obligatoire."
    loop = await client.post(
        f"/api/v1/catalogue/categories/{category_id}",
        json={"name": "Labo", "code": "labo", "parent_id": category_id},
        headers=headers,
    )
    assert loop.status_code == 422 and "parent_id" in loop.json()["fields"]
    assert (await Category.select().where(Category.id == category_id).first())["name"] == (
        "Résultats de laboratoire"
    )
    archived = await client.post(
        f"/api/v1/catalogue/categories/{category_id}/active",
        json={"active": False},
        headers=headers,
    )
    assert archived.status_code == 200
    renamed = await client.post(
        f"/api/v1/catalogue/groups/{group_id}",
        json={"name": "Laboratoire (N2)", "tier": 2, "next_tier_id": group_id},
        headers=headers,
    )
    assert renamed.status_code == 422  # a group cannot escalate to itself
    assert await Group.exists().where(Group.name == "Laboratoire")


async def test_export_then_import_round_trips_and_faults_name_their_line(
    client: AsyncTestClient,
) -> None:
    await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    headers = await bearer(admin.id)
    document = (await client.get("/api/v1/catalogue", headers=headers)).json()
    again = await client.post("/api/v1/catalogue/import", json=document, headers=headers)
    assert again.status_code == 200
    assert (await client.get("/api/v1/catalogue", headers=headers)).json() == document

    items = [
        *document["items"],
        {"kind": "category", "code": "x", "name_fr": "X", "priority": "high", "parent": "nowhere"},
    ]
    refused = await client.post("/api/v1/catalogue/import", json={"items": items}, headers=headers)
    assert refused.status_code == 422
    line = len(items)
    assert refused.json()["fields"] == {f"{line}:parent": "Aucune catégorie n’a ce code."}
    assert not await Category.exists().where(Category.code == "x")
