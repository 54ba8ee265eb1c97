"""The floor under ``bench/writes.py``: Guichet's fixed stack (uvicorn, Litestar, Piccolo, the
same database layer and pool) doing only what django-helpdesk's kanban move does, one status
write, and nothing at all. Served by ``writes.py`` on Guichet's own bench database, pinned
to the same core, and driven by the same clients: what no Guichet move can beat on this
machine, whatever it leaves out (history, counters, SLA, notices, live push, the HTML
answer). Not part of Guichet.

    uvicorn bench.write_floor:app    # GUICHET_DATABASE_URL names the database
"""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar, post

from server.db import engine as db
from server.db.tables import Ticket

POOL = os.environ.get("GUICHET_DB_POOL", "true").lower() == "true"


@post("/floor/http", status_code=200)
async def http_only(data: dict[str, Any]) -> dict[str, bool]:
    """The HTTP layer alone: parse a small JSON body, answer a small JSON one."""
    return {"ok": bool(data)}


@post("/floor/move/{ticket_id:int}", status_code=200)
async def status_write(ticket_id: int, data: dict[str, str]) -> dict[str, bool]:
    """The peer's kanban move: one UPDATE of the status in its own transaction."""
    async with db.db_session(), db.write_transaction():
        await Ticket.update({Ticket.status: data["status"]}).where(Ticket.id == ticket_id)
    return {"ok": True}


async def _start() -> None:
    await db.start(POOL)


async def _stop() -> None:
    await db.stop(POOL)


app = Litestar([http_only, status_write], on_startup=[_start], on_shutdown=[_stop])
