"""Counter rows shared by many changes are written at the end of the change's transaction,
summed, and not at all when it rolls back (``server.db.hot_rows``)."""

from __future__ import annotations

from collections import Counter

import pytest
from piccolo.query.functions.aggregate import Sum

from server.db import hot_rows
from server.db.counter_tables import TicketTally
from server.db.engine import write_transaction
from server.domain.vocabulary import Status
from tests import factories


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
