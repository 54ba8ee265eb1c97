"""PostgreSQL: tickets by status, oldest first, from one index.

The wallboard shows the oldest new ticket: ``status = $1 ORDER BY created_at LIMIT 1``. Once
the statement is prepared, PostgreSQL plans it for any status (a generic plan) and walked
the creation-date index from the oldest ticket, nearly all of them closed: 831 ms at 1 M
tickets. From this index it reads the few new tickets in order: 1.8 ms. SQLite plans each
statement with its values and already reads the status index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T19:12:29:943980"
VERSION = "1.38.0"
DESCRIPTION = "ticket (status, created_at) index on PostgreSQL"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        if engine.engine_type == "postgres":
            await engine.run_ddl(
                "CREATE INDEX IF NOT EXISTS ticket_status_created ON ticket (status, created_at)"
            )

    async def down():
        engine = engine_finder()
        if engine.engine_type == "postgres":
            await engine.run_ddl("DROP INDEX IF EXISTS ticket_status_created")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
