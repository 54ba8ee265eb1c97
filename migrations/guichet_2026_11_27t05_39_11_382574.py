"""Account mails (activation and reset links) are queued and sent by the mail dispatcher."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T05:39:11:382574"
VERSION = "1.38.0"
DESCRIPTION = "account mail queue"

COLUMNS = """
    recipient VARCHAR(254) NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ NULL DEFAULT NULL,
    claimed_by VARCHAR(64) NULL DEFAULT NULL,
    claimed_until TIMESTAMPTZ NULL DEFAULT NULL,
    last_error TEXT NOT NULL DEFAULT ''
"""
ID_COLUMN = {"postgres": "id SERIAL PRIMARY KEY", "sqlite": "id INTEGER PRIMARY KEY"}
INDEX = "CREATE INDEX account_mail_next_attempt_at ON account_mail (next_attempt_at)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        id_column = ID_COLUMN["postgres" if engine.engine_type == "postgres" else "sqlite"]
        await engine.run_ddl(f"CREATE TABLE account_mail ({id_column},{COLUMNS})")
        await engine.run_ddl(INDEX)

    async def down():
        await engine_finder().run_ddl("DROP TABLE IF EXISTS account_mail")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
