"""The service catalogue through the admin pages: categories as a tree with names in each
language, request types that override routing, groups (members, next tier, e-mail),
history, import and export; and what readers then see."""

from __future__ import annotations

import json

from litestar.testing import AsyncTestClient

from server.db.catalogue_tables import CatalogueHistory, LabelTranslation, RequestType
from server.db.tables import Category, Group, GroupMember, Ticket, User
from server.domain.vocabulary import Role
from tests import factories
from tests.web.test_tickets_web import post

ADMIN_EMAIL = "admin@desk.test"


async def admin_world() -> factories.World:
    w = await factories.world()
    await factories.user(ADMIN_EMAIL, Role.ADMIN, None, "Ada Admin")
    return w


def category_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "Dossier patient informatisé",
        "name_en": "Electronic health record",
        "name_ru": "Электронная медицинская карта",
        "description": "",
        "code": "",
        "parent_id": "",
        "default_priority": "medium",
        "default_group_id": "",
        "establishment_id": "",
        "position": "0",
    }
    form.update(changes)
    return form


async def test_admin_builds_the_tree_and_every_change_is_in_the_history(
    client: AsyncTestClient,
) -> None:
    w = await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    created = await post(client, "/admin/catalogue", category_form(name="Applications métier"))
    assert created.status_code == 303
    parent = await Category.select().where(Category.code == "applications-metier").first()
    assert parent is not None
    child = await post(
        client,
        "/admin/catalogue",
        category_form(parent_id=str(parent["id"]), default_group_id=str(w.group_id)),
    )
    assert child.status_code == 303
    child_id = int(child.headers["location"].rsplit("/", 1)[1])
    row = await Category.select().where(Category.id == child_id).first()
    assert row["parent"] == parent["id"] and row["default_group"] == w.group_id
    names = {
        r["language"]: r["text"]
        for r in await LabelTranslation.select().where(LabelTranslation.entity_id == child_id)
        if r["entity"] == "category" and r["field"] == "name"
    }
    assert names == {"en": "Electronic health record", "ru": "Электронная медицинская карта"}

    # Rename in French and Russian, then try to put the parent under its own child.
    renamed = await post(
        client,
        f"/admin/catalogue/{child_id}",
        category_form(
            name="DPI",
            name_ru="ЭМК",
            code=row["code"],
            parent_id=str(parent["id"]),
            default_group_id=str(w.group_id),
        ),
    )
    assert renamed.status_code == 303
    loop = await post(
        client,
        f"/admin/catalogue/{parent['id']}",
        category_form(name="Applications (typed)", code=parent["code"], parent_id=str(child_id)),
    )
    assert loop.status_code == 422
    assert "sous elle-même" in loop.text  # translated (French by default)
    assert "Applications (typed)" in loop.text  # what was typed is kept
    assert (await Category.select().where(Category.id == parent["id"]).first())["parent"] is None

    archived = await post(client, f"/admin/catalogue/{child_id}/active", {"active": "0"})
    assert archived.status_code == 303
    assert (await Category.select().where(Category.id == child_id).first())["active"] is False
    page = await client.get(f"/admin/catalogue/{child_id}")
    assert page.status_code == 200
    fields = {
        r["field"]
        for r in await CatalogueHistory.select().where(CatalogueHistory.entity_id == child_id)
    }
    assert {"created", "name", "name_ru", "active"} <= fields
    assert "Ada Admin" in page.text and "ЭМК" in page.text


async def test_a_category_with_tickets_is_archived_never_deleted(client: AsyncTestClient) -> None:
    w = await admin_world()
    await factories.ticket(w.requester_a, category_id=str(w.category_id))
    unused = await factories.category("Inutilisée")
    await factories.login(client, ADMIN_EMAIL)
    refused = await post(client, f"/admin/catalogue/{w.category_id}/delete", {})
    assert refused.status_code == 422
    assert "archivez" in refused.text.lower()
    assert await Category.exists().where(Category.id == w.category_id)
    deleted = await post(client, f"/admin/catalogue/{unused}/delete", {})
    assert deleted.status_code == 303
    assert not await Category.exists().where(Category.id == unused)


async def test_a_request_type_overrides_group_and_priority_of_its_category(
    client: AsyncTestClient,
) -> None:
    w = await admin_world()
    other = await factories.group("Réseau (N2)", 2, (w.tech.id,), serves=(w.est_a,))
    await factories.login(client, ADMIN_EMAIL)
    added = await post(
        client,
        f"/admin/catalogue/{w.category_id}/types",
        {
            "name": "Panne réseau",
            "name_ru": "Сбой сети",
            "priority": "very_high",
            "group_id": str(other),
            "code": "",
        },
    )
    assert added.status_code == 303
    kind = await RequestType.select().where(RequestType.category == w.category_id).first()
    assert kind["code"] == "panne-reseau" and kind["group"] == other

    reserved = await post(
        client, f"/admin/catalogue/{w.category_id}/types", {"name": "X", "code": "unspecified"}
    )
    assert reserved.status_code == 422

    client.cookies.clear()
    await factories.login(client, "alice@chu-a.test")
    base = {
        "title": "Plus de réseau",
        "description": "Rien ne passe",
        "category_id": str(w.category_id),
    }
    typed = await post(client, "/tickets", {**base, "request_type_id": str(kind["id"])})
    plain = await post(client, "/tickets", base)
    assert typed.status_code == plain.status_code == 303
    rows = await Ticket.select().order_by(Ticket.id)
    assert (rows[0]["assigned_group"], rows[0]["priority"], rows[0]["request_type"]) == (
        other,
        "very_high",
        kind["id"],
    )
    assert (rows[1]["assigned_group"], rows[1]["priority"]) == (w.group_id, "high")

    # A type of another category is refused, with what was typed kept.
    elsewhere = await factories.category("Matériel")
    wrong = await post(
        client,
        "/tickets",
        {**base, "category_id": str(elsewhere), "request_type_id": str(kind["id"])},
    )
    assert wrong.status_code == 422
    assert "Plus de réseau" in wrong.text
    assert await Ticket.count() == 2


async def test_readers_see_names_in_their_language_and_changes_at_once(
    client: AsyncTestClient,
) -> None:
    w = await admin_world()
    await User.update({User.locale: "ru"}).where(User.id == w.requester_a.id)
    await factories.login(client, "alice@chu-a.test")
    page = await client.get("/tickets/new")
    assert "Incident de production" in page.text  # no Russian name yet: the default

    admin = await AsyncTestClient.__aenter__(AsyncTestClient(app=client.app))
    try:
        await factories.login(admin, ADMIN_EMAIL)
        values = {
            "name": "Incident de production",
            "name_ru": "Инцидент в продуктиве",
            "code": "incident",
            "default_priority": "high",
            "default_group_id": str(w.group_id),
        }
        saved = await post(admin, f"/admin/catalogue/{w.category_id}", values)
        assert saved.status_code == 303
    finally:
        await admin.__aexit__(None, None, None)

    page = await client.get("/tickets/new")
    assert "Инцидент в продуктиве" in page.text
    ticket_id = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    assert "Инцидент в продуктиве" in (await client.get(f"/tickets/{ticket_id}")).text
    assert "Инцидент в продуктиве" in (await client.get("/tickets")).text


async def test_groups_are_created_with_members_next_tier_and_address(
    client: AsyncTestClient,
) -> None:
    w = await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    made = await post(
        client,
        "/admin/groups",
        {
            "name": "Support N1",
            "name_ru": "Поддержка 1-й линии",
            "tier": "1",
            "email": "n1@desk.test",
            "next_tier_id": str(w.group_id),
        },
    )
    assert made.status_code == 303
    group_id = int(made.headers["location"].rsplit("/", 1)[1])
    row = await Group.select().where(Group.id == group_id).first()
    assert (row["tier"], row["email"], row["next_tier"]) == (1, "n1@desk.test", w.group_id)

    bad = await post(client, "/admin/groups", {"name": "Autre", "tier": "zéro", "email": "x"})
    assert bad.status_code == 422
    assert "nombre entier" in bad.text and "adresse e-mail valide" in bad.text
    taken = await post(client, "/admin/groups", {"name": "Support N1", "tier": "1"})
    assert taken.status_code == 422 and "porte déjà ce nom" in taken.text
    assert await Group.count() == 2

    added = await post(client, f"/admin/groups/{group_id}/members", {"user_id": str(w.tech.id)})
    assert added.status_code == 303
    assert await GroupMember.exists().where(
        (GroupMember.group == group_id) & (GroupMember.user == w.tech.id)
    )
    requester = await post(
        client, f"/admin/groups/{group_id}/members", {"user_id": str(w.requester_a.id)}
    )
    assert requester.status_code == 422
    removed = await post(client, f"/admin/groups/{group_id}/members/{w.tech.id}/remove", {})
    assert removed.status_code == 303
    page = await client.get(f"/admin/groups/{group_id}")
    assert "n1@desk.test" in page.text and "Théo Tech" in page.text  # history names him
    assert await CatalogueHistory.count().where(CatalogueHistory.entity == "group") >= 3


async def test_import_is_all_or_nothing_with_faults_per_line(client: AsyncTestClient) -> None:
    await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    before = await Category.count()
    csv_text = (
        "kind,code,parent,name_fr,priority,group\n"
        "category,logiciels,,Logiciels,medium,\n"
        "category,Mauvais Code,,,urgent,\n"
        "category,dpi,inconnu,DPI,high,Groupe fantôme\n"
    )
    response = await client.post(
        "/admin/catalogue/import",
        files={"file": ("catalogue.csv", csv_text.encode(), "text/csv")},
        headers=factories.csrf_header(client),
    )
    assert response.status_code == 422
    assert "Ligne 3" in response.text and "Ligne 4" in response.text
    assert await Category.count() == before

    good = json.dumps(
        {
            "items": [
                {"kind": "group", "name_fr": "Imagerie", "tier": 2},
                {
                    "kind": "category",
                    "code": "pacs",
                    "name_fr": "PACS",
                    "name_ru": "PACS-система",
                    "priority": "high",
                    "group": "Imagerie",
                },
                {"kind": "request_type", "code": "acces", "parent": "pacs", "name_fr": "Accès"},
            ]
        }
    )
    for _ in range(2):  # twice: the second import changes nothing
        done = await client.post(
            "/admin/catalogue/import",
            files={"file": ("catalogue.json", good.encode(), "application/json")},
            headers=factories.csrf_header(client),
            follow_redirects=False,
        )
        assert done.status_code == 303
    assert await Category.count() == before + 1
    assert await RequestType.count() == 1
    exported = await client.get("/admin/catalogue/export?format=json")
    assert exported.status_code == 200
    items = exported.json()["items"]
    assert any(i["code"] == "pacs" and i["name_ru"] == "PACS-система" for i in items)
    csv_export = await client.get("/admin/catalogue/export?format=csv")
    assert csv_export.text.startswith("kind,code,parent,name_fr")


async def test_announcements_are_shown_in_the_reader_language(client: AsyncTestClient) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.web.test_sla_web import local

    w = await admin_world()
    await User.update({User.locale: "ru"}).where(User.id == w.requester_a.id)
    await factories.login(client, ADMIN_EMAIL)
    now = datetime.now(UTC)
    form = {
        "kind": "maintenance",
        "title": "Maintenance du DPI",
        "title_ru": "Обслуживание ЭМК",
        "title_en": "x" * 201,
        "body": "Coupure courte",
        "body_ru": "Короткий перерыв",
        "display_from": local(now - timedelta(minutes=5)),
        "starts_at": local(now + timedelta(hours=1)),
        "ends_at": local(now + timedelta(hours=2)),
    }
    too_long = await post(client, "/admin/sla/announcements/new", form)
    assert too_long.status_code == 422 and "Обслуживание ЭМК" in too_long.text
    from server.db.sla_tables import Announcement

    assert await Announcement.count() == 0  # nothing half-saved
    saved = await post(client, "/admin/sla/announcements/new", {**form, "title_en": ""})
    assert saved.status_code == 303
    client.cookies.clear()
    await factories.login(client, "alice@chu-a.test")
    page = (await client.get("/tickets")).text
    assert "Обслуживание ЭМК" in page and "Короткий перерыв" in page
    client.cookies.clear()
    await factories.login(client, "colette@chu-a.test")  # French: the default text
    assert "Maintenance du DPI" in (await client.get("/tickets")).text


async def test_a_category_reserved_to_a_subtree_is_offered_only_there(
    client: AsyncTestClient,
) -> None:
    w = await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    made = await post(
        client,
        "/admin/catalogue",
        category_form(name="Files d'attente régionales", establishment_id=str(w.est_b)),
    )
    assert made.status_code == 303
    client.cookies.clear()
    await factories.login(client, "alice@chu-a.test")
    assert "Files d&#39;attente régionales" not in (await client.get("/tickets/new")).text
    client.cookies.clear()
    await factories.login(client, "bruno@clinique-b.test")
    assert "Files d&#39;attente régionales" in (await client.get("/tickets/new")).text
