"""Partial index of the tickets whose service-level clock runs (the "due" sort's first part,
server.db.queries.RUNNING_CLOCK): a few thousand rows whatever the number of tickets."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T11:42:49:850814"
VERSION = "1.38.0"
DESCRIPTION = "tickets with a running SLA clock"

# The WHERE must read exactly as the query's condition for SQLite to use the index.
INDEX = (
    "CREATE INDEX ticket_sla_running ON ticket_sla (ticket) WHERE"
    " (take_met_at IS NULL AND take_due_at < resolve_due_at)"
    " OR (resolve_met_at IS NULL AND resolve_due_at IS NOT NULL)"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        await engine_finder().run_ddl(INDEX)

    async def down():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS ticket_sla_running")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
