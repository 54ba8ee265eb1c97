"""``counters.rebuild`` (SQL, INSERT ... SELECT ... GROUP BY) gives exactly the rows the
Python key functions give for every ticket, after random changes and on awkward closing
moments (midnight UTC on either side, a closed ticket without a closing time)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from server.db import counters
from server.db.engine import write_transaction
from server.db.tables import Ticket
from server.domain.vocabulary import Status
from tests.integration.test_counters import _counter_rows, random_world
from tests.one_connection import one_connection


async def _python_reference() -> tuple[Counter[tuple], Counter[tuple]]:
    """Every ticket through ``board_key`` / ``tally_key``: what the old Python rebuild did."""
    rows = await Ticket.select(Ticket.id, *counters.KEY_COLUMNS)
    board = Counter(counters.board_key(r) for r in rows)
    tally = Counter(counters.tally_key(r) for r in rows)
    return board, tally


@one_connection
async def test_sql_rebuild_equals_python_reference_after_random_changes() -> None:
    _w, ids = await random_world(1205, 150)
    # Closing moments the day arithmetic could get wrong, written behind the counters' back
    # (as a bulk import would): the rebuild must read them as the Python keys do.
    midnight = datetime(2026, 3, 29, tzinfo=UTC)
    awkward = [
        midnight - timedelta(microseconds=1),
        midnight,
        midnight + timedelta(microseconds=999_999),
        datetime(2001, 1, 1, 23, 59, 59, 500_000, tzinfo=UTC),
        None,
    ]
    for ticket_id, closed_at in zip(ids, awkward, strict=False):
        await Ticket.update(
            {Ticket.status: Status.CLOSED.value, Ticket.closed_at: closed_at}
        ).where(Ticket.id == ticket_id)
    expected = await _python_reference()
    board = expected[0]
    assert sum(board.values()) == len(ids) and len(board) > 10
    days = {key[1] for key in board if key[0] == Status.CLOSED.value}
    day = counters.day_of(midnight)
    assert {day - 1, day, 0} <= days, "the awkward moments must reach the counters"

    async with write_transaction():
        await counters.rebuild()
    assert await _counter_rows() == expected
    # Rebuilding twice changes nothing (the tables are emptied first).
    async with write_transaction():
        await counters.rebuild()
    assert await _counter_rows() == expected
