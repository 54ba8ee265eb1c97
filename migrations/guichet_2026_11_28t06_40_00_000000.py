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
a Guichet database; the server undoes it when it starts (``server.db.planner_stats``).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

# The statistics and their statements live with the server, which puts them back when an
# ANALYZE changed them.
from server.db.planner_stats import pin_statements

ID = "2026-11-28T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "SQLite: the query planner's statistics, pinned"


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
