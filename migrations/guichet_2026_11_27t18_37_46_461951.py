"""The report tallies read along an index that holds every column the activity report reads
(period, scope, filters and sums): the period's rows come from the index alone, not one
table row looked up per index entry (31,000 of each table for 30 days at 1 M tickets).
The unique keys stay: the writes' upserts name them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T18:37:46:466694"
VERSION = "1.38.0"
DESCRIPTION = "report tallies read from covering indexes"

KEY = "hour, establishment, assigned_group, category, assignee"
INDEXES = {
    "ticket_hour_tally_read": (
        f"CREATE INDEX ticket_hour_tally_read ON ticket_hour_tally"
        f" ({KEY}, created, resolved, reopened, minutes)"
    ),
    "ticket_duration_tally_read": (
        f"CREATE INDEX ticket_duration_tally_read ON ticket_duration_tally"
        f" ({KEY}, measure, bucket, n)"
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
