"""Issue 14, intake: every ticket reaches a team, the team is told, staff file for the
people they serve (on both engines)."""

from __future__ import annotations

import os
import subprocess
import sys

import anyio.to_thread
import pytest

from server.db import queries
from server.db.intake_tables import TicketIntake
from server.db.mail_tables import AccountMail
from server.db.notification_tables import InAppNotification
from server.db.tables import Group, Outbox, Ticket, User
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.forms import parse_new_ticket
from server.domain.notifications import Kind
from server.domain.vocabulary import Role, Source, Status
from server.services import intake, tickets
from tests import factories
from tests.conftest import DATABASE_URL


def _new(**fields: str):  # type: ignore[no-untyped-def]
    return parse_new_ticket({"title": "Poste bloqué", "description": "Écran noir.", **fields})


class Desk:
    """A region with two establishments below it; an intake group set on the region."""

    region: int
    north: int
    south: int
    far: int
    intake_group: int
    apps_group: int
    triager: object
    tier1: object
    clinician: object
    outsider: object


async def desk() -> Desk:
    d = Desk()
    d.region = await factories.establishment("Région", "REG")
    d.north = await factories.establishment("CH Nord", "NOR", parent=d.region)
    d.south = await factories.establishment("CH Sud", "SUD", parent=d.region)
    d.far = await factories.establishment("Clinique lointaine", "FAR")
    d.clinician = await factories.user("clin@sud.test", Role.REQUESTER, d.south, "Chloé Clin")
    d.outsider = await factories.user("out@far.test", Role.REQUESTER, d.far, "Oscar Out")
    triager = await factories.user("tri@desk.test", Role.TECHNICIAN, None, "Tristan Tri")
    tier1 = await factories.user("n1@desk.test", Role.TECHNICIAN, d.north, "Nina Un")
    d.intake_group = await factories.group(
        "Accueil (N1)", 1, (triager.id, tier1.id), serves=(d.region,)
    )
    d.apps_group = await factories.group("Applications (N2)", 2, (), serves=(d.region,))
    d.triager = await factories.reload(triager.id)
    d.tier1 = await factories.reload(tier1.id)
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    await intake.set_intake_group(admin, d.region, d.intake_group)
    return d


async def test_uncategorised_ticket_goes_to_the_inherited_intake_group() -> None:
    d = await desk()
    ticket_id, _ = await tickets.open_ticket(d.clinician, _new())
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["assigned_group"] == d.intake_group
    assert row["establishment"] == d.south


async def test_category_without_group_goes_to_intake_and_with_group_to_its_group() -> None:
    d = await desk()
    loose = await factories.category("Divers", group_id=None)
    routed = await factories.category("Logiciel clinique", group_id=d.apps_group)
    loose_id, _ = await tickets.open_ticket(d.clinician, _new(category_id=str(loose)))
    routed_id, _ = await tickets.open_ticket(d.clinician, _new(category_id=str(routed)))
    groups = {
        r["id"]: r["assigned_group"]
        for r in await Ticket.select(Ticket.id, Ticket.assigned_group)
    }
    assert groups[loose_id] == d.intake_group
    assert groups[routed_id] == d.apps_group


async def test_own_intake_group_wins_over_the_parent_and_clearing_inherits_again() -> None:
    d = await desk()
    admin = await factories.reload(
        (await User.select(User.id).where(User.email == "admin@desk.test").first())["id"]
    )
    await intake.set_intake_group(admin, d.south, d.apps_group)
    first, _ = await tickets.open_ticket(d.clinician, _new())
    await intake.set_intake_group(admin, d.south, None)
    second, _ = await tickets.open_ticket(d.clinician, _new())
    groups = {
        r["id"]: r["assigned_group"]
        for r in await Ticket.select(Ticket.id, Ticket.assigned_group)
    }
    assert groups[first] == d.apps_group
    assert groups[second] == d.intake_group


async def test_without_any_intake_group_the_ticket_has_no_group() -> None:
    d = await desk()
    ticket_id, _ = await tickets.open_ticket(d.outsider, _new())
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["assigned_group"] is None


async def test_only_admins_set_intake_groups() -> None:
    d = await desk()
    with pytest.raises(Forbidden):
        await intake.set_intake_group(d.tier1, d.north, d.apps_group)


async def test_receiving_group_members_are_told_in_app_and_by_mail_and_its_address() -> None:
    d = await desk()
    await Group.update({Group.email: "accueil@desk.test"}).where(Group.id == d.intake_group)
    ticket_id, events = await tickets.open_ticket(d.clinician, _new())
    told = await InAppNotification.select(InAppNotification.user).where(
        (InAppNotification.ticket == ticket_id)
        & (InAppNotification.kind == Kind.GROUP_NEW.value)
    )
    assert {r["user"] for r in told} == {d.triager.id, d.tier1.id}
    mailed = await Outbox.select(Outbox.recipient).where(
        (Outbox.ticket == ticket_id) & (Outbox.kind == Kind.GROUP_NEW.value)
    )
    assert {r["recipient"] for r in mailed} == {d.triager.id, d.tier1.id}
    # The bells of both members are refreshed once the change commits.
    assert {d.triager.id, d.tier1.id} <= set(events[0].notified)
    team = await AccountMail.select().where(AccountMail.recipient == "accueil@desk.test")
    assert len(team) == 1
    assert f"/tickets/{ticket_id}" in team[0]["message"]
    assert "Écran noir" not in team[0]["message"]  # link only: the text stays behind login


async def test_group_member_muting_the_kind_hears_nothing_and_the_filer_is_not_told() -> None:
    d = await desk()
    from server.services import notifications

    await notifications.set_preference(d.triager.id, Kind.GROUP_NEW, False)
    ticket_id, _ = await intake.file_ticket(
        d.tier1, _new(), {"requester_id": str(d.clinician.id), "source": "phone"}
    )
    mailed = await Outbox.select(Outbox.recipient).where(
        (Outbox.ticket == ticket_id) & (Outbox.kind == Kind.GROUP_NEW.value)
    )
    assert mailed == []  # the triager muted it, the tier-1 technician filed it
    told = await InAppNotification.select(InAppNotification.user).where(
        (InAppNotification.ticket == ticket_id)
        & (InAppNotification.kind == Kind.GROUP_NEW.value)
    )
    assert {r["user"] for r in told} == {d.triager.id}


async def test_escalation_tells_the_new_groups_address() -> None:
    d = await desk()
    await Group.update({Group.email: "apps@desk.test"}).where(Group.id == d.apps_group)
    ticket_id, _ = await tickets.open_ticket(d.clinician, _new())
    await tickets.escalate(d.triager, ticket_id, 1, group_id=d.apps_group, reason="Logiciel")
    assert await AccountMail.count().where(AccountMail.recipient == "apps@desk.test") == 1


async def test_picker_offers_only_people_the_technician_serves() -> None:
    d = await desk()
    found = await intake.find_requesters(d.tier1, "o")  # too short: nothing
    assert found == []
    found = await intake.find_requesters(d.tier1, "clin")
    assert [r["id"] for r in found] == [d.clinician.id]
    assert found[0]["establishment_code"] == "SUD"
    assert await intake.find_requesters(d.tier1, "oscar") == []
    assert await intake.find_requesters(d.tier1, "out@far") == []


async def test_picker_is_for_staff_only() -> None:
    d = await desk()
    with pytest.raises(Forbidden):
        await intake.find_requesters(d.clinician, "oscar")


async def test_staff_file_a_phone_ticket_in_the_requesters_establishment() -> None:
    d = await desk()
    ticket_id, _ = await intake.file_ticket(
        d.tier1,
        _new(),
        {
            "requester_id": str(d.clinician.id),
            "contact_email": "Poste.Soins@Sud.test",
            "phones": "+33 1 23 45 67 89\n01 98 76 54 32 x12",
        },
    )
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["requester"] == d.clinician.id
    assert row["establishment"] == d.south  # not the technician's own (north)
    facts = await TicketIntake.select().where(TicketIntake.ticket == ticket_id).first()
    assert facts["filed_by"] == d.tier1.id
    assert facts["contact_email"] == "poste.soins@sud.test"
    assert facts["phones"].splitlines() == ["+33 1 23 45 67 89", "01 98 76 54 32 x12"]
    # The requester is acknowledged, as if they had filed it themself.
    ack = await Outbox.select(Outbox.recipient).where(
        (Outbox.ticket == ticket_id) & (Outbox.kind == Kind.CREATED.value)
    )
    assert [r["recipient"] for r in ack] == [d.clinician.id]


async def test_source_is_recorded() -> None:
    d = await desk()
    from dataclasses import replace

    ticket_id, _ = await intake.file_ticket(
        d.tier1, replace(_new(), source=Source.WALK_IN), {"requester_id": str(d.clinician.id)}
    )
    row = await Ticket.select(Ticket.source).where(Ticket.id == ticket_id).first()
    assert row["source"] == Source.WALK_IN.value


async def test_a_forged_requester_outside_reach_is_not_found_and_nothing_is_created() -> None:
    d = await desk()
    for forged in (str(d.outsider.id), "987654", "12abc"):
        with pytest.raises(NotFound):
            await intake.file_ticket(d.tier1, _new(), {"requester_id": forged})
    assert await Ticket.count() == 0


async def test_a_requester_cannot_file_for_someone_else() -> None:
    d = await desk()
    with pytest.raises(Forbidden):
        await intake.file_ticket(d.clinician, _new(), {"requester_id": str(d.outsider.id)})
    assert await Ticket.count() == 0


async def test_a_new_contact_is_created_pending_in_a_served_establishment() -> None:
    d = await desk()
    ticket_id, _ = await intake.file_ticket(
        d.tier1,
        _new(),
        {
            "new_contact": "1",
            "new_name": "Paul Nouveau",
            "new_email": "paul@sud.test",
            "new_establishment": str(d.south),
        },
    )
    person = await User.select().where(User.email == "paul@sud.test").first()
    assert person["establishment"] == d.south
    assert person["role"] == Role.REQUESTER.value
    assert person["password_hash"] == ""  # cannot sign in until invited
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["requester"] == person["id"]


async def test_a_new_contact_outside_reach_or_duplicate_is_refused_with_nothing_saved() -> None:
    d = await desk()
    with pytest.raises(ValidationFailed) as refused:
        await intake.file_ticket(
            d.tier1,
            _new(),
            {
                "new_contact": "1",
                "new_name": "Zoé",
                "new_email": "zoe@far.test",
                "new_establishment": str(d.far),
            },
        )
    assert set(refused.value.errors) == {"new_establishment"}
    with pytest.raises(ValidationFailed) as duplicate:
        await intake.file_ticket(
            d.tier1,
            _new(),
            {
                "new_contact": "1",
                "new_name": "Chloé",
                "new_email": "clin@sud.test",
                "new_establishment": str(d.south),
            },
        )
    assert set(duplicate.value.errors) == {"new_email"}
    assert await User.count().where(User.email == "zoe@far.test") == 0
    assert await Ticket.count() == 0


async def test_contact_details_are_validated_and_editable_by_staff_only() -> None:
    d = await desk()
    ticket_id, _ = await tickets.open_ticket(d.clinician, _new())
    with pytest.raises(ValidationFailed) as bad:
        await intake.save_contact(d.triager, ticket_id, {"contact_email": "nope", "phones": "abc"})
    assert set(bad.value.errors) == {"contact_email", "phones"}
    await intake.save_contact(d.triager, ticket_id, {"contact_email": "", "phones": "514 555 0101"})
    facts = await TicketIntake.select().where(TicketIntake.ticket == ticket_id).first()
    assert facts["phones"] == "514 555 0101"
    with pytest.raises(Forbidden):
        await intake.save_contact(d.clinician, ticket_id, {"phones": "514 555 0199"})
    with pytest.raises(NotFound):
        await intake.save_contact(d.triager, 987654, {"phones": ""})


async def test_triage_list_shows_the_intake_groups_new_or_uncategorised_tickets() -> None:
    d = await desk()
    routed = await factories.category("Logiciel clinique", group_id=d.apps_group)
    waiting, _ = await tickets.open_ticket(d.clinician, _new())
    elsewhere, _ = await tickets.open_ticket(d.clinician, _new(category_id=str(routed)))
    taken, _ = await tickets.open_ticket(d.clinician, _new())
    await tickets.take(d.triager, taken, 1)  # in progress, but still without a category
    done, _ = await tickets.open_ticket(d.clinician, _new())
    await tickets.change_status(d.triager, done, Status.RESOLVED, 1, solution="Redémarré")
    page = await queries.list_tickets(d.triager, queries.TicketFilters(triage=True))
    assert {r["id"] for r in page.rows} == {waiting, taken}
    assert elsewhere not in {r["id"] for r in page.rows}
    # Someone outside the intake group has nothing to triage.
    nobody = await factories.user("n2@desk.test", Role.TECHNICIAN, None, "Noé Deux")
    empty = await queries.list_tickets(nobody, queries.TicketFilters(triage=True))
    assert empty.rows == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "intake", *args],
        env={**os.environ, "GUICHET_DATABASE_URL": DATABASE_URL},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_cli_shows_sets_and_clears_an_intake_group() -> None:
    d = await desk()
    shown = await anyio.to_thread.run_sync(_cli, "nor")
    assert (shown.returncode, shown.stdout.strip()) == (0, "NOR: intake group Accueil (N1)")
    set_ = await anyio.to_thread.run_sync(_cli, "NOR", "--group", "Applications (N2)")
    assert set_.returncode == 0, set_.stderr
    assert await intake.own_intake_group(d.north) == d.apps_group
    cleared = await anyio.to_thread.run_sync(_cli, "NOR", "--clear")
    assert cleared.stdout.strip() == "NOR: intake group Accueil (N1)"
    assert await intake.own_intake_group(d.north) is None
    unknown = await anyio.to_thread.run_sync(_cli, "NOR", "--group", "Nobody")
    assert unknown.returncode == 2 and "No group named Nobody" in unknown.stderr
