"""The activity report's per-establishment sums: the hourly tallies summed per hour and
establishment (time spent per author), and the durations per UTC day and establishment,
backfilled from the hourly tallies; an ``(assignee, hour)`` index on each hourly tally for
a reader's own work outside their establishments. ``server.db.report_tally.SUMS_SQL`` does
the same backfill (this copy is frozen)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T21:09:08:861126"
VERSION = "1.38.0"
DESCRIPTION = "activity report sums per establishment"

BACKFILL = [
    "INSERT INTO ticket_hour_sum (hour, establishment, worker, created, resolved, reopened,"
    " minutes) SELECT hour, establishment, 0, SUM(created), SUM(resolved), SUM(reopened), 0"
    " FROM ticket_hour_tally GROUP BY hour, establishment"
    " HAVING SUM(created) <> 0 OR SUM(resolved) <> 0 OR SUM(reopened) <> 0",
    "INSERT INTO ticket_hour_sum (hour, establishment, worker, created, resolved, reopened,"
    " minutes) SELECT hour, establishment, assignee, 0, 0, 0, SUM(minutes)"
    " FROM ticket_hour_tally WHERE minutes <> 0 GROUP BY hour, establishment, assignee"
    " ON CONFLICT (hour, establishment, worker)"
    " DO UPDATE SET minutes = ticket_hour_sum.minutes + excluded.minutes",
    "INSERT INTO ticket_duration_day (day, establishment, measure, bucket, n)"
    " SELECT hour / 24, establishment, measure, bucket, SUM(n)"
    " FROM ticket_duration_tally GROUP BY hour / 24, establishment, measure, bucket"
    " HAVING SUM(n) <> 0",
]


def up_sql(engine_type: str) -> list[str]:
    serial = "SERIAL PRIMARY KEY" if engine_type == "postgres" else "INTEGER PRIMARY KEY"
    return [
        f"""CREATE TABLE ticket_hour_sum (
            id {serial},
            hour INTEGER NOT NULL,
            establishment INTEGER NOT NULL,
            worker INTEGER NOT NULL,
            created INTEGER NOT NULL DEFAULT 0,
            resolved INTEGER NOT NULL DEFAULT 0,
            reopened INTEGER NOT NULL DEFAULT 0,
            minutes INTEGER NOT NULL DEFAULT 0)""",
        "CREATE UNIQUE INDEX ticket_hour_sum_key ON ticket_hour_sum (hour, establishment, worker)",
        # Covering, establishment first: a reader's establishments' rows for the period are
        # read from the index alone (a reader who sees everything reads the key's range).
        "CREATE INDEX ticket_hour_sum_read ON ticket_hour_sum"
        " (establishment, hour, worker, created, resolved, reopened, minutes)",
        f"""CREATE TABLE ticket_duration_day (
            id {serial},
            day INTEGER NOT NULL,
            establishment INTEGER NOT NULL,
            measure VARCHAR(20) NOT NULL,
            bucket INTEGER NOT NULL,
            n INTEGER NOT NULL DEFAULT 0)""",
        "CREATE UNIQUE INDEX ticket_duration_day_key ON ticket_duration_day"
        " (day, establishment, measure, bucket)",
        "CREATE INDEX ticket_duration_day_read ON ticket_duration_day"
        " (establishment, day, measure, bucket, n)",
        "CREATE INDEX ticket_hour_tally_assignee ON ticket_hour_tally (assignee, hour)",
        "CREATE INDEX ticket_duration_tally_assignee ON ticket_duration_tally (assignee, hour)",
        *BACKFILL,
    ]


DOWN = [
    "DROP INDEX IF EXISTS ticket_duration_tally_assignee",
    "DROP INDEX IF EXISTS ticket_hour_tally_assignee",
    "DROP TABLE IF EXISTS ticket_duration_day",
    "DROP TABLE IF EXISTS ticket_hour_sum",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        for sql in up_sql(engine.engine_type):
            await engine.run_ddl(sql)

    async def down():
        engine = engine_finder()
        for sql in DOWN:
            await engine.run_ddl(sql)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
