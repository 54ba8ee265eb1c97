"""Counter rows shared by many changes are written at the end of the change's transaction,
summed, and not at all when it rolls back (``server.db.hot_rows``); on PostgreSQL in the same
message as the COMMIT."""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg
import pytest
from piccolo.query.functions.aggregate import Sum
from piccolo.querystring import QueryString

from server.db import hot_rows
from server.db.counter_tables import TicketTally
from server.db.engine import db_session, write_transaction
from server.domain.vocabulary import Status
from tests import factories
from tests.conftest import IS_POSTGRES


async def _tally() -> int:
    row = await TicketTally.select(Sum(TicketTally.n, alias="n")).first()
    return int(row["n"] or 0) if row else 0


async def test_shared_rows_wait_for_the_end_of_the_transaction(clean_db: None) -> None:
    w = await factories.world()
    await factories.ticket(w.requester_a)
    assert await _tally() == 1
    writes: list[Counter[str]] = []

    def record(deltas: Counter[str]) -> list:
        writes.append(Counter(deltas))
        return []  # no statement: what is summed is what this test looks at

    async with write_transaction():
        await hot_rows.add("example", Counter({"a": 1}), record)
        async with write_transaction():  # an inner one leaves them to the outer one
            await hot_rows.add("example", Counter({"a": 2, "b": -1}), record)
        assert writes == []
    assert writes == [Counter({"a": 3, "b": -1})]

    # Outside a write transaction (the bulk loader), at once.
    await hot_rows.add("example", Counter({"c": 1}), record)
    assert writes[-1] == Counter({"c": 1})


async def test_a_rolled_back_change_leaves_the_counters_as_they_were(clean_db: None) -> None:
    w = await factories.world()
    await factories.ticket(w.requester_a)

    async def failing_change() -> None:
        async with write_transaction():
            await factories.ticket(w.requester_a)
            raise RuntimeError("the change fails after its counters were summed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await _tally() == 1
    counted = await TicketTally.select().where(TicketTally.status == Status.NEW.value)
    assert sum(row["n"] for row in counted) == 1


def test_values_are_written_in_only_when_plain() -> None:
    statement = QueryString(
        "INSERT INTO t (a, b, c, d) VALUES ({}, {}, {}, {})", 7, None, True, "new"
    )
    assert (
        hot_rows.with_literals(statement)
        == "INSERT INTO t (a, b, c, d) VALUES (7, NULL, TRUE, 'new')"
    )
    for odd in ("l'urgence", "a;b", 1.5, b"x"):
        assert hot_rows.with_literals(QueryString("SELECT {}", odd)) is None


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's row locks (SQLite has one writer)")
async def test_shared_rows_travel_with_the_commit(
    clean_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One message for the counters' upsert and the COMMIT: the rows every change adds to are
    # locked while the server commits, not for a round trip through the event loop.
    w = await factories.world()
    sent: list[str] = []
    real = asyncpg.Connection.execute

    async def execute(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        sent.append(query)
        return await real(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "execute", execute)
    await factories.ticket(w.requester_a)
    last = [query for query in sent if query.rstrip().endswith("COMMIT")][-1]
    assert "INSERT INTO ticket_tally" in last and "INSERT INTO ticket_counter" in last
    assert await _tally() == 1


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's combined commit")
async def test_a_final_statement_that_fails_rolls_the_change_back(clean_db: None) -> None:
    w = await factories.world()

    def broken(deltas: Counter[str]) -> list[QueryString]:
        return [QueryString("INSERT INTO no_such_table VALUES ({})", 1)]

    async def broken_change() -> None:
        async with write_transaction():
            await factories.ticket(w.requester_a)
            await hot_rows.add("broken", Counter({"a": 1}), broken)

    async with db_session():
        with pytest.raises(asyncpg.UndefinedTableError):
            await broken_change()
        # Nothing of the change was kept, and the connection serves the next one.
        assert await _tally() == 0
        await factories.ticket(w.requester_a)
    assert await _tally() == 1
