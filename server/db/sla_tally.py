"""The SLA report's read model (``report_tables.TicketSlaTally``), kept in the transaction
that stores a ticket's SLA state (``services.sla.refresh``), read for a period of days.

Each ``ticket_sla`` row remembers the fields it is counted under (``counted_*``), so one
refresh moves a ticket from its old tally rows to its new ones, whatever changed since:
its states, or its establishment, group or priority. A ticket is counted under its local
day of creation in ``ZONE`` (the days the report's periods are made of), once per block
length (``domain.day_buckets``).
"""

# ruff: noqa: S608 - the SQL is built from constants only, never from input.
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Max, Min
from piccolo.querystring import QueryString

from server.db import hot_rows
from server.db.report_tables import TicketSlaTally
from server.db.sla_tables import TicketSla
from server.db.tables import Ticket
from server.domain.day_buckets import LEVELS, STRIDE, blocks_of_day, day_number, offset_changes
from server.domain.sla_rules import measured

# The reports' days: ``web.rendering.DISPLAY_TZ`` (a test holds them equal).
ZONE = ZoneInfo("Europe/Paris")

# (day, establishment, group, priority, measured take state, measured resolve state)
Key = tuple[int, int, int, str, str, str]
_COLUMNS = "bucket, establishment, assigned_group, priority, take_state, resolve_state"


def key_now(ticket: dict[str, Any], take_state: str, resolve_state: str) -> Key:
    """Where a ticket with these states is counted now (``ticket``: its row)."""
    return (
        day_number(ticket["created_at"], ZONE),
        ticket["establishment"],
        ticket["assigned_group"] or 0,
        ticket["priority"],
        measured(take_state),
        measured(resolve_state),
    )


def key_stored(created_at: datetime, row: dict[str, Any] | None) -> Key | None:
    """Where a stored ``ticket_sla`` row is counted (None: nowhere, or no row)."""
    if row is None or not row.get("counted_establishment"):
        return None
    return (
        day_number(created_at, ZONE),
        row["counted_establishment"],
        row["counted_group"],
        row["counted_priority"],
        measured(row["take_state"]),
        measured(row["resolve_state"]),
    )


def counted_values(ticket: dict[str, Any]) -> dict[Any, Any]:
    """The ``ticket_sla`` columns to store with the row counted under :func:`key_now`."""
    return {
        TicketSla.counted_establishment: ticket["establishment"],
        TicketSla.counted_group: ticket["assigned_group"] or 0,
        TicketSla.counted_priority: ticket["priority"],
    }


async def follow(before: Key | None, after: Key | None) -> None:
    """Move one ticket from its ``before`` rows to its ``after`` rows: one statement, rows
    in a fixed order (two crossing changes never wait on each other in opposite orders)."""
    if before == after:
        return
    deltas: Counter[tuple[Any, ...]] = Counter()
    for key, n in ((before, -1), (after, 1)):
        if key is not None:
            for block in blocks_of_day(key[0]):
                deltas[(block, *key[1:])] += n
    await hot_rows.add("ticket_sla_tally", deltas, _write)


def _write(deltas: Counter[tuple[Any, ...]]) -> list[QueryString]:
    rows = sorted((key, n) for key, n in deltas.items() if n)
    if not rows:
        return []
    values = ", ".join(["({}, {}, {}, {}, {}, {}, {})"] * len(rows))
    return [
        QueryString(
            f"INSERT INTO ticket_sla_tally ({_COLUMNS}, n) VALUES {values}"
            f" ON CONFLICT ({_COLUMNS}) DO UPDATE SET n = ticket_sla_tally.n + excluded.n",
            *(value for key, n in rows for value in (*key, n)),
        )
    ]


# --- backfill ------------------------------------------------------------------------------
# The same statements as the migration that created the table (kept apart on purpose: a
# migration never changes).

_EPOCH = {
    "postgres": "extract(epoch FROM t.created_at)",
    "sqlite": "CAST(strftime('%s', t.created_at) AS INTEGER)",
}


def _local_day_sql(engine: str, changes: list[tuple[int, int]]) -> str:
    epoch = _EPOCH[engine]
    whens = " ".join(
        f"WHEN {epoch} < {since} THEN {offset}" for (_, offset), (since, _) in pairwise(changes)
    )
    offset = f"CASE {whens} ELSE {changes[-1][1]} END" if whens else str(changes[-1][1])
    if engine == "postgres":
        return f"floor(({epoch} + {offset}) / 86400)::integer"
    return f"(({epoch} + {offset}) / 86400)"


def backfill_sql(engine: str, changes: list[tuple[int, int]]) -> list[str]:
    """Count every ``ticket_sla`` row under its ticket's present fields (``changes``: the
    zone's UTC offsets over the tickets' creation times, ``day_buckets.offset_changes``)."""
    state = "CASE WHEN s.{0} IN ('met', 'breached') THEN s.{0} ELSE '' END"
    into = f"INSERT INTO ticket_sla_tally ({_COLUMNS}, n) "
    return [
        "UPDATE ticket_sla SET counted_establishment = t.establishment,"
        " counted_group = COALESCE(t.assigned_group, 0), counted_priority = t.priority"
        " FROM ticket t WHERE t.id = ticket_sla.ticket",
        into + f"SELECT {_local_day_sql(engine, changes)}, t.establishment,"
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


def _instant(value: datetime | str) -> datetime:
    """An aggregate of timestamps: text on SQLite, a datetime on PostgreSQL."""
    if isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def rebuild() -> None:
    """Recount everything from ``ticket_sla`` and tickets (after a bulk import; the
    migration did the same). Run it while nothing else writes tickets."""
    await TicketSlaTally.delete(force=True)
    span = await Ticket.select(
        Min(Ticket.created_at, alias="first"), Max(Ticket.created_at, alias="last")
    ).first()
    if not span or span["first"] is None:
        return
    changes = offset_changes(ZONE, _instant(span["first"]), _instant(span["last"]))
    # Through the table's query (not run_ddl): inside the caller's transaction, if any.
    for sql in backfill_sql(TicketSlaTally._meta.db.engine_type, changes):
        await TicketSlaTally.raw(sql)
