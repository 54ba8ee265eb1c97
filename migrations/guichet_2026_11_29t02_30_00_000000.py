"""PostgreSQL: an establishment's shared tickets by status, counted from the index alone.

A requester sees their own tickets, their establishment's shared ones and those shared with
them by name. A list's capped count ("1,000+") now counts each of these apart (see
``server.db.queries.access_branches``): ``ticket (establishment, status, shared)`` answers
"shared tickets of this establishment in this tab" without reading a row, where ``ticket
(establishment, status)`` had to visit each ticket for its ``shared`` flag. The new index
replaces the old one under the same name (every query the two columns served, the three
serve).

SQLite keeps ``ticket (establishment, status)``: its planner breaks near-ties between indexes
by the order they were created, and the same index re-created last had a requester's
establishment list read ``ticket (establishment, created_at)`` instead (10 ms -> 250 ms a
page at a million tickets). There the branch reads ``shared`` from each ticket it finds.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "PostgreSQL: an establishment's shared tickets by status, from the index"


async def _replace(columns: str) -> None:
    engine = engine_finder()
    if engine.engine_type != "postgres":
        return
    await engine.run_ddl("DROP INDEX IF EXISTS ticket_establishment_status")
    await engine.run_ddl(f"CREATE INDEX ticket_establishment_status ON ticket ({columns})")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        await _replace("establishment, status, shared")

    async def down():
        await _replace("establishment, status")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
