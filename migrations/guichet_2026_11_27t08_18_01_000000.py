"""Catalogue tables created by the previous migration join the configuration generation
(changes take effect live on every instance) and the catalogue history becomes append-only.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T08:18:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue tables: live generation triggers, append-only history"

# Catalogue changes take effect live: the tables read through the configuration cache bump
# its generation like the older configuration tables do. The history is append-only.
LIVE_TABLES = ("request_type", "label_translation", "tech_group")
_SQLITE_BUMP = "UPDATE config_generation SET value = random() WHERE id = 1"
SQLITE_UP = [
    *(
        f"CREATE TRIGGER config_generation_{table}_{op.lower()} AFTER {op} ON {table} "
        f"BEGIN {_SQLITE_BUMP}; END"
        for table in LIVE_TABLES
        for op in ("INSERT", "UPDATE", "DELETE")
    ),
    """CREATE TRIGGER catalogue_history_no_update BEFORE UPDATE ON catalogue_history
       BEGIN SELECT RAISE(ABORT, 'catalogue_history is append-only'); END""",
    """CREATE TRIGGER catalogue_history_no_delete BEFORE DELETE ON catalogue_history
       BEGIN SELECT RAISE(ABORT, 'catalogue_history is append-only'); END""",
]
POSTGRES_UP = [
    *(
        f"CREATE TRIGGER config_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION config_generation_bump()"
        for table in LIVE_TABLES
    ),
    """CREATE FUNCTION catalogue_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'catalogue_history is append-only'; END $$""",
    """CREATE TRIGGER catalogue_history_append_only BEFORE UPDATE OR DELETE ON catalogue_history
       FOR EACH ROW EXECUTE FUNCTION catalogue_history_append_only()""",
]



async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        for sql in SQLITE_UP if engine.engine_type == "sqlite" else POSTGRES_UP:
            await engine.run_ddl(sql)

    manager.add_raw(up)
    return manager
