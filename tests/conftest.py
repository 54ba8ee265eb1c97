"""Test set-up shared by every layer.

The environment is set before ``server`` is imported (settings and the Piccolo engine are
read once). Without GUICHET_DATABASE_URL the suite runs on a temporary SQLite file; with a
PostgreSQL URL (``make test-pg``) the very same tests run there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="guichet-tests-"))
os.environ.setdefault("GUICHET_DATABASE_URL", f"sqlite:///{_TMP / 'test.sqlite3'}")
os.environ["GUICHET_VAR_DIR"] = str(_TMP / "var")
os.environ["GUICHET_SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ["GUICHET_ARGON2_TIME_COST"] = "1"
os.environ["GUICHET_ARGON2_MEMORY_KIB"] = "8192"
# The test client runs the app on another event loop: a pool made there cannot serve the
# test's own queries, so tests use one connection per query.
os.environ["GUICHET_DB_POOL"] = "false"
os.environ.setdefault("GUICHET_LOGIN_ATTEMPTS_PER_MINUTE", "5")
# Automatic rules run only when a test runs a pass itself (explicit ``now``).
os.environ.setdefault("GUICHET_SCHEDULER_SECONDS", "0")
# Each change mailed on its own unless a test is about the digest.
os.environ.setdefault("GUICHET_MAIL_DIGEST_SECONDS", "0")

import pytest  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from server.app import create_app  # noqa: E402
from server.cli import migrate  # noqa: E402
from server.db.engine import engine  # noqa: E402
from server.db.tables import ALL_TABLES  # noqa: E402

DATABASE_URL = os.environ["GUICHET_DATABASE_URL"]
IS_POSTGRES = DATABASE_URL.startswith("postgres")


SQLITE_FILE = Path(DATABASE_URL.removeprefix("sqlite:///"))
SQLITE_PRISTINE = _TMP / "pristine.sqlite3"


@pytest.fixture(scope="session", autouse=True)
def _schema() -> None:
    """Apply the real migrations once, as production does."""
    import asyncio

    asyncio.run(migrate())
    if not IS_POSTGRES:
        shutil.copyfile(SQLITE_FILE, SQLITE_PRISTINE)


async def _empty_tables() -> None:
    if IS_POSTGRES:
        # TRUNCATE does not fire the row triggers that keep history append-only.
        names = [table._meta.tablename for table in reversed(ALL_TABLES)]
        await engine().run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
        return
    # SQLite has no TRUNCATE: start each test from a copy of the freshly migrated file.
    for suffix in ("-wal", "-shm"):
        Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240 - test set-up
    shutil.copyfile(SQLITE_PRISTINE, SQLITE_FILE)


@pytest.fixture
async def clean_db() -> AsyncIterator[None]:
    await _empty_tables()
    yield


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
def tmp_dir() -> Path:
    return _TMP
