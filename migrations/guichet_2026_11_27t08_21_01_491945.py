"""At most one open ticket per establishment and deduplication key: the database itself
refuses a second one, so two identical alerts at once still give one ticket."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T08:21:01:491945"
VERSION = "1.38.0"
DESCRIPTION = "one open ticket per deduplication key and establishment"

# Partial unique index (PostgreSQL and SQLite alike); closed and resolved tickets leave it,
# so the same alert later opens a new ticket.
INDEX = (
    "CREATE UNIQUE INDEX ticket_open_dedup_key ON ticket (establishment, dedup_key) "
    "WHERE dedup_key IS NOT NULL AND status NOT IN ('resolved', 'closed')"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        await engine_finder().run_ddl(INDEX)

    async def down():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS ticket_open_dedup_key")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
