"""Issue 14 through the pages: filing for someone, the picker, the category preview, the
ticket page's intake facts, the establishment's intake group, the triage list."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.intake_tables import IntakeGroup, TicketIntake
from server.db.tables import Ticket, User
from server.domain.vocabulary import Role
from server.services import tickets
from tests import factories
from tests.integration.test_intake import _new, desk
from tests.web.test_tickets_web import post


async def test_picker_lists_served_people_with_their_establishment(
    client: AsyncTestClient,
) -> None:
    d = await desk()
    await factories.login(client, "n1@desk.test")
    found = await client.get("/intake/requesters", params={"requester_search": "chlo"})
    assert found.status_code == 200
    assert "Chloé Clin" in found.text and "SUD" in found.text
    hidden = await client.get("/intake/requesters", params={"requester_search": "oscar"})
    assert "Oscar" not in hidden.text
    assert f'value="{d.outsider.id}"' not in hidden.text


async def test_picker_does_not_exist_for_requesters(client: AsyncTestClient) -> None:
    await desk()
    await factories.login(client, "clin@sud.test")
    response = await client.get("/intake/requesters", params={"requester_search": "chlo"})
    assert response.status_code == 404


async def test_technician_files_a_phone_ticket_for_a_clinician(client: AsyncTestClient) -> None:
    d = await desk()
    await factories.login(client, "n1@desk.test")
    form = await client.get("/tickets/new")
    assert 'name="requester_search"' in form.text and 'name="source"' in form.text
    response = await post(
        client,
        "/tickets",
        {
            "title": "Imprimante de l'unité",
            "description": "Bourrage permanent.",
            "requester_id": str(d.clinician.id),
            "source": "phone",
            "phones": "01 23 45 67 89\n06 11 22 33 44",
        },
    )
    assert response.status_code == 303, response.text
    row = await Ticket.select().order_by(Ticket.id, ascending=False).first()
    assert (row["requester"], row["establishment"], row["source"]) == (
        d.clinician.id,
        d.south,
        "phone",
    )
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Téléphone" in page.text  # the source, in the technician's language
    assert "Nina Un" in page.text  # filed by
    assert "06 11 22 33 44" in page.text


async def test_a_forged_requester_is_a_404_and_the_form_keeps_what_was_typed(
    client: AsyncTestClient,
) -> None:
    d = await desk()
    await factories.login(client, "n1@desk.test")
    response = await post(
        client,
        "/tickets",
        {
            "title": "Demande forgée",
            "description": "Texte conservé.",
            "requester_id": str(d.outsider.id),
        },
    )
    assert response.status_code == 404
    assert "Texte conservé." in response.text
    assert await Ticket.count() == 0


async def test_a_requester_sending_a_requester_id_is_refused(client: AsyncTestClient) -> None:
    d = await desk()
    await factories.login(client, "clin@sud.test")
    response = await post(
        client,
        "/tickets",
        {"title": "Pour un autre", "description": "Non.", "requester_id": str(d.outsider.id)},
    )
    assert response.status_code == 403
    assert await Ticket.count() == 0


async def test_invalid_contact_details_are_a_422_with_translated_errors(
    client: AsyncTestClient,
) -> None:
    await desk()
    await factories.login(client, "clin@sud.test")
    response = await post(
        client,
        "/tickets",
        {
            "title": "Poste lent",
            "description": "Très lent.",
            "contact_email": "pas-une-adresse",
            "phones": "appelez-moi",
        },
    )
    assert response.status_code == 422
    assert (
        "Saisissez une adresse électronique valide." in response.text or "valide" in response.text
    )
    assert "Très lent." in response.text
    assert await Ticket.count() == 0


async def test_category_preview_names_priority_and_team(client: AsyncTestClient) -> None:
    d = await desk()
    loose = await factories.category("Divers", group_id=None)
    routed = await factories.category("Logiciel clinique", group_id=d.apps_group)
    await factories.login(client, "clin@sud.test")
    shown = await client.get("/intake/category-preview", params={"category_id": str(routed)})
    assert shown.status_code == 200
    assert "Applications (N2)" in shown.text and "Haute" in shown.text
    fallback = await client.get("/intake/category-preview", params={"category_id": str(loose)})
    assert "Accueil (N1)" in fallback.text
    bad = await client.get("/intake/category-preview", params={"category_id": "zzz"})
    assert bad.status_code == 200


async def test_staff_edit_the_contact_details_on_the_ticket_page(client: AsyncTestClient) -> None:
    d = await desk()
    ticket_id, _ = await tickets.open_ticket(d.clinician, _new())
    await factories.login(client, "tri@desk.test")
    bad = await post(
        client, f"/tickets/{ticket_id}/contact", {"phones": "abc"}, **{"hx-request": "true"}
    )
    assert bad.status_code == 422
    ok = await post(
        client,
        f"/tickets/{ticket_id}/contact",
        {"contact_email": "unite@sud.test", "phones": "514 555 0101"},
    )
    assert ok.status_code == 303
    facts = await TicketIntake.select().where(TicketIntake.ticket == ticket_id).first()
    assert (facts["contact_email"], facts["phones"]) == ("unite@sud.test", "514 555 0101")


async def test_admin_sets_the_intake_group_on_the_establishment_page(
    client: AsyncTestClient,
) -> None:
    d = await desk()
    await factories.login(client, "admin@desk.test")
    page = await client.get(f"/admin/establishments/{d.north}")
    assert "Hérité : Accueil (N1)" in page.text
    response = await post(
        client,
        f"/admin/establishments/{d.north}",
        {
            "name": "CH Nord",
            "code": "NOR",
            "parent_id": str(d.region),
            "timezone": "Europe/Paris",
            "intake_group_id": str(d.apps_group),
        },
    )
    assert response.status_code == 303
    row = await IntakeGroup.select().where(IntakeGroup.establishment == d.north).first()
    assert row["group"] == d.apps_group
    refused = await post(
        client,
        f"/admin/establishments/{d.north}",
        {
            "name": "CH Nord",
            "code": "NOR",
            "parent_id": str(d.region),
            "timezone": "Europe/Paris",
            "intake_group_id": "987654",
        },
    )
    assert refused.status_code == 422


async def test_triage_tab_lists_the_intake_groups_tickets(client: AsyncTestClient) -> None:
    d = await desk()
    ticket_id, _ = await tickets.open_ticket(d.clinician, _new(title="À trier vite"))
    await factories.login(client, "tri@desk.test")
    page = await client.get("/tickets", params={"scope": "triage"})
    assert page.status_code == 200
    assert "À trier vite" in page.text and f"/tickets/{ticket_id}" in page.text


async def test_requesters_have_no_triage_scope(client: AsyncTestClient) -> None:
    await desk()
    await factories.login(client, "clin@sud.test")
    response = await client.get("/tickets", params={"scope": "triage"})
    assert response.status_code == 422  # an unknown choice, said in words, never a 500


async def test_new_contact_through_the_form(client: AsyncTestClient) -> None:
    d = await desk()
    await factories.login(client, "n1@desk.test")
    response = await post(
        client,
        "/tickets",
        {
            "title": "Nouvelle interne",
            "description": "Pas encore de compte.",
            "new_contact": "1",
            "new_name": "Inès Interne",
            "new_email": "ines@sud.test",
            "new_establishment": str(d.south),
            "source": "walk_in",
        },
    )
    assert response.status_code == 303, response.text
    person = await User.select().where(User.email == "ines@sud.test").first()
    assert person["role"] == Role.REQUESTER.value and person["password_hash"] == ""


async def test_the_form_offers_the_categorys_request_types_and_previews_their_route(
    client: AsyncTestClient,
) -> None:
    """Québec guide: route by category, then request type (the type's team and priority)."""
    from server.domain.catalogue import parse_request_type
    from server.services import catalogue

    d = await desk()
    software = await factories.category("Logiciel clinique", group_id=d.apps_group)
    kind = await catalogue.save_request_type(
        None,
        software,
        None,
        parse_request_type({"name": "Accès urgent", "priority": "very_high", "group_id": ""}),
    )
    await factories.login(client, "clin@sud.test")
    form = await client.get("/tickets/new")
    assert 'id="request-type-field"' in form.text and 'name="request_type_id"' not in form.text
    # Choosing the category brings its types (out of band) with the category's route.
    shown = await client.get(
        "/intake/category-preview",
        params={"category_id": str(software)},
        headers={"HX-Request": "true", "HX-Trigger": "category_id"},
    )
    assert 'hx-swap-oob="true"' in shown.text and f'value="{kind}"' in shown.text
    assert "Applications (N2)" in shown.text
    # Choosing the type previews its own priority, without redrawing the field.
    typed = await client.get(
        "/intake/category-preview",
        params={"category_id": str(software), "request_type_id": str(kind)},
        headers={"HX-Request": "true", "HX-Trigger": "request_type_id"},
    )
    assert "Très haute" in typed.text and "request-type-field" not in typed.text
    filed = await post(
        client,
        "/tickets",
        {
            "title": "Accès au DPI",
            "description": "Compte bloqué aux urgences.",
            "category_id": str(software),
            "request_type_id": str(kind),
        },
    )
    assert filed.status_code == 303, filed.text
    row = await Ticket.select().order_by(Ticket.id, ascending=False).first()
    assert (row["request_type"], row["priority"]) == (kind, "very_high")
    page = await client.get(filed.headers["location"])
    assert 'class="request-type">Accès urgent<' in page.text
    # A type of no category is refused beside its field, with what was typed kept.
    refused = await post(
        client,
        "/tickets",
        {"title": "Autre", "description": "x", "request_type_id": str(kind)},
    )
    assert refused.status_code == 422 and 'value="Autre"' in refused.text
