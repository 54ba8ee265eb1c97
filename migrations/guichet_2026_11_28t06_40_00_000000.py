"""SQLite: the query planner's statistics, pinned, so that every database gets the plans the
benchmarks measured, whatever its size.

Guichet never runs ``ANALYZE``; SQLite's planner then goes by built-in guesses, and on a
million tickets some of them are ruinous: a technician's backlog list and landing page took
0.7 s, their search 3.3 s. A full ``ANALYZE`` of the same data helps those and harms
others: the wallboard and the activity report took 0.3 s, scanning the narrow covering
index ``ticket_search_access`` because a column's average (83,334 tickets per establishment
and status) hides that open tickets are few. The plans every benchmark since session 4
measured (all pages within 100 ms at a million tickets) came from the statistics below: an
``ANALYZE`` of the benchmark's million tickets, taken before the later indexes existed
(those stay without statistics, as they were measured), and two for a requester's history.
SQLite documents this use of ``sqlite_stat1`` for stable plans. Do not run ``ANALYZE`` on
a Guichet database; ``pin_statements()`` run again undoes it.
"""

# ruff: noqa: S608 - the SQL is built from the constants below.
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "SQLite: the query planner's statistics, pinned"

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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def run(statements: list[str]) -> None:
        engine = engine_finder()
        if engine.engine_type == "sqlite":
            for sql in statements:
                await engine.run_ddl(sql)

    async def up():
        await run(pin_statements())

    async def down():
        await run(["DELETE FROM sqlite_stat1", "ANALYZE sqlite_schema"])

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
