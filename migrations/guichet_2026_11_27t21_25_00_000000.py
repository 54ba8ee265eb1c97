"""Service-level rows whose target is breached but not yet escalated, by partial indexes.

Every scheduler pass (30 s) asks for them. Only a handful exist at any time (a breach is
escalated on the pass that sees it), but the question scanned every row of ticket_sla:
229 ms a pass on SQLite at 1 M tickets, holding a connection. From these indexes it reads
only the rows it returns. ``server.services.scheduler`` repeats the predicates term for term:
SQLite uses a partial index only when the query's WHERE holds its terms."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T21:25:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ticket_sla breached and not escalated, by partial indexes"

INDEXES = {
    "ticket_sla_take_breach": (
        "CREATE INDEX IF NOT EXISTS ticket_sla_take_breach ON ticket_sla (ticket) "
        "WHERE take_state = 'breached' AND take_met_at IS NULL AND NOT take_escalated"
    ),
    "ticket_sla_resolve_breach": (
        "CREATE INDEX IF NOT EXISTS ticket_sla_resolve_breach ON ticket_sla (ticket) "
        "WHERE resolve_state = 'breached' AND resolve_met_at IS NULL AND NOT resolve_escalated"
    ),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        for sql in INDEXES.values():
            await engine_finder().run_ddl(sql)

    async def down():
        for name in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
