"""The SLA report's read model: tickets with a service level per block of local days of
creation (Europe/Paris), establishment, group, priority and measured target states; each
ticket_sla row filled with the fields it is counted under. The backfill is frozen here;
``server.db.sla_tally.rebuild`` does the same."""

# ruff: noqa: S608 - the SQL is built from constants only.
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T11:38:44:113473"
VERSION = "1.38.0"
DESCRIPTION = "SLA report tally"

ZONE = ZoneInfo("Europe/Paris")
LEVELS, STRIDE = 10, 100_000
KEY = "bucket, establishment, assigned_group, priority, take_state, resolve_state"
EPOCH = {
    "postgres": "extract(epoch FROM t.created_at)",
    "sqlite": "CAST(strftime('%s', t.created_at) AS INTEGER)",
}


def instant(value):
    """A timestamp as SQLite returns an expression of one (text) or PostgreSQL (datetime)."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def offset_changes(start, end):
    def offset(at):
        return int(at.astimezone(ZONE).utcoffset().total_seconds())

    day = timedelta(days=1)
    at = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    changes = [(-(2**62), offset(at))]
    while at <= end:
        if offset(at + day) != changes[-1][1]:
            for quarter in range(1, 97):
                moment = at + timedelta(minutes=15 * quarter)
                if offset(moment) != changes[-1][1]:
                    changes.append((int(moment.timestamp()), offset(moment)))
        at += day
    return changes


def local_day(engine, changes):
    epoch = EPOCH[engine]
    whens = " ".join(
        f"WHEN {epoch} < {since} THEN {offset}" for (_, offset), (since, _) in pairwise(changes)
    )
    offset = f"CASE {whens} ELSE {changes[-1][1]} END" if whens else str(changes[-1][1])
    if engine == "postgres":
        return f"floor(({epoch} + {offset}) / 86400)::integer"
    return f"(({epoch} + {offset}) / 86400)"


def up_sql(engine, changes):
    serial = "SERIAL PRIMARY KEY" if engine == "postgres" else "INTEGER PRIMARY KEY"
    state = "CASE WHEN s.{0} IN ('met', 'breached') THEN s.{0} ELSE '' END"
    into = f"INSERT INTO ticket_sla_tally ({KEY}, n) "
    sql = [
        f"""CREATE TABLE ticket_sla_tally (
            id {serial},
            bucket INTEGER NOT NULL,
            establishment INTEGER NOT NULL,
            assigned_group INTEGER NOT NULL,
            priority VARCHAR(20) NOT NULL,
            take_state VARCHAR(10) NOT NULL,
            resolve_state VARCHAR(10) NOT NULL,
            n INTEGER NOT NULL DEFAULT 0)""",
        f"CREATE UNIQUE INDEX ticket_sla_tally_key ON ticket_sla_tally ({KEY})",
    ]
    if changes is None:  # no tickets yet
        return sql
    return [
        *sql,
        "UPDATE ticket_sla SET counted_establishment = t.establishment,"
        " counted_group = COALESCE(t.assigned_group, 0), counted_priority = t.priority"
        " FROM ticket t WHERE t.id = ticket_sla.ticket",
        into + f"SELECT {local_day(engine, changes)}, t.establishment,"
        f" COALESCE(t.assigned_group, 0), t.priority, {state.format('take_state')},"
        f" {state.format('resolve_state')}, COUNT(*)"
        " FROM ticket_sla s JOIN ticket t ON t.id = s.ticket GROUP BY 1, 2, 3, 4, 5, 6",
        *(
            into + f"SELECT {level * STRIDE} + bucket / {1 << level}, establishment,"
            " assigned_group, priority, take_state, resolve_state, SUM(n)"
            f" FROM ticket_sla_tally WHERE bucket < {STRIDE} GROUP BY 1, 2, 3, 4, 5, 6"
            for level in range(1, LEVELS)
        ),
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        rows = await engine.run_ddl("SELECT MIN(created_at) AS a, MAX(created_at) AS b FROM ticket")
        span = [instant(rows[0]["a"]), instant(rows[0]["b"])] if rows else [None]
        changes = offset_changes(*span) if span[0] is not None else None
        for sql in up_sql(engine.engine_type, changes):
            await engine.run_ddl(sql)

    async def down():
        await engine_finder().run_ddl("DROP TABLE IF EXISTS ticket_sla_tally")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
