"""The board's columns hold exactly the cards the domain puts there, in the board's order, for
every viewer and filter (the closed column's filters are written so that no index serves
them: they must still filter); and on SQLite no board statement walks a whole table."""

from __future__ import annotations

import contextlib
import random
import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

from server.db import board as board_db
from server.db.connections import recording
from server.db.engine import engine
from server.db.tables import Ticket, TicketShare
from server.domain.board import COLUMNS, BoardFilters, on_board
from server.domain.errors import GuichetError
from server.domain.vocabulary import Status
from server.services import tickets
from tests import factories
from tests.integration.test_counters import _filters, _random_change, _world
from tests.one_connection import one_connection


async def _expected(viewer: Any, f: BoardFilters, now: datetime) -> dict[Status, list[int]]:
    rows = await Ticket.select()
    shares: dict[int, set[int]] = {}
    for s in await TicketShare.select(TicketShare.ticket, TicketShare.user):
        shares.setdefault(s["ticket"], set()).add(s["user"])
    found: dict[Status, list[dict[str, Any]]] = {s: [] for s in COLUMNS}
    for row in rows:
        card = tickets.card_facts(row, frozenset(shares.get(row["id"], ())))
        if on_board(viewer, f, card, now):
            found[card.status].append(row)
    order = lambda r: (r["priority_rank"], r["created_at"], r["id"])  # noqa: E731
    return {s: [r["id"] for r in sorted(found[s], key=order)] for s in COLUMNS}


@one_connection
async def test_columns_hold_the_cards_the_domain_places_there() -> None:
    rng = random.Random(21)
    w = await _world(rng)
    ids: list[int] = []
    for _ in range(200):
        with contextlib.suppress(GuichetError):
            await _random_change(rng, w, ids)
    assert await Ticket.count().where(Ticket.status == Status.CLOSED.value) > 0
    viewers = w["staff"] + [await factories.reload(r.id) for r in w["requesters"][:3]]
    checked_closed = 0
    for viewer in viewers:
        for f in await _filters(rng, w):
            now = datetime.now(UTC)
            expected = await _expected(viewer, f, now)
            for status in COLUMNS:
                cards = await board_db.column(viewer, f, status, limit=1000, now=now)
                assert [c["id"] for c in cards] == expected[status], (viewer, f, status)
                if status is Status.CLOSED:
                    checked_closed += len(cards)
    assert checked_closed > 0, "the run must put cards in the closed column"


async def test_no_board_statement_scans_a_table_on_sqlite() -> None:
    """SQLite plans without statistics: each board statement must start from an index range
    (``SEARCH``), never walk a whole table or index (``SCAN``), whatever the data size."""
    rng = random.Random(5)
    w = await _world(rng)
    ids: list[int] = []
    for _ in range(40):
        with contextlib.suppress(GuichetError):
            await _random_change(rng, w, ids)
    db = engine()
    if db.engine_type != "sqlite":
        # PostgreSQL plans by cost from its statistics: its plans are checked on a large
        # database by hand (bench/README.md), the results by the test above.
        return
    statements: list[str] = []
    for viewer in w["staff"]:
        for f in await _filters(rng, w):
            with recording() as sql:
                await board_db.counts(viewer, f)
                for status in COLUMNS:
                    await board_db.column(viewer, f, status)
            statements.extend(sql)
    assert statements
    conn = db.connection_kwargs
    raw = sqlite3.connect(conn["database"])
    closed_reads = 0
    try:
        for sql in set(statements):
            args = [None] * sql.count("?")
            plan = " / ".join(r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", args))
            scans = [
                step
                for step in plan.split(" / ")
                # A scan of a subquery's own rows or a temporary sort is not a table walk.
                if step.startswith("SCAN") and "SUBQUERY" not in step.upper()
            ]
            assert not scans, (sql, plan)
            if re.search(r'"ticket"\."status" = \?\)? AND "ticket"\."closed_at" >=', sql):
                # The week's closings, not every closed ticket of a priority or a person.
                assert "INDEX ticket_status_closed" in plan, (sql, plan)
                closed_reads += 1
    finally:
        raw.close()
    assert closed_reads > 0
