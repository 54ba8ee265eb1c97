"""The ticket lists' database work in-process: ``queries.list_tickets`` for every list row
of ``bench/pages.py`` (technician tech0, requester req0), median wall time and CPU time of
this process over ``--repeat`` calls. CPU time and statement plans barely move with the
machine's load, unlike page latencies on a shared machine: run it on two checkouts (before
and after a change) against copies of the same database to compare.

    GUICHET_DATABASE_URL=sqlite:///var/bench-pages/pages-1000000.sqlite3 \\
        nice -n 10 .venv/bin/python bench/list_queries.py --repeat 15
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TABS = ("open", "closed", "all")
STAFF = [(s, t) for s in ("all", "mine", "backlog", "following") for t in TABS]
REQUESTER = [(s, t) for s in ("mine", "establishment", "following", "all") for t in TABS[:2]]
EXTRA = [("tech", "all", "all", "due"), ("tech", "all", "open", "due")]


class _Params(dict):
    def getall(self, key: str, default: list[str]) -> list[str]:
        return [self[key]] if key in self else default


class _Request:
    """What ``filters_from_query`` reads from a request: the query string and the actor."""

    def __init__(self, actor: Any, params: dict[str, str]) -> None:
        self.query_params = _Params(params)
        self.user = type("User", (), {"actor": actor})()


async def main(repeat: int) -> list[tuple[str, float, float, int]]:
    from server.db import queries
    from server.db.engine import start, stop
    from server.db.tables import User
    from server.services.accounts import actor_of
    from server.views.ticket_list import filters_from_query

    await start(pool=False)
    people = {}
    for who, email in (("tech", "tech0@bench.test"), ("requester", "req0@bench.test")):
        row = await User.select(User.id).where(User.email == email).first()
        people[who] = await actor_of(row["id"])
    rows = [("tech", s, t, "") for s, t in STAFF] + [("requester", s, t, "") for s, t in REQUESTER]
    results = []
    for who, scope, tab, sort in rows + EXTRA:
        params = {"scope": scope, "tab": tab, **({"sort": sort} if sort else {})}
        filters = filters_from_query(_Request(people[who], params))
        walls, cpus = [], []
        for _ in range(repeat + 1):  # the first call warms caches and is not counted
            wall, cpu = time.perf_counter(), time.process_time()
            page = await queries.list_tickets(people[who], filters)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        label = f"{who} list {scope}/{tab}" + (f", sort {sort}" if sort else "")
        med = statistics.median
        results.append((label, 1000 * med(walls[1:]), 1000 * med(cpus[1:]), len(page.rows)))
    await stop(pool=False)
    return results


def report(results: list[tuple[str, float, float, int]]) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average {' '.join(load)}")
    print("| list | wall ms (median) | CPU ms (median) | rows |")
    print("|---|---:|---:|---:|")
    for label, wall, cpu, n in results:
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {n} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    report(asyncio.run(main(parser.parse_args().repeat)))
