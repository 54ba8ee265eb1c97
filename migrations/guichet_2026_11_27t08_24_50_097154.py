"""Outbound webhooks and their delivery queue (drained by the mail dispatcher).

Receivers are configuration: a change to them bumps the configuration generation (see
guichet_2026_11_27t05_21_11_850682), so ticket changes read them from memory."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T08:24:50:097154"
VERSION = "1.38.0"
DESCRIPTION = "outbound webhooks and their delivery queue"

WEBHOOK = """
    url VARCHAR(500) NOT NULL DEFAULT '',
    secret VARCHAR(100) NOT NULL DEFAULT '',
    events TEXT NOT NULL DEFAULT '',
    establishment INTEGER NULL DEFAULT NULL REFERENCES establishment (id) ON DELETE CASCADE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by INTEGER NULL DEFAULT NULL REFERENCES account (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL
"""
DELIVERY = """
    webhook INTEGER NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
    event VARCHAR(40) NOT NULL DEFAULT '',
    delivery_id VARCHAR(40) NOT NULL UNIQUE,
    body TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ NULL DEFAULT NULL,
    claimed_by VARCHAR(64) NULL DEFAULT NULL,
    claimed_until TIMESTAMPTZ NULL DEFAULT NULL,
    last_error TEXT NOT NULL DEFAULT ''
"""
SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER config_generation_webhook_{op.lower()} AFTER {op} ON webhook "
    "BEGIN UPDATE config_generation SET value = random() WHERE id = 1; END"
    for op in ("INSERT", "UPDATE", "DELETE")
)
POSTGRES_TRIGGERS = (
    "CREATE TRIGGER config_generation_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON webhook FOR EACH STATEMENT EXECUTE FUNCTION config_generation_bump()",
)
ID_COLUMN = {"postgres": "id SERIAL PRIMARY KEY", "sqlite": "id INTEGER PRIMARY KEY"}
INDEXES = (
    "CREATE INDEX webhook_delivery_webhook ON webhook_delivery (webhook)",
    "CREATE INDEX webhook_delivery_next_attempt_at ON webhook_delivery (next_attempt_at)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        id_column = ID_COLUMN["postgres" if engine.engine_type == "postgres" else "sqlite"]
        await engine.run_ddl(f"CREATE TABLE webhook ({id_column},{WEBHOOK})")
        await engine.run_ddl(f"CREATE TABLE webhook_delivery ({id_column},{DELIVERY})")
        for index in INDEXES:
            await engine.run_ddl(index)
        for trigger in SQLITE_TRIGGERS if engine.engine_type == "sqlite" else POSTGRES_TRIGGERS:
            await engine.run_ddl(trigger)

    async def down():
        await engine_finder().run_ddl("DROP TABLE IF EXISTS webhook_delivery")
        await engine_finder().run_ddl("DROP TABLE IF EXISTS webhook")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
