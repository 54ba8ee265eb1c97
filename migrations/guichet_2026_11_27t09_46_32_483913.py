"""Index of the follow-ups that carry time spent, by date (the reports' tickets most worked on)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T09:46:32:485373"
VERSION = "1.38.0"
DESCRIPTION = "follow-ups with time spent, by date"

# Partial: only notes with minutes are in it, so a month of them is found by range.
INDEX = "CREATE INDEX follow_up_worked_at ON follow_up (created_at) WHERE minutes > 0"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        await engine_finder().run_ddl(INDEX)

    async def down():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS follow_up_worked_at")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
