"""One row per (ticket, person) for watchers and shares; one serving row per (group,
establishment) and one scope row per (supervisor, establishment)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T02:01:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique watchers, shares, serving and scopes"

UP = [
    "CREATE UNIQUE INDEX ticket_watcher_once ON ticket_watcher (ticket, \"user\")",
    "CREATE UNIQUE INDEX ticket_share_once ON ticket_share (ticket, \"user\")",
    "CREATE UNIQUE INDEX group_establishment_once ON group_establishment (\"group\", establishment)",
    "CREATE UNIQUE INDEX supervisor_scope_once ON supervisor_scope (\"user\", establishment)",
]
DOWN = [
    "DROP INDEX IF EXISTS ticket_watcher_once",
    "DROP INDEX IF EXISTS ticket_share_once",
    "DROP INDEX IF EXISTS group_establishment_once",
    "DROP INDEX IF EXISTS supervisor_scope_once",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        for sql in UP:
            await engine.run_ddl(sql)

    async def down():
        engine = engine_finder()
        for sql in DOWN:
            await engine.run_ddl(sql)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
