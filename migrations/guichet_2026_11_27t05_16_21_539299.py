"""Ticket counters (issue 12): per-key counts for the board and /overview, backfilled from
the tickets; an index for the board's "recently closed" column."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T05:16:21:539299"
VERSION = "1.38.0"
DESCRIPTION = "ticket counters"

NOT_CLOSED = 10_000_000  # server.db.counters.NOT_CLOSED
BOARD_KEY = (
    "status, closed_day, establishment, assigned_group, assignee, category, priority_rank, shared"
)
TALLY_KEY = "status, establishment, assigned_group, assignee"
DAY = {
    "postgres": "floor(extract(epoch FROM closed_at) / 86400)::integer",
    "sqlite": "CAST(strftime('%s', closed_at) AS INTEGER) / 86400",
}


def up_sql(engine_type: str) -> list[str]:
    serial = "SERIAL PRIMARY KEY" if engine_type == "postgres" else "INTEGER PRIMARY KEY"
    closed_day = (
        f"CASE WHEN status <> 'closed' THEN {NOT_CLOSED}"
        f" ELSE COALESCE({DAY[engine_type]}, 0) END"
    )
    return [
        f"""CREATE TABLE ticket_counter (
            id {serial},
            status VARCHAR(20) NOT NULL,
            closed_day INTEGER NOT NULL,
            establishment INTEGER NOT NULL,
            assigned_group INTEGER NOT NULL,
            assignee INTEGER NOT NULL,
            category INTEGER NOT NULL,
            priority_rank INTEGER NOT NULL,
            shared BOOLEAN NOT NULL,
            n INTEGER NOT NULL DEFAULT 0)""",
        f"CREATE UNIQUE INDEX ticket_counter_key ON ticket_counter ({BOARD_KEY})",
        "CREATE INDEX ticket_counter_closed_day ON ticket_counter (closed_day)",
        f"""CREATE TABLE ticket_tally (
            id {serial},
            status VARCHAR(20) NOT NULL,
            establishment INTEGER NOT NULL,
            assigned_group INTEGER NOT NULL,
            assignee INTEGER NOT NULL,
            n INTEGER NOT NULL DEFAULT 0)""",
        f"CREATE UNIQUE INDEX ticket_tally_key ON ticket_tally ({TALLY_KEY})",
        f"""INSERT INTO ticket_counter ({BOARD_KEY}, n)
            SELECT status, {closed_day}, establishment, COALESCE(assigned_group, 0),
                   COALESCE(assignee, 0), COALESCE(category, 0), priority_rank, shared, COUNT(*)
            FROM ticket
            GROUP BY status, {closed_day}, establishment, COALESCE(assigned_group, 0),
                     COALESCE(assignee, 0), COALESCE(category, 0), priority_rank, shared""",
        f"""INSERT INTO ticket_tally ({TALLY_KEY}, n)
            SELECT status, establishment, COALESCE(assigned_group, 0), COALESCE(assignee, 0),
                   COUNT(*)
            FROM ticket
            GROUP BY status, establishment, COALESCE(assigned_group, 0), COALESCE(assignee, 0)""",
        # The board's Closed column reads a 7-day range of this index, not every closed row.
        "CREATE INDEX ticket_status_closed ON ticket (status, closed_at)",
    ]


DOWN = [
    "DROP INDEX IF EXISTS ticket_status_closed",
    "DROP TABLE IF EXISTS ticket_tally",
    "DROP TABLE IF EXISTS ticket_counter",
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
