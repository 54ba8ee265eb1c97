"""The served application freezes what it built at start-up, so the collector's full passes
leave it out (they took 60-80 ms every 5 s under load before)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio, gc
from server.asgi import app

async def main():
    async with app.lifespan():
        print(gc.get_freeze_count())

asyncio.run(main())
"""


def test_the_served_app_freezes_its_start_up_objects(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GUICHET_DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite3'}",
        "GUICHET_VAR_DIR": str(tmp_path / "var"),
        "GUICHET_SCHEDULER_SECONDS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen = int(done.stdout.strip().splitlines()[-1])
    assert frozen > 50_000, done.stderr[-2000:]  # modules, tables, templates: far more


def test_an_app_built_in_process_freezes_nothing() -> None:
    """Tests build many apps in one process: frozen ones could never be collected."""
    import gc

    from server.app import create_app

    before = gc.get_freeze_count()
    create_app()
    assert gc.get_freeze_count() == before
