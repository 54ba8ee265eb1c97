"""Links, merge and major incidents: use cases on both engines."""

from __future__ import annotations

import pytest

from server.db.link_tables import TicketLink
from server.db.notification_tables import InAppNotification
from server.db.tables import HistoryEntry, Outbox, Ticket, TicketWatcher
from server.domain.actors import Actor
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.forms import NewFollowUp
from server.domain.links import Relation
from server.domain.vocabulary import Role, Status
from server.services import following, links, merge, tickets
from tests import factories


async def history_fields(ticket_id: int) -> list[tuple[str, str, str]]:
    rows = (
        await HistoryEntry.select(
            HistoryEntry.field, HistoryEntry.old_value, HistoryEntry.new_value
        )
        .where(HistoryEntry.ticket == ticket_id)
        .order_by(HistoryEntry.id)
    )
    return [(r["field"], r["old_value"], r["new_value"]) for r in rows]


async def narrow_tech() -> Actor:
    """A technician whose only group serves another establishment (B)."""
    est_c = await factories.establishment("Hôpital Cèdre", "HCE")
    tech = await factories.user("narrow@desk.test", Role.TECHNICIAN, None, "Nina Narrow")
    await factories.group("Local C", 1, (tech.id,), serves=(est_c,))
    return await factories.reload(tech.id)


async def test_a_link_shows_on_both_tickets_with_history_and_events() -> None:
    w = await factories.world()
    a = await factories.ticket(w.requester_a, title="Réseau coupé")
    b = await factories.ticket(w.requester_b, title="Plus d'internet")
    events = await links.add_link(w.tech, a, b, Relation.RELATED)
    assert sorted(e.ticket_id for e in events) == [a, b]
    assert ("link_added", "related", str(b)) in await history_fields(a)
    assert ("link_added", "related", str(a)) in await history_fields(b)
    seen = await links.links_view(w.tech, b)
    assert [(i["relation"], i["other_id"], i["title"]) for i in seen["items"]] == [
        ("related", a, "Réseau coupé")
    ]
    link_id = seen["items"][0]["id"]
    await links.remove_link(w.tech, b, link_id)
    assert await TicketLink.count() == 0
    assert ("link_removed", "related", str(b)) in await history_fields(a)


async def test_self_links_loops_and_second_parents_are_refused() -> None:
    w = await factories.world()
    top = await factories.ticket(w.requester_a, title="Panne générale")
    mid = await factories.ticket(w.requester_a, title="Étage 2")
    low = await factories.ticket(w.requester_a, title="Bureau 204")
    await links.add_link(w.tech, mid, top, Relation.CHILD_OF)
    await links.add_link(w.tech, low, mid, Relation.CHILD_OF)
    for ticket_id, other_id, relation in (
        (top, top, Relation.RELATED),
        (top, low, Relation.CHILD_OF),  # top under its own grandchild: a loop
        (low, top, Relation.PARENT_OF),  # the same loop, said from the other end
        (low, top, Relation.CHILD_OF),  # low already has a parent
    ):
        with pytest.raises(ValidationFailed) as refused:
            await links.add_link(w.tech, ticket_id, other_id, relation)
        assert "other_id" in refused.value.errors
    assert await TicketLink.count() == 2


async def test_an_invisible_ticket_is_not_found_exactly_like_a_missing_one() -> None:
    w = await factories.world()
    narrow = await narrow_tech()
    mine = await factories.ticket(w.requester_a)
    with pytest.raises(NotFound):
        await links.add_link(narrow, mine, 987654, Relation.RELATED)
    with pytest.raises(NotFound):
        await links.add_link(w.tech, mine, 987654, Relation.RELATED)
    # A requester may see their own ticket but not manage links.
    other = await factories.ticket(w.requester_a)
    with pytest.raises(Forbidden):
        await links.add_link(w.requester_a, mine, other, Relation.RELATED)
    assert await TicketLink.count() == 0


async def test_a_linked_ticket_the_viewer_may_not_see_is_a_bare_number() -> None:
    w = await factories.world()
    a = await factories.ticket(w.requester_a, title="Mon écran")
    b = await factories.ticket(w.requester_b, title="Secret de la clinique")
    await links.add_link(w.tech, a, b, Relation.RELATED)
    seen = await links.links_view(w.requester_a, a)
    assert seen["items"][0]["other_id"] == b
    assert seen["items"][0]["visible"] is False
    assert seen["items"][0]["title"] == ""


async def test_merge_closes_the_duplicate_and_its_people_follow_the_kept_one() -> None:
    w = await factories.world()
    kept = await factories.ticket(w.requester_a, title="Wi-Fi en panne au 3e")
    dup = await factories.ticket(w.colleague_a, title="Pas de Wi-Fi")
    await tickets.add_follow_up(w.colleague_a, dup, NewFollowUp("Depuis 8 h", False, 0))
    await following.watch(w.requester_a, dup, True)  # a follower who already requested kept
    events = await merge.merge(w.tech, dup, kept)
    assert sorted(e.ticket_id for e in events) == sorted([dup, kept])

    row = await Ticket.select(Ticket.status).where(Ticket.id == dup).first()
    assert row["status"] == Status.CLOSED.value
    assert ("merged_into", "", str(kept)) in await history_fields(dup)
    assert ("merged_from", "", str(dup)) in await history_fields(kept)
    watchers = await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket == kept)
    assert {r["user"] for r in watchers} == {w.colleague_a.id}
    told = await InAppNotification.select(InAppNotification.user).where(
        (InAppNotification.ticket == dup) & (InAppNotification.kind == "merged")
    )
    assert {r["user"] for r in told} == {w.colleague_a.id, w.requester_a.id}
    mails = await Outbox.select(Outbox.recipient).where(Outbox.kind == "merged")
    assert w.colleague_a.id in {r["recipient"] for r in mails}

    # The kept ticket shows the duplicate's follow-ups to whoever may see the duplicate.
    shown = await links.links_view(w.tech, kept)
    assert [m["id"] for m in shown["merged"]] == [dup]
    assert [f["text"] for f in shown["merged"][0]["follow_ups"]] == ["Depuis 8 h"]


async def test_merge_gives_nobody_access_they_did_not_have() -> None:
    w = await factories.world()
    kept = await factories.ticket(w.requester_b, title="Messagerie HS", shared="0")
    dup = await factories.ticket(w.requester_a, title="Mails bloqués", shared="0")
    await tickets.add_follow_up(w.requester_a, dup, NewFollowUp("Patient en attente", False, 0))
    await merge.merge(w.tech, dup, kept)
    # Alice (establishment A) may not see Bruno's ticket: she is not made to follow it, and
    # keeps her own ticket; Bruno sees the kept ticket but not Alice's follow-ups.
    watchers = await TicketWatcher.select(TicketWatcher.user).where(TicketWatcher.ticket == kept)
    assert w.requester_a.id not in {r["user"] for r in watchers}
    with pytest.raises(NotFound):
        await links.add_link(w.requester_a, kept, dup, Relation.RELATED)
    assert (await links.links_view(w.requester_a, dup))["items"][0]["visible"] is False
    shown = await links.links_view(w.requester_b, kept)
    assert shown["merged"] == []
    assert shown["items"][0]["title"] == ""


async def test_resolving_a_major_incident_resolves_its_open_children() -> None:
    w = await factories.world()
    parent = await factories.ticket(w.requester_a, title="Panne réseau bâtiment B")
    kids = [await factories.ticket(w.requester_a, title=f"Poste {n}") for n in range(3)]
    other = await factories.ticket(w.requester_b, title="Sans rapport")
    for kid in kids:
        await links.add_link(w.tech, parent, kid, Relation.PARENT_OF)
    # One child was already resolved on its own: left as it is.
    version = (await Ticket.select(Ticket.version).where(Ticket.id == kids[0]).first())["version"]
    await tickets.change_status(w.tech, kids[0], Status.RESOLVED, version, "Câble changé")
    await Outbox.delete(force=True)

    version = (await Ticket.select(Ticket.version).where(Ticket.id == parent).first())["version"]
    events = await tickets.change_status(
        w.tech, parent, Status.RESOLVED, version, "Commutateur remplacé"
    )
    assert sorted(e.ticket_id for e in events) == sorted([parent, kids[1], kids[2]])
    rows = await Ticket.select(Ticket.id, Ticket.status, Ticket.solution).where(
        Ticket.id.is_in([*kids, other])
    )
    by_id = {r["id"]: r for r in rows}
    assert by_id[kids[0]]["solution"] == "Câble changé"
    for kid in kids[1:]:
        assert by_id[kid]["status"] == Status.RESOLVED.value
        assert by_id[kid]["solution"] == "Commutateur remplacé"
        assert ("status", "new", "resolved") in await history_fields(kid)
    assert by_id[other]["status"] == Status.NEW.value
    told = await Outbox.select(Outbox.ticket, Outbox.recipient).where(Outbox.kind == "resolved")
    assert {(r["ticket"], r["recipient"]) for r in told} >= {
        (kids[1], w.requester_a.id),
        (kids[2], w.requester_a.id),
    }


async def test_resolving_a_major_incident_from_the_composer_resolves_its_children() -> None:
    from server.domain.composer import Answer

    w = await factories.world()
    parent = await factories.ticket(w.requester_a, title="Panne messagerie")
    kid = await factories.ticket(w.requester_a, title="Messagerie du bloc")
    await links.add_link(w.tech, parent, kid, Relation.PARENT_OF)
    version = (await Ticket.select(Ticket.version).where(Ticket.id == parent).first())["version"]
    _, events = await tickets.answer(
        w.tech,
        parent,
        Answer(
            text="Serveur relancé.",
            target=Status.RESOLVED,
            solution="Serveur de messagerie relancé",
            version=version,
        ),
    )
    assert {e.ticket_id for e in events} == {parent, kid}
    row = await Ticket.select(Ticket.status, Ticket.solution).where(Ticket.id == kid).first()
    assert row == {"status": "resolved", "solution": "Serveur de messagerie relancé"}
