"""Test set-up shared by every layer.

The environment is set before ``server`` is imported (settings and the Piccolo engine are
read once). Without GUICHET_DATABASE_URL the suite runs on a temporary SQLite file; with a
PostgreSQL URL (``make test-pg``) the very same tests run there.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from tests.worker_database import worker_database

_TMP = Path(tempfile.mkdtemp(prefix="guichet-tests-"))
# Each pytest process (and each xdist worker) removes its own folder when it exits.
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
os.environ.setdefault("GUICHET_DATABASE_URL", f"sqlite:///{_TMP / 'test.sqlite3'}")
# Under pytest-xdist each worker has a database of its own: a SQLite file in its own _TMP,
# or its own database on the suite's PostgreSQL server (LISTEN/NOTIFY stays per database).
os.environ["GUICHET_DATABASE_URL"] = worker_database(
    os.environ["GUICHET_DATABASE_URL"], os.environ.get("PYTEST_XDIST_WORKER", "")
)
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
from server.settings import get_settings  # noqa: E402

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


def _truncate_used_tables_sql() -> str:
    """One round trip that truncates the tables a test used: those with rows, or whose id
    sequence has moved (a rolled-back insert). TRUNCATE does not fire the row triggers that
    keep history append-only, and keeps rows in insertion order (DELETE did not); truncating
    the few used tables instead of all of them is what keeps the PostgreSQL run short, as a
    TRUNCATE costs new files for every table and index it names."""
    names = [table._meta.tablename for table in ALL_TABLES]
    with_rows = " UNION ALL ".join(
        f"SELECT {_literal(name)} WHERE EXISTS (SELECT 1 FROM {_quoted(name)})" for name in names
    )
    # Only the product's tables: Piccolo's own migration table keeps its rows.
    moved_sequences = f"""
        SELECT t.relname::text FROM pg_sequences q
        JOIN pg_class s ON s.relname = q.sequencename AND s.relkind = 'S'
        JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
            AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE q.schemaname = current_schema() AND q.last_value IS NOT NULL
            AND t.relname IN ({", ".join(map(_literal, names))})"""
    return f"""DO $$
DECLARE used text;
BEGIN
    SELECT string_agg(quote_ident(name), ', ') INTO used
    FROM ({with_rows} UNION {moved_sequences}) AS dirty(name);
    IF used IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || used || ' RESTART IDENTITY CASCADE';
    END IF;
END $$"""


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_TRUNCATE_USED_TABLES = _truncate_used_tables_sql()


async def _empty_tables() -> None:
    if IS_POSTGRES:
        await engine().run_ddl(_TRUNCATE_USED_TABLES)
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
    # The app's own mail dispatcher makes one pass at start-up, then sleeps for an hour: a
    # pass in the middle of a test would send mails the test is still counting (flaky on a
    # machine where the test runs slower). Tests that need mail sent run a pass themselves.
    settings = get_settings()
    quiet_mail = replace(settings, mail=replace(settings.mail, poll_seconds=3600))
    async with AsyncTestClient(app=create_app(quiet_mail), base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
def tmp_dir() -> Path:
    return _TMP
