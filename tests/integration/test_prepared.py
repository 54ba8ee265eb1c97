"""Queries compiled once return exactly what Piccolo's own query returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.db.prepared import SAMPLE_ID, Prepared, PreparedIn, ticket_row, ticket_shares
from server.db.tables import Ticket, TicketShare, UserSession
from server.services import accounts
from tests import factories


async def test_prepared_rows_equal_piccolo_rows() -> None:
    w = await factories.world()
    first = await factories.ticket(w.requester_a, title="Écran noir", shared="on")
    second = await factories.ticket(w.requester_a, title="Clavier")
    await TicketShare.insert(
        TicketShare(ticket=first, user=w.colleague_a.id, shared_by=w.requester_a.id)
    )
    for ticket_id in (first, second):
        expected = await Ticket.select().where(Ticket.id == ticket_id).first()
        assert await ticket_row(ticket_id) == expected
    assert await ticket_row(999_999) is None
    assert await ticket_shares(first) == {w.colleague_a.id}
    assert await ticket_shares(second) == frozenset()


async def test_values_are_bound_and_constants_kept() -> None:
    w = await factories.world()
    raw = await accounts.open_session(w.tech.id, "test")
    recent = Prepared(
        lambda user, since: (
            UserSession.select(UserSession.user)
            .where((UserSession.user == user) & (UserSession.expires_at > since))
            .limit(5)
        ),
        987_654_321,
        datetime(2001, 2, 3, tzinfo=UTC),
    )
    now = datetime.now(UTC)
    assert [r["user"] for r in await recent.rows(w.tech.id, now)] == [w.tech.id]
    assert await recent.rows(w.tech.id, now + timedelta(days=400)) == []
    assert await recent.rows(w.requester_a.id, now) == []
    assert (await accounts.session_account(raw)).id == w.tech.id


def test_a_sample_value_missing_from_the_sql_is_refused() -> None:
    broken = Prepared(lambda i: Ticket.select(Ticket.id).where(Ticket.id > 0), 5)
    with pytest.raises(ValueError, match="sample values"):
        broken._compile("sqlite")


async def test_compiled_inserts_write_what_piccolo_writes() -> None:
    from server.db.notification_tables import InAppNotification
    from server.db.prepared import PreparedInsert
    from server.db.tables import Outbox

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await InAppNotification.delete().where(InAppNotification.ticket == ticket_id)
    at = datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)
    columns = ("user", "kind", "ticket", "actor", "follow_up", "private", "status",
               "created_at", "read_at", "changes")  # fmt: skip
    compiled = PreparedInsert(InAppNotification, columns)
    await compiled.run([(w.tech.id, "created", ticket_id, None, None, True, "new", at, None, 2)])
    await InAppNotification.insert(
        InAppNotification(user=w.supervisor.id, kind="created", ticket=ticket_id, actor=None,
                          follow_up=None, private=True, status="new", created_at=at, changes=2)
    )  # fmt: skip
    rows = await InAppNotification.select(
        *[c for c in InAppNotification.all_columns() if c._meta.name not in ("id", "user")]
    ).where(InAppNotification.ticket == ticket_id)
    assert len(rows) == 2 and rows[0] == rows[1] and rows[0]["private"] is True
    assert rows[0]["created_at"] == at
    columns = ("kind", "ticket", "recipient", "status", "next_attempt_at")
    many = PreparedInsert(Outbox, columns, chunk=2)  # several statements for 5 rows
    await many.run([("created", ticket_id, w.tech.id, "new", at)] * 5)
    assert await Outbox.count().where(Outbox.next_attempt_at == at) == 5


async def test_the_compiled_ticket_update_returns_what_piccolo_returns() -> None:
    from server.db import counters
    from server.db.prepared import versioned_ticket_update
    from server.domain.vocabulary import Status

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    back = (Ticket.version, Ticket.created_at, *counters.KEY_COLUMNS)
    plain = await versioned_ticket_update(
        {Ticket.status: "closed", Ticket.closed_at: at, Ticket.assignee: w.tech.id},
        ticket_id, 1, at, back,
    )  # fmt: skip
    assert await versioned_ticket_update({Ticket.status: "new"}, ticket_id, 1, at, back) == []
    # An enum value goes through Piccolo: the same row comes back.
    via_piccolo = await versioned_ticket_update(
        {Ticket.status: Status.CLOSED, Ticket.closed_at: at, Ticket.assignee: w.tech.id},
        ticket_id, 2, at, back,
    )  # fmt: skip
    assert plain[0] == {**via_piccolo[0], "version": 2}
    assert plain[0]["closed_at"] == at and plain[0]["status"] == "closed"
    row = await Ticket.select(Ticket.updated_at, Ticket.version).where(Ticket.id == ticket_id)
    assert row == [{"updated_at": at, "version": 3}]


async def test_a_list_query_with_values_before_the_list() -> None:
    """``PreparedIn`` with leading values (a flag and a number, then the ids): each length
    compiled once, every value bound, the rows those of Piccolo's query."""
    w = await factories.world()
    made = [
        await factories.ticket(w.requester_a, title=f"Poste {i}", shared="on" if i % 2 else "")
        for i in range(5)
    ]

    def build(shared: bool, above: int, ids: list[int]) -> Any:
        return (
            Ticket.select(Ticket.id)
            .where((Ticket.shared == shared) & (Ticket.id > above) & Ticket.id.is_in(ids))
            .order_by(Ticket.id)
        )

    query = PreparedIn(build, leading=(True, SAMPLE_ID - 1))
    for shared in (True, False):
        for above in (0, made[1]):
            for ids in (made, made[:3], made[2:], [made[4]]):
                expected = await build(shared, above, ids)
                assert await query.rows(shared, above, ids) == expected, (shared, above, ids)


def test_the_compiled_inserts_of_a_change_name_every_column() -> None:
    """A column added to a table and forgotten in its compiled insert would be left to the
    database's default: every column but the id is named."""
    from server.db.tables import FollowUp, HistoryEntry
    from server.services import tickets

    for compiled, table in (
        (tickets._NEW_TICKET, Ticket),
        (tickets._NEW_FOLLOW_UP, FollowUp),
        (tickets._HISTORY_LINES, HistoryEntry),
    ):
        names = {c._meta.name for c in table._meta.columns if not c._meta.primary_key}
        assert set(compiled._columns) == names, table


async def test_a_ticket_opened_through_the_compiled_insert_is_piccolos_row() -> None:
    """The row written by ``open_ticket`` and the row it gives back are those Piccolo's own
    insert writes and reads for the same values."""
    from server.db import counters
    from server.services import tickets

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Écran noir", shared="on")
    mine = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert mine is not None
    copy = {k: v for k, v in mine.items() if k != "id"}
    back = await Ticket.insert(Ticket(**copy)).returning(
        Ticket.id, Ticket.version, Ticket.created_at, *counters.KEY_COLUMNS
    )
    theirs = await Ticket.select().where(Ticket.id == back[0]["id"]).first()
    assert {**theirs, "id": ticket_id} == mine
    # What the compiled insert gives back, with the same types as Piccolo's.
    values = {name: mine[name] for name in tickets._NEW_TICKET._columns}
    given = await tickets._NEW_TICKET.one(values)
    # The whole row, as ticket_row reads it (open_ticket uses it for the notices and event).
    assert given == await ticket_row(given["id"])
    assert {k: given[k] for k in back[0] if k != "id"} == {
        k: v for k, v in back[0].items() if k != "id"
    }
    assert isinstance(given["shared"], bool) and isinstance(given["created_at"], datetime)
    with pytest.raises(ValueError, match="columns differ"):
        await tickets._NEW_TICKET.one({**values, "surprise": 1})


async def test_the_compiled_update_gives_back_the_row_as_ticket_row_reads_it() -> None:
    """Moves, takes and follow-ups tell their notices and event from the row the UPDATE gives
    back, read nowhere else: it must be the row ``ticket_row`` would read."""
    from server.db.prepared import versioned_ticket_update

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Poste lent", shared="on")
    at = datetime(2026, 3, 4, 5, 6, 7, 123_000, tzinfo=UTC)
    values = {Ticket.status: "assigned", Ticket.assignee: w.tech.id}
    given = await versioned_ticket_update(values, ticket_id, 1, at, tuple(Ticket.all_columns()))
    assert given == [await ticket_row(ticket_id)]
    assert given[0]["updated_at"] == at and given[0]["version"] == 2
