"""Index of tickets by establishment, newest first: a requester's establishment list (and a
staff list filtered on one establishment) reads its page in order instead of sorting every
ticket the establishment ever had (66 k at 1 M)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T11:39:23:719422"
VERSION = "1.38.0"
DESCRIPTION = "tickets by establishment and creation"

INDEX = "CREATE INDEX ticket_establishment_created ON ticket (establishment, created_at)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        await engine_finder().run_ddl(INDEX)

    async def down():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS ticket_establishment_created")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
