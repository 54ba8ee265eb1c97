"""An old demo database is brought to today: `guichet demo` on a database loaded weeks ago
moves every date of its story forward, so the desk still looks like this week's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.db.engine import engine
from server.db.sla_tables import TicketSla
from server.db.tables import FollowUp, HistoryEntry, Ticket
from server.demo import load_demo, refresh_demo_dates
from server.domain.vocabulary import Status

pytestmark = pytest.mark.usefixtures("clean_db")

OPEN = [s.value for s in Status if s.is_open]


async def _breached_share() -> float:
    rows = await TicketSla.select(
        TicketSla.take_state, TicketSla.resolve_state
    ).where(TicketSla.ticket.status.is_in(OPEN))
    breached = [r for r in rows if "breached" in (r["take_state"], r["resolve_state"])]
    return len(breached) / len(rows)


async def test_refresh_moves_the_whole_story_forward() -> None:
    assert await load_demo()
    assert await refresh_demo_dates() == timedelta(0)  # just loaded: nothing to move
    before = {r["id"]: r["created_at"] for r in await Ticket.select(Ticket.id, Ticket.created_at)}
    follow_ups = {r["id"]: r["created_at"] for r in await FollowUp.select()}
    history = {r["id"]: r["created_at"] for r in await HistoryEntry.select()}

    # Three weeks later, someone runs `guichet demo` again.
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=21)
    shift = await refresh_demo_dates(later)
    assert timedelta(days=20, hours=23) < shift < timedelta(days=21, hours=1)

    after = {r["id"]: r["created_at"] for r in await Ticket.select(Ticket.id, Ticket.created_at)}
    assert set(after) == set(before)
    assert all(after[i] - before[i] == shift for i in before)
    assert all(r["created_at"] - follow_ups[r["id"]] == shift for r in await FollowUp.select())
    assert all(
        r["created_at"] - history[r["id"]] == shift for r in await HistoryEntry.select()
    )
    # Service levels are judged as of that day: still a working desk, not a failing one.
    assert await _breached_share() <= 0.1
    # Running it again the same day moves nothing.
    assert await refresh_demo_dates(later + timedelta(minutes=5)) == timedelta(0)
    # And the audit trail is guarded again.
    with pytest.raises(Exception, match="append-only"):
        await engine().run_ddl("UPDATE history_entry SET field = field")
