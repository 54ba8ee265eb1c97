"""Index of tickets by assignee, newest first: a technician's "mine" list of closed (or all)
tickets reads its page in order instead of sorting every ticket they ever had (77 k at 1 M)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T11:59:46:499076"
VERSION = "1.38.0"
DESCRIPTION = "tickets by assignee and creation"

INDEX = "CREATE INDEX ticket_assignee_created ON ticket (assignee, created_at)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        await engine_finder().run_ddl(INDEX)

    async def down():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS ticket_assignee_created")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
