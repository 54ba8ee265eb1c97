"""Announcements join the configuration generation (see guichet_2026_11_27t05_21_11_850682).

Every page of a signed-in user shows the announcements meant for them: one read of the table
per page. They change a few times a month (an admin's save, the scheduler publishing one
when its display time comes); like the other configuration tables, a change bumps the
stamp, and each instance keeps them in memory until it does (``server.db.sla.banners_for``
decides by the clock which are shown).
"""

# ruff: noqa: S608 - the SQL is built from constants only (operation names).
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "announcements join the configuration generation"

_OPS = ("INSERT", "UPDATE", "DELETE")
SQLITE_UP = [
    f"CREATE TRIGGER config_generation_announcement_{op.lower()} AFTER {op} ON announcement "
    "BEGIN UPDATE config_generation SET value = random() WHERE id = 1; END"
    for op in _OPS
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS config_generation_announcement_{op.lower()}" for op in _OPS]
POSTGRES_UP = [
    "CREATE TRIGGER config_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON announcement FOR EACH STATEMENT EXECUTE FUNCTION config_generation_bump()"
]
POSTGRES_DOWN = ["DROP TRIGGER IF EXISTS config_generation_bump ON announcement"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def run(postgres: list[str], sqlite: list[str]) -> None:
        engine = engine_finder()
        for sql in postgres if engine.engine_type == "postgres" else sqlite:
            await engine.run_ddl(sql)

    async def up():
        await run(POSTGRES_UP, SQLITE_UP)

    async def down():
        await run(POSTGRES_DOWN, SQLITE_DOWN)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
