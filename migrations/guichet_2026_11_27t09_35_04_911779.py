"""Index for a person's own tickets by status (the "mine" lists and their counts)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T09:35:04:916527"
VERSION = "1.38.0"
DESCRIPTION = "ticket assignee and status index"

# "Assigned to me, open": the open few among years of closed ones, found by range instead
# of reading every ticket ever assigned to the person (linear in their history).
INDEX = "CREATE INDEX ticket_assignee_status ON ticket (assignee, status)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        await engine_finder().run_ddl(INDEX)

    async def down():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS ticket_assignee_status")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
