"""SQLite's pinned planner statistics (``server.db.planner_stats``) survive an operator's
``ANALYZE``: the server puts them back when it starts, and says so."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from server.db import engine as db
from server.db import planner_stats
from tests import factories


def _stats(path: str) -> set[tuple[str, str | None, str]]:
    raw = sqlite3.connect(path)
    try:
        return set(raw.execute("SELECT tbl, idx, stat FROM sqlite_stat1"))
    finally:
        raw.close()


async def test_an_analyze_is_undone_when_the_server_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = db.engine()
    if engine.engine_type != "sqlite":
        return  # PostgreSQL keeps its own statistics (autovacuum's ANALYZE)
    path = engine.connection_kwargs["database"]
    pinned = await planner_stats.pinned_rows(engine)
    assert _stats(path) == pinned  # as the migrations left them
    assert ("ticket", "ticket_requester_status", "1000000 334 4 noskipscan") in pinned

    w = await factories.world()
    for i in range(5):
        await factories.ticket(w.requester_a, title=f"Imprimante {i}")
    raw = sqlite3.connect(path)
    try:
        raw.execute("ANALYZE")  # what an operator's maintenance might run
        raw.commit()
    finally:
        raw.close()
    analysed = _stats(path)
    assert analysed != pinned
    assert any(tbl == "ticket" and stat.startswith("5 ") for tbl, _idx, stat in analysed)

    with caplog.at_level(logging.WARNING, logger="guichet.db"):
        await db.start(pool=False)
    assert _stats(path) == pinned
    assert "statistics were changed" in caplog.text

    assert not await planner_stats.keep_pinned(engine)  # nothing to do the second time
