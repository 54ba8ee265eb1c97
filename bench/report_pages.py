"""The two report pages of ``bench/pages.py`` alone ("supervisor overview", "SLA report,
month"), measured by its own ``measure`` on databases it prepared (``--db-per-size``), so
a before/after comparison takes minutes instead of the whole page list:

    nice -n 10 .venv/bin/python bench/report_pages.py \
        --url sqlite:///var/bench/pages-10000.sqlite3 --size 10000 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages  # the page bench, next to this file

LABELS = ("overview", "SLA report, month")


async def _only_reports(size: int) -> list[tuple[str, str, str]]:
    return [row for row in await ALL_PAGES(size) if row[1] in LABELS]


ALL_PAGES = pages.pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a database bench/pages.py prepared")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ.update(
        {
            "GUICHET_DATABASE_URL": args.url,
            "GUICHET_DB_POOL": "true",
            "GUICHET_SECRET_KEY": "bench",
            "GUICHET_ARGON2_TIME_COST": "1",
            "GUICHET_ARGON2_MEMORY_KIB": "8192",
            "GUICHET_SCHEDULER_SECONDS": "0",  # no pass in the middle (nor at start)
            "GUICHET_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
        }
    )
    pages.pages = _only_reports
    engine = "postgres" if args.url.startswith("postgres") else "sqlite"

    async def run() -> dict:
        from server.db.engine import start, stop

        await start(pool=False)
        try:
            return await pages.measure(args.size, args.requests, engine)
        finally:
            await stop(pool=False)

    print(json.dumps({"engine": engine, "size": args.size, **asyncio.run(run())}))


if __name__ == "__main__":
    main()
