"""Counter rebuild time: the SQL ``counters.rebuild`` against the former Python pass over
every ticket (kept here as the baseline), on the same database in the same run, and the
rows of both compared (they must be equal).

    GUICHET_DATABASE_URL=sqlite:///var/bench-pages/pages-100000.sqlite3 \\
        nice -n 10 .venv/bin/python bench/counters_rebuild.py

Both run in a transaction that is rolled back: the database is left as it was.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Rollback(Exception):
    """Leave the measured database untouched."""


async def python_rebuild() -> None:
    """The former ``counters.rebuild``: every ticket read and keyed in Python."""
    from server.db import counters, hot_rows
    from server.db.counter_tables import TicketCounter, TicketTally
    from server.db.tables import Ticket

    await TicketCounter.delete(force=True)
    await TicketTally.delete(force=True)
    # Written at once, not at the commit (db.hot_rows): the measured run is rolled back, and
    # its rows are read before that. Deferred, they were never written and the rows differed.
    token = hot_rows._PENDING.set(None)
    try:
        last = 0
        while True:
            rows = await (
                Ticket.select(Ticket.id, *counters.KEY_COLUMNS)
                .where(Ticket.id > last)
                .order_by(Ticket.id)
                .limit(20_000)
            )
            if not rows:
                return
            last = rows[-1]["id"]
            await counters.apply_many([], rows)
    finally:
        hot_rows._PENDING.reset(token)


async def rows() -> tuple[Counter[tuple], Counter[tuple]]:
    from server.db.counter_tables import TicketCounter, TicketTally

    def keyed(found: list[dict]) -> Counter[tuple]:
        return Counter(
            {tuple(v for k, v in r.items() if k not in ("id", "n")): r["n"] for r in found}
        )

    return keyed(await TicketCounter.select()), keyed(await TicketTally.select())


async def timed(rebuild) -> tuple[float, float, tuple]:
    from server.db.engine import write_transaction

    result: list = []
    try:
        async with write_transaction():
            wall, cpu = time.perf_counter(), time.process_time()
            await rebuild()
            result += [time.perf_counter() - wall, time.process_time() - cpu, await rows()]
            raise Rollback
    except Rollback:
        pass
    return result[0], result[1], result[2]


async def main() -> None:
    from server.db import counters
    from server.db.engine import start, stop
    from server.db.tables import Ticket

    await start(pool=False)
    try:
        tickets = await Ticket.count()
        engine = Ticket._meta.db.engine_type
        sql_wall, sql_cpu, sql_rows = await timed(counters.rebuild)
        py_wall, py_cpu, py_rows = await timed(python_rebuild)
    finally:
        await stop(pool=False)
    report(engine, tickets, (py_wall, py_cpu), (sql_wall, sql_cpu))
    assert sql_rows == py_rows, "the SQL rebuild must give the Python rows"
    print("same rows: yes")


def report(engine: str, tickets: int, before: tuple[float, float], after: tuple[float, float]):
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{engine}, {tickets:,} tickets, load {' '.join(load)}")
    print("| rebuild | wall s | client CPU s |")
    print("|---|---:|---:|")
    print(f"| Python over every ticket (before) | {before[0]:.2f} | {before[1]:.2f} |")
    print(f"| SQL INSERT ... SELECT ... GROUP BY | {after[0]:.2f} | {after[1]:.2f} |")
    print(f"ratio {before[0] / after[0]:.1f}x")

if __name__ == "__main__":
    assert os.environ.get("GUICHET_DATABASE_URL"), "set GUICHET_DATABASE_URL"
    asyncio.run(main())
