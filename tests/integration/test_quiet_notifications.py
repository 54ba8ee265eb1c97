"""Notifications without noise: quick changes to one ticket ring the bell once, a colleague a
ticket is shared with is told once (then only if they follow it), and nobody hears about their
own action except the acknowledgement of their own request."""

from __future__ import annotations

import pytest

from server.db.notification_tables import InAppNotification, InAppPreference
from server.db.notifications import list_for, unread_count
from server.db.tables import GroupMember, Outbox, Ticket
from server.domain.forms import NewFollowUp, parse_new_ticket
from server.domain.intake import Requester
from server.domain.notifications import Kind
from server.domain.vocabulary import Role, Status
from server.services import following, notifications, tickets
from tests import factories

pytestmark = pytest.mark.usefixtures("clean_db")


def _note(text: str, *, private: bool = False) -> NewFollowUp:
    return NewFollowUp(text=text, private=private, minutes=0)


async def _version(ticket_id: int) -> int:
    row = await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first()
    return row["version"]


async def test_six_quick_moves_ring_the_requesters_bell_once() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, category_id=w.category_id)
    before = await unread_count(w.requester_a)
    assert before == 1  # the acknowledgement

    path = [Status.PENDING, Status.ASSIGNED, Status.PLANNED, Status.PENDING, Status.PLANNED]
    await tickets.take(w.tech, ticket_id, await _version(ticket_id))
    for target in path:
        await tickets.change_status(w.tech, ticket_id, target, await _version(ticket_id))

    # One unread line about the ticket, standing for every change, newest kind and status.
    assert await unread_count(w.requester_a) == 1
    rows = await list_for(w.requester_a)
    assert len(rows) == 1
    assert rows[0]["changes"] == 7  # acknowledgement + take + five moves
    assert rows[0]["status"] == Status.PLANNED.value

    # Once read, the next change starts a new line.
    await notifications.mark_read(w.requester_a.id)
    await tickets.change_status(w.tech, ticket_id, Status.PENDING, await _version(ticket_id))
    rows = await list_for(w.requester_a)
    assert [row["changes"] for row in rows] == [1, 7]
    assert await unread_count(w.requester_a) == 1


async def test_private_and_public_lines_do_not_fold_together() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, category_id=w.category_id)
    await tickets.take(w.tech, ticket_id, await _version(ticket_id))
    colleague = await factories.user("nina@desk.test", Role.TECHNICIAN, w.est_a, "Nina N2")
    await GroupMember.insert(GroupMember(group=w.group_id, user=colleague.id))
    await following.watch(await factories.reload(colleague.id), ticket_id, True)
    await tickets.add_follow_up(w.tech, ticket_id, _note("Note interne", private=True))
    await tickets.add_follow_up(w.tech, ticket_id, _note("Réponse publique"))
    rows = await InAppNotification.select(
        InAppNotification.private, InAppNotification.changes
    ).where((InAppNotification.user == colleague.id) & InAppNotification.read_at.is_null())
    assert sorted((row["private"], row["changes"]) for row in rows) == [(False, 1), (True, 1)]


async def test_a_named_colleague_is_told_once_then_only_if_they_follow() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, category_id=w.category_id)
    await following.share(w.requester_a, ticket_id, "colette@chu-a.test")

    told = await Outbox.select(Outbox.kind).where(Outbox.recipient == w.colleague_a.id)
    assert [row["kind"] for row in told] == [Kind.SHARED.value]
    assert [row["kind"] for row in await list_for(w.colleague_a)] == [Kind.SHARED.value]
    # The person who shared is not told about their own share.
    shared_mails = await Outbox.select(Outbox.recipient).where(Outbox.kind == Kind.SHARED.value)
    assert [row["recipient"] for row in shared_mails] == [w.colleague_a.id]

    await tickets.take(w.tech, ticket_id, await _version(ticket_id))
    await tickets.add_follow_up(w.tech, ticket_id, _note("Nous regardons."))
    told = await Outbox.select(Outbox.kind).where(Outbox.recipient == w.colleague_a.id)
    assert [row["kind"] for row in told] == [Kind.SHARED.value]

    # Following it brings the changes.
    await following.watch(w.colleague_a, ticket_id, True)
    await tickets.add_follow_up(w.tech, ticket_id, _note("Pièce commandée."))
    told = await Outbox.select(Outbox.kind).where(Outbox.recipient == w.colleague_a.id)
    assert sorted(row["kind"] for row in told) == [Kind.FOLLOW_UP.value, Kind.SHARED.value]


async def test_nobody_hears_about_their_own_action_but_the_acknowledgement() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, category_id=w.category_id)
    await tickets.take(w.tech, ticket_id, await _version(ticket_id))
    await tickets.add_follow_up(w.tech, ticket_id, _note("Redémarrez le poste."))
    await tickets.add_follow_up(w.requester_a, ticket_id, _note("C'est fait."))
    await tickets.change_status(w.tech, ticket_id, Status.PENDING, await _version(ticket_id))

    to_requester = await Outbox.select(Outbox.kind).where(Outbox.recipient == w.requester_a.id)
    kinds = [row["kind"] for row in to_requester]
    assert Kind.CREATED.value in kinds  # the acknowledgement of their own request
    assert kinds.count(Kind.FOLLOW_UP.value) == 1  # the technician's, not their own
    to_tech = (
        await Outbox.select(Outbox.kind).where(Outbox.recipient == w.tech.id).order_by(Outbox.id)
    )
    tech_kinds = [row["kind"] for row in to_tech]
    # The requester's reply reaches the technician; none of the technician's own changes do
    # (the new ticket's notice to their group came before they took it).
    assert tech_kinds == [Kind.GROUP_NEW.value, Kind.FOLLOW_UP.value]


async def test_a_new_ticket_for_someone_in_its_group_rings_once_and_each_opt_out_holds() -> None:
    """Both notices of a new ticket (the acknowledgement, the group's notice) concern a
    technician who is in the receiving group and for whom a colleague filed the ticket: one
    unread line standing for both, of the later kind; a mail per kind, each kind's opt-out
    honoured on its own channel."""
    w = await factories.world()
    nina = await factories.user("nina@desk.test", Role.TECHNICIAN, w.est_a, "Nina N2")
    await GroupMember.insert(GroupMember(group=w.group_id, user=nina.id))
    for_nina = Requester(id=nina.id, establishment_id=w.est_a)

    async def filed_for_nina() -> tuple[int, list[dict], list[str]]:
        data = parse_new_ticket(
            {"title": "Poste bloqué", "description": "Salle 4", "category_id": w.category_id}
        )
        ticket_id, _ = await tickets.open_ticket(w.tech, data, requester=for_nina)
        lines = await InAppNotification.select().where(
            (InAppNotification.ticket == ticket_id) & (InAppNotification.user == nina.id)
        )
        mails = await Outbox.select(Outbox.kind).where(
            (Outbox.ticket == ticket_id) & (Outbox.recipient == nina.id)
        )
        return ticket_id, lines, sorted(m["kind"] for m in mails)

    _, lines, mails = await filed_for_nina()
    assert [(line["kind"], line["changes"]) for line in lines] == [(Kind.GROUP_NEW.value, 2)]
    assert mails == sorted([Kind.CREATED.value, Kind.GROUP_NEW.value])

    # The group's notice turned off by mail, the acknowledgement turned off in the bell.
    await notifications.set_preference(nina.id, Kind.GROUP_NEW, False)
    await notifications.set_preference(nina.id, Kind.CREATED, False, channel=notifications.IN_APP)
    assert await InAppPreference.count().where(InAppPreference.user == nina.id) == 1
    _, lines, mails = await filed_for_nina()
    assert [(line["kind"], line["changes"]) for line in lines] == [(Kind.GROUP_NEW.value, 1)]
    assert mails == [Kind.CREATED.value]
