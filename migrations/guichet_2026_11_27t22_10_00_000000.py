"""The mail and webhook queues' waiting rows, by partial indexes on their id.

Sent rows stay (the outbox is the record of what was said to whom), so the queues only grow:
a claim ("the oldest waiting rows") and the backlog count walked every row ever sent. With
420,000 sent mails a claim took 60 ms on SQLite, inside the write transaction that holds
the database's single write lock, at every dispatcher pass; from these indexes, 0.01 ms.
``sent_at IS NULL`` is a term of every query that reads waiting rows, so both engines use
them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T22:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "waiting rows of the mail and webhook queues, by partial indexes"

TABLES = ("outbox", "account_mail", "webhook_delivery")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        for table in TABLES:
            await engine_finder().run_ddl(
                f"CREATE INDEX IF NOT EXISTS {table}_waiting ON {table} (id) "
                "WHERE sent_at IS NULL"
            )

    async def down():
        for table in TABLES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {table}_waiting")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
