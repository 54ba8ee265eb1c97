"""PostgreSQL: a requester's tickets by establishment and by requester, newest first.

A requester's search walks their establishment's tickets and their own newest first, each
part from its own index (``server.db.search._pg_requester_walk``), instead of every ticket:
52,700 tickets read at a million to find the 500 newest matches, 4,400 so. The single-column
indexes on these columns give their rows in no useful order. Built in about a second each
at a million tickets. SQLite's search reads its FTS5 tables and does not use them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T00:16:25:100948"
VERSION = "1.38.0"
DESCRIPTION = "ticket (establishment, id) and (requester, id) indexes on PostgreSQL"

INDEXES = {
    "ticket_establishment_newest": "ticket (establishment, id)",
    "ticket_requester_newest": "ticket (requester, id)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        if engine.engine_type == "postgres":
            for name, columns in INDEXES.items():
                await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {columns}")

    async def down():
        engine = engine_finder()
        if engine.engine_type == "postgres":
            for name in INDEXES:
                await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
