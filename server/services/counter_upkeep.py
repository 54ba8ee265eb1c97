"""The operator's check of the board counters and overview tallies against a full count,
and their recount (``guichet counters check|rebuild``).

Every change keeps them exact in its own transaction (``db.counters``); these are for what
no change goes through: rows edited by hand in SQL, a restore taken mid-way, a bug. The
check only reads (one statement a table: one snapshot) and blocks nobody. The recount
makes ticket writers wait while it runs (seconds at a million tickets), so that no change
lands between the count and the rows it puts right.
"""

from __future__ import annotations

from server.db import counters
from server.db.engine import db_session, engine, write_transaction
from server.db.tables import Ticket

Drift = counters.Drift


async def check() -> list[Drift]:
    """The counter rows a full count does not confirm (none when all is well)."""
    async with db_session("counters check"):
        return await counters.drift()


async def recount() -> None:
    """Put the counters right from the tickets, with writers held back until it commits."""
    async with db_session("counters rebuild"), write_transaction():
        if engine().engine_type != "postgres":
            # SQLite's IMMEDIATE transaction holds its one writer. Rewriting every row is the
            # quicker way there: 5 s at a million tickets, where comparing takes 26 s.
            await counters.rebuild()
            return
        # SHARE conflicts with the ROW EXCLUSIVE lock every INSERT/UPDATE/DELETE takes:
        # changes already running finish first, the next ones wait for the commit. Then only
        # the rows that differ are written: 8 s at a million tickets, where deleting and
        # writing back every row (one per closing day and key) took 31 s.
        await Ticket.raw("LOCK TABLE ticket IN SHARE MODE")
        await counters.repair(await counters.drift())
