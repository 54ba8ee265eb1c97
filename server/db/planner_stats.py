"""SQLite: the query planner's statistics, pinned, so that every database gets the plans the
benchmarks measured, whatever its size (see the migration that first pinned them, "SQLite:
the query planner's statistics, pinned").

Guichet never runs ``ANALYZE``: with SQLite's built-in guesses a technician's backlog took
0.7 s at a million tickets, and with a full ``ANALYZE`` the wallboard and the activity report
took 0.3 s. An operator may still run one (``sqlite3 guichet.sqlite3 ANALYZE``, or a tool's
"optimize"): the server puts the pinned statistics back when it starts
(``keep_pinned``), and says so in its log.
"""

# ruff: noqa: S608 - the SQL is built from the constants below.
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("guichet.db")

# (table, index or None for the table itself, stat) from the benchmark's million tickets.
PINNED = [
    ("account", "sqlite_autoindex_account_1", "3015 1"),
    ("category", None, "10"),
    ("config_generation", None, "1"),
    ("establishment", "sqlite_autoindex_establishment_1", "15 1"),
    ("follow_up", "follow_up_ticket", "1400332 2"),
    ("group_establishment", "group_establishment_group", "3 2"),
    ("group_establishment", "group_establishment_once", "3 2 1"),
    ("group_member", None, "13"),
    ("history_entry", "history_entry_ticket", "3996043 4"),
    ("sla_policy", None, "5"),
    ("supervisor_scope", "supervisor_scope_once", "1 1 1"),
    ("supervisor_scope", "supervisor_scope_user", "1 1"),
    ("tech_group", "sqlite_autoindex_tech_group_1", "4 1"),
    ("ticket", "ticket_assigned_group", "1000000 250000"),
    ("ticket", "ticket_assignee", "1000000 71429"),
    ("ticket", "ticket_board_order", "1000000 166667 33334 1 1"),
    ("ticket", "ticket_created_at", "1000000 1"),
    ("ticket", "ticket_establishment", "1000000 83334"),
    ("ticket", "ticket_establishment_status", "1000000 83334 13889"),
    ("ticket", "ticket_priority", "1000000 200000"),
    ("ticket", "ticket_requester", "1000000 334"),
    # A requester's open tickets are few (most of a history is closed): with the average
    # (56 per status) the planner walked a whole history by date to find them. No skip-scan:
    # with it, "any requester" was scanned for a status.
    ("ticket", "ticket_requester_status", "1000000 334 4 noskipscan"),
    ("ticket", "ticket_requester_created", "1000000 334 1"),
    ("ticket", "ticket_status", "1000000 166667"),
    ("ticket", "ticket_status_closed", "1000000 166667 1"),
    ("ticket_sla", "sqlite_autoindex_ticket_sla_1", "1000000 1"),
    ("ticket_sla", "ticket_sla_next_check_at", "1000000 23256"),
    ("ticket_sla", "ticket_sla_resolve_due_at", "1000000 1"),
]


def pin_statements() -> list[str]:
    """Replace whatever statistics there are with the pinned ones (of the indexes that exist),
    then have SQLite read them again."""
    rows = []
    for table, index, stat in PINNED:
        exists = (
            f"SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = '{index}'"
            if index
            else f"SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '{table}'"
        )
        idx = f"'{index}'" if index else "NULL"
        rows.append(
            f"INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT '{table}', {idx}, '{stat}' "
            f"WHERE EXISTS ({exists})"
        )
    return [
        "ANALYZE sqlite_schema",  # creates sqlite_stat1 if missing, and nothing else
        "DELETE FROM sqlite_stat1",
        *rows,
        "ANALYZE sqlite_schema",  # reload: the planner reads sqlite_stat1 again
    ]


async def pinned_rows(db: Any) -> set[tuple[str, str | None, str]]:
    """The rows ``sqlite_stat1`` should hold: the pinned ones of the tables and indexes
    that exist."""
    names = {row["name"] for row in await db.run_ddl("SELECT name FROM sqlite_schema")}
    return {(t, i, s) for t, i, s in PINNED if (i or t) in names}


async def keep_pinned(db: Any) -> bool:
    """Put the pinned statistics back if anything changed them; True if it had to."""
    have = await db.run_ddl(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'"
    )
    rows = (
        {(r["tbl"], r["idx"], r["stat"]) for r in await db.run_ddl("SELECT * FROM sqlite_stat1")}
        if have
        else set()
    )
    if rows == await pinned_rows(db):
        return False
    log.warning(
        "The query planner's statistics were changed (by ANALYZE?): pinned ones put back"
    )
    for sql in pin_statements():
        await db.run_ddl(sql)
    return True
