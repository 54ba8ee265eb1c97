"""History entries are an audit trail: the database refuses to update or delete them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-21T23:27:32:533176"
VERSION = "1.38.0"
DESCRIPTION = "append-only history"

SQLITE_UP = [
    """CREATE TRIGGER history_entry_no_update BEFORE UPDATE ON history_entry
       BEGIN SELECT RAISE(ABORT, 'history_entry is append-only'); END""",
    """CREATE TRIGGER history_entry_no_delete BEFORE DELETE ON history_entry
       BEGIN SELECT RAISE(ABORT, 'history_entry is append-only'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS history_entry_no_update",
    "DROP TRIGGER IF EXISTS history_entry_no_delete",
]
POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION history_entry_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'history_entry is append-only'; END $$""",
    """CREATE TRIGGER history_entry_append_only BEFORE UPDATE OR DELETE ON history_entry
       FOR EACH ROW EXECUTE FUNCTION history_entry_append_only()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS history_entry_append_only ON history_entry",
    "DROP FUNCTION IF EXISTS history_entry_append_only()",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        for sql in SQLITE_UP if engine.engine_type == "sqlite" else POSTGRES_UP:
            await engine.run_ddl(sql)

    async def down():
        engine = engine_finder()
        for sql in SQLITE_DOWN if engine.engine_type == "sqlite" else POSTGRES_DOWN:
            await engine.run_ddl(sql)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
