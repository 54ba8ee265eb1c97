"""Bulk actions: each ticket through its own use case, refusals listed, the rest kept."""

from __future__ import annotations

from server.db.link_tables import TicketLink
from server.db.tables import HistoryEntry, Ticket, TicketWatcher
from server.domain.bulk import BulkAction, BulkChange
from server.domain.vocabulary import Priority, Role, Status
from server.services import bulk, tickets
from server.views.ticket_list import filters_from_query
from tests import factories
from tests.one_connection import one_connection


@one_connection
async def test_fifty_tickets_assigned_with_refusals_and_history_for_each() -> None:
    w = await factories.world()
    hidden_from_tech = await factories.establishment("Hôpital Cèdre", "HCE")
    outsider = await factories.user("cedre@hce.test", Role.REQUESTER, hidden_from_tech, "Cé Dre")
    ids = [await factories.ticket(w.requester_a, title=f"Poste {n}") for n in range(47)]
    invisible = await factories.ticket(outsider, title="Hors de portée")
    closed = ids[0]
    version = (await Ticket.select(Ticket.version).where(Ticket.id == closed).first())["version"]
    await tickets.change_status(w.supervisor, closed, Status.RESOLVED, version, "Réglé")
    version = (await Ticket.select(Ticket.version).where(Ticket.id == closed).first())["version"]
    await tickets.change_status(w.supervisor, closed, Status.CLOSED, version)
    selection = [*ids, invisible, 987654, ids[5]]  # 50 picks, one of them twice
    second_group = await factories.group("Réseau (N2)", 2, (w.tech.id,), serves=(w.est_a,))

    outcome = await bulk.apply(
        w.tech, selection, BulkChange(BulkAction.ASSIGN, group_id=second_group)
    )

    assert sorted(outcome.changed) == sorted(ids[1:])
    refused = {r.ticket_id: r.message for r in outcome.refused}
    assert refused == {
        closed: "This ticket is closed.",
        invisible: "Not found",
        987654: "Not found",
    }
    assert sorted(e.ticket_id for e in outcome.events) == sorted(ids[1:])
    rows = await Ticket.select(Ticket.id, Ticket.assigned_group).where(Ticket.id.is_in(ids))
    for row in rows:
        expected = None if row["id"] == closed else second_group
        assert row["assigned_group"] == expected, row
    history = await HistoryEntry.select(HistoryEntry.ticket).where(HistoryEntry.field == "group")
    moved_to_second = [h["ticket"] for h in history]
    for ticket_id in ids[1:]:
        assert ticket_id in moved_to_second


async def test_status_priority_parent_and_follow_each_through_its_use_case() -> None:
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a, title=f"Imprimante {n}") for n in range(4)]
    parent = await factories.ticket(w.requester_a, title="Panne d'impression")

    done = await bulk.apply(w.tech, ids, BulkChange(BulkAction.PRIORITY, priority=Priority.LOW))
    assert sorted(done.changed) == sorted(ids)
    again = await bulk.apply(w.tech, ids, BulkChange(BulkAction.PRIORITY, priority=Priority.LOW))
    assert sorted(again.unchanged) == sorted(ids)

    # Resolving needs a solution: every ticket refused with the rule's reason.
    refused = await bulk.apply(w.tech, ids, BulkChange(BulkAction.STATUS, status=Status.RESOLVED))
    assert [r.ticket_id for r in refused.refused] == ids
    assert refused.changed == []

    linked = await bulk.apply(
        w.tech, [*ids, parent], BulkChange(BulkAction.PARENT, parent_id=parent)
    )
    assert sorted(linked.changed) == sorted(ids)
    assert [r.ticket_id for r in linked.refused] == [parent]  # not its own child
    assert await TicketLink.count().where(TicketLink.target == parent) == len(ids)

    followed = await bulk.apply(w.tech, ids, BulkChange(BulkAction.FOLLOW))
    assert sorted(followed.changed) == sorted(ids)
    assert await TicketWatcher.count().where(TicketWatcher.user == w.tech.id) == len(ids)


async def test_select_all_matching_runs_the_list_query_again() -> None:
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a, title=f"Badge {n}") for n in range(30)]
    await factories.ticket(w.requester_a, title="Autre chose")

    class Query:
        from litestar.datastructures import MultiDict

        query_params = MultiDict({"q": "Badge", "scope": "all"})

        class user:
            actor = w.tech

    found = await bulk.matching_ids(w.tech, filters_from_query(Query))
    assert sorted(found) == sorted(ids)  # beyond the page of 25, and only what matches


async def test_a_bulk_follow_judges_each_ticket_in_a_few_statements_whatever_their_number() -> None:
    """Following many tickets: each judged as a single follow is (missing, invisible: refused;
    a named share admits a requester), already followed ones kept once, in one transaction
    of as many statements for three tickets as for twenty-five."""
    from server.db.connections import recording
    from server.db.engine import db_session
    from server.services import following

    w = await factories.world()
    own = [
        await factories.ticket(w.requester_a, title=f"Scanner {n}", shared="0") for n in range(24)
    ]
    colleagues = await factories.ticket(w.colleague_a, title="Badge", shared="0")
    await following.share(w.colleague_a, colleagues, "alice@chu-a.test")
    elsewhere = await factories.ticket(w.requester_b, title="Autre clinique")
    await following.watch(w.requester_a, own[0], True)
    counts = []
    for picked in ([own[0], colleagues, elsewhere], [*own, colleagues, 987654, own[3]]):
        async with db_session():
            with recording() as statements:
                outcome = await bulk.apply(w.requester_a, picked, BulkChange(BulkAction.FOLLOW))
        counts.append(len(statements))
        refused = {r.ticket_id: r.message for r in outcome.refused}
        assert set(refused.values()) <= {"Not found"}
        assert sorted(outcome.changed) == sorted(
            {i for i in picked if i not in (elsewhere, 987654)}
        )
        assert set(refused) == {i for i in picked if i in (elsewhere, 987654)}
    assert counts[0] == counts[1] <= 6, counts
    followed = await TicketWatcher.select(TicketWatcher.ticket).where(
        TicketWatcher.user == w.requester_a.id
    )
    assert sorted(r["ticket"] for r in followed) == sorted([*own, colleagues])
