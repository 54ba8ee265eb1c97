"""Python CPU per write use case, in process: the service layer alone (no HTTP, no
rendering), with the pool on as a running server has it.

``bench/writes.py`` measures the whole request from outside; on a shared machine its
throughput follows the load. This one calls ``services.tickets`` directly and reports
``time.process_time()`` per call, which waiting for a core does not inflate, so two versions
of the code can be compared on a busy machine (run it from each checkout, one after the
other). On PostgreSQL the database server's own CPU is not counted.

    .venv/bin/python bench/write_cpu.py                     # SQLite, temporary file
    .venv/bin/python bench/write_cpu.py --calls 500
    scripts/with-postgres.sh sh -c \\
        '.venv/bin/python bench/write_cpu.py --database-url "$GUICHET_DATABASE_URL"'

Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


async def measure(calls: int, rounds: int) -> dict[str, list[float]]:
    from writes import seed_guichet  # the same data as bench/writes.py

    from server.cli import migrate
    from server.db import engine as db
    from server.db.tables import Ticket
    from server.domain.forms import parse_follow_up, parse_new_ticket
    from server.domain.vocabulary import Status
    from server.services import accounts
    from server.services import tickets as service

    await migrate()
    seeded = await seed_guichet(4)
    await db.start(pool=True)
    try:
        tech_view = await accounts.session_account(seeded["tech_session"])
        requester_view = await accounts.session_account(seeded["requester_session"])
        assert tech_view is not None and requester_view is not None
        tech, requester = tech_view.actor, requester_view.actor
        moved, commented = seeded["tickets"][0][0], seeded["tickets"][1][0]
        status = {"now": Status.ASSIGNED}
        category = str(seeded["category"])

        async def create() -> None:
            async with db.db_session():
                await service.open_ticket(
                    requester,
                    parse_new_ticket(
                        {"title": "Écran noir", "description": "Bloc B", "category_id": category}
                    ),
                )

        async def move() -> None:
            async with db.db_session():
                row = await Ticket.select(Ticket.version).where(Ticket.id == moved).first()
                target = Status.PENDING if status["now"] is Status.ASSIGNED else Status.ASSIGNED
                await service.move(tech, moved, target, row["version"])
                status["now"] = target

        async def follow_up() -> None:
            async with db.db_session():
                await service.add_follow_up(
                    tech, commented, parse_follow_up({"text": "En cours"}, may_be_private=True)
                )

        results: dict[str, list[float]] = {}
        for name, call in (("create", create), ("move", move), ("follow-up", follow_up)):
            for _ in range(10):  # warm-up: compiled queries, configuration cache
                await call()
            for _ in range(rounds):
                started = time.process_time()
                for _ in range(calls):
                    await call()
                used = (time.process_time() - started) * 1000 / calls
                results.setdefault(name, []).append(used)
        return results
    finally:
        await db.stop(pool=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default="")
    p.add_argument("--calls", type=int, default=200, help="per round")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="guichet-write-cpu-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'cpu.sqlite3'}"
        os.environ["GUICHET_DATABASE_URL"] = url
        os.environ["GUICHET_VAR_DIR"] = str(Path(folder) / "var")
        os.environ.setdefault("GUICHET_SECRET_KEY", "bench-secret-key-not-for-production")
        os.environ.setdefault("GUICHET_SCHEDULER_SECONDS", "0")
        sys.path[:0] = [str(REPO), str(REPO / "bench")]
        results = asyncio.run(measure(args.calls, args.rounds))
    engine = "postgres" if url.startswith("postgres") else "sqlite"
    print(f"CPU ms per use case (service layer, {engine}; median of {args.rounds} rounds of "
          f"{args.calls} calls; load {open('/proc/loadavg').read().split()[0]})")  # noqa: SIM115
    for name, values in results.items():
        print(f"  {name:10} {statistics.median(values):6.2f}  (rounds: "
              + ", ".join(f"{v:.2f}" for v in values) + ")")  # fmt: skip


if __name__ == "__main__":
    main()
