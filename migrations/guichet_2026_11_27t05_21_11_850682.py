"""A generation stamp for the service configuration (SLA policies, calendars, maintenance
windows, categories, establishments), set to a new random number by triggers on every change
of those tables whoever makes it (admin pages, the command line, bulk loads). Random, not
incremented: the stamp of a change that rolled back never comes back for another content.
Each instance keeps the configuration in memory and re-reads it only when the stamp changed:
one primary-key lookup instead of six table reads on every ticket change.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T05:21:11:850682"
VERSION = "1.38.0"
DESCRIPTION = "service configuration generation"

TABLES = (
    "category",
    "establishment",
    "establishment_calendar",
    "business_calendar",
    "maintenance_window",
    "sla_policy",
)
_SQLITE_BUMP = "UPDATE config_generation SET value = random() WHERE id = 1"
_POSTGRES_BUMP = (
    "UPDATE config_generation SET value = floor(random() * 9e15)::bigint WHERE id = 1"
)

SQLITE_UP = [
    "CREATE TABLE config_generation (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO config_generation (id, value) VALUES (1, 1)",
    *(
        f"CREATE TRIGGER config_generation_{table}_{op.lower()} AFTER {op} ON {table} "
        f"BEGIN {_SQLITE_BUMP}; END"
        for table in TABLES
        for op in ("INSERT", "UPDATE", "DELETE")
    ),
]
SQLITE_DOWN = [
    *(
        f"DROP TRIGGER IF EXISTS config_generation_{table}_{op}"
        for table in TABLES
        for op in ("insert", "update", "delete")
    ),
    "DROP TABLE IF EXISTS config_generation",
]

POSTGRES_UP = [
    "CREATE TABLE config_generation (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO config_generation (id, value) VALUES (1, 1)",
    f"""CREATE FUNCTION config_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {_POSTGRES_BUMP}; RETURN NULL; END $$""",
    # Once per statement (TRUNCATE included), not per row: a bulk load bumps it once.
    *(
        f"CREATE TRIGGER config_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION config_generation_bump()"
        for table in TABLES
    ),
]
POSTGRES_DOWN = [
    *(f"DROP TRIGGER IF EXISTS config_generation_bump ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS config_generation_bump()",
    "DROP TABLE IF EXISTS config_generation",
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
