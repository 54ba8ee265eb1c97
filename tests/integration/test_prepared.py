"""Queries compiled once return exactly what Piccolo's own query returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.db.prepared import Prepared, ticket_row, ticket_shares
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
        lambda user, since: UserSession.select(UserSession.user)
        .where((UserSession.user == user) & (UserSession.expires_at > since))
        .limit(5),
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
