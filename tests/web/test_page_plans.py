"""On SQLite the planner goes by the pinned statistics (migration "the query planner's
statistics, pinned"), the same on a database of a few rows as on a million tickets: the
pages people keep open read from index ranges. No statement of theirs walks the ticket
table or one of its indexes whole (``SCAN ticket``; a list's page walking the date index
in its own order to its limit is no walk of the whole), nor reads an establishment's whole
history by date to count it; walks are what the wallboard, the
activity report, a technician's backlog and landing page, their search and a requester's
lists did at a million tickets with no statistics or with a full ``ANALYZE`` (0.3-3.3 s)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.connections import recording
from server.db.engine import engine
from server.domain.forms import NewFollowUp
from server.services import tickets
from tests import factories

PAGES = {
    "tech@desk.test": [
        "/",
        "/tickets?scope=backlog&tab=open",
        "/tickets?scope=backlog&tab=closed",
        "/tickets?scope=mine&tab=open",
        "/search?q=imprimante",
    ],
    "sup@desk.test": ["/wallboard", "/reports", "/overview", "/reports/sla"],
    "alice@chu-a.test": [
        "/tickets?scope=mine&tab=open",
        "/tickets?scope=mine&tab=closed",
        "/tickets?scope=all&tab=open",
        "/tickets?scope=all&tab=closed",
        "/tickets?scope=establishment&tab=open",
        "/tickets?scope=establishment&tab=closed",
        "/search?q=imprimante",
    ],
}
_TABLE_WALK = re.compile(r"^SCAN ticket( |$)")
# The establishment's date index entered by the establishment alone, for a count of some
# statuses: all its history in date order, where ticket (establishment, status) seeks the
# statuses asked for. A requester's establishment list counted so (SQLite breaking a near-tie
# by the order the indexes were created) took 250 ms at a million tickets.
_HISTORY_WALK = re.compile(
    r"^SEARCH ticket USING (COVERING )?INDEX ticket_establishment_created \(establishment=\?\)$"
)


def _walks_a_history(step: str, sql: str) -> bool:
    return bool(_HISTORY_WALK.match(step)) and "ORDER BY" not in sql and '"status" IN (' in sql


def _walks_in_its_order(step: str, sql: str) -> bool:
    """A walk of the date index in the order the statement asks for, to its LIMIT: a list's
    keyset page, which stops after its rows (most tickets match a closed tab)."""
    return (
        step == "SCAN ticket USING INDEX ticket_created_at"
        and 'ORDER BY "ticket"."created_at"' in sql
        and " LIMIT " in sql
    )


@asynccontextmanager
async def _signed_in(email: str) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as c:
        await factories.login(c, email)
        yield c


async def test_the_pages_people_keep_open_read_ticket_index_ranges_on_sqlite() -> None:
    db = engine()
    if db.engine_type != "sqlite":
        # PostgreSQL plans by cost from statistics it keeps itself: checked at a million
        # tickets by bench/pages.py (bench/README.md).
        return
    w = await factories.world()
    for i in range(12):
        ticket_id = await factories.ticket(
            w.requester_a if i % 2 else w.colleague_a, title=f"Imprimante {i}", shared="on"
        )
        if i % 3 == 0:
            await tickets.add_follow_up(
                w.tech, ticket_id, NewFollowUp(text="Imprimante vue", private=False, minutes=0)
            )
    statements: set[str] = set()
    for email, pages in PAGES.items():
        async with _signed_in(email) as client:
            for page in pages:
                with recording() as sql:
                    response = await client.get(page)
                assert response.status_code == 200, (email, page)
                statements.update(
                    s for s in sql if s.lstrip().upper().startswith(("SELECT", "WITH"))
                )
    assert len(statements) > 30
    raw = sqlite3.connect(db.connection_kwargs["database"])
    try:
        stats = raw.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'ticket'").fetchone()
        assert stats[0] >= 10  # the pinned statistics are there
        walks = []
        for sql in statements:
            plan = [r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", [None] * sql.count("?"))]
            walks += [
                (step, sql[-400:])
                for step in plan
                if _TABLE_WALK.match(step) and not _walks_in_its_order(step, sql)
            ]
            walks += [(step, sql[-400:]) for step in plan if _walks_a_history(step, sql)]
        assert not walks, walks
    finally:
        raw.close()
