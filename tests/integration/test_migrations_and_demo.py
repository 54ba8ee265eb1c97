"""From an empty database: the real migrations, then the demo data, through the CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from server.db.tables import ALL_TABLES
from server.demo import DEMO_ACCOUNTS
from server.demo_russian import TICKETS as RUSSIAN_TICKETS
from tests.conftest import DATABASE_URL, IS_POSTGRES

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database on the engine under test."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"guichet_empty_{uuid.uuid4().hex[:8]}"
    admin = _with_database(DATABASE_URL, "postgres")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    import asyncio

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(DATABASE_URL, name)
    finally:
        asyncio.run(run(f'DROP DATABASE "{name}"'))


def guichet(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GUICHET_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()

    async def fetch() -> list[tuple]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    import asyncio

    return asyncio.run(fetch())


def test_migrations_create_every_table_from_empty(empty_database: str) -> None:
    result = guichet(empty_database, "migrate")
    assert result.returncode == 0, result.stderr
    for table in ALL_TABLES:
        assert query(empty_database, f"SELECT COUNT(*) FROM {table._meta.tablename}") == [(0,)]
    again = guichet(empty_database, "migrate")
    assert again.returncode == 0, again.stderr


def test_demo_loads_once_with_every_status(empty_database: str) -> None:
    assert guichet(empty_database, "migrate").returncode == 0
    first = guichet(empty_database, "demo")
    assert first.returncode == 0, first.stderr
    counts = query(empty_database, "SELECT status, COUNT(*) FROM ticket GROUP BY status")
    by_status = dict(counts)
    assert set(by_status) == {"new", "assigned", "planned", "pending", "resolved", "closed"}
    assert sum(by_status.values()) == 300 + len(RUSSIAN_TICKETS)
    second = guichet(empty_database, "demo")
    assert "nothing changed" in second.stdout
    assert query(empty_database, "SELECT COUNT(*) FROM ticket") == [(300 + len(RUSSIAN_TICKETS),)]
    emails = {row[0] for row in query(empty_database, "SELECT email FROM account")}
    assert {email for email, _ in DEMO_ACCOUNTS} <= emails
    trigrams = {row[0] for row in query(empty_database, "SELECT code FROM establishment")}
    assert {"CHA", "CLB", "CHC"} <= trigrams
    # The Russian-speaking region: its services as categories, its people reading Russian.
    assert {"RSO", "GP3", "KDL"} <= trigrams
    services = {row[0] for row in query(empty_database, "SELECT name FROM category")}
    assert "ИЭМК — электронная медицинская карта" in services
    assert query(
        empty_database, "SELECT locale FROM account WHERE email = 'a.ivanova@gp3.example'"
    ) == [("ru",)]
    # Closed tickets carry a closing date; open ones do not.
    assert query(
        empty_database, "SELECT COUNT(*) FROM ticket WHERE status = 'closed' AND closed_at IS NULL"
    ) == [(0,)]


def test_demo_looks_like_a_working_desk(empty_database: str) -> None:
    assert guichet(empty_database, "migrate").returncode == 0
    assert guichet(empty_database, "demo").returncode == 0
    states = query(
        empty_database,
        "SELECT s.take_state, s.resolve_state FROM ticket_sla s JOIN ticket t ON t.id = s.ticket"
        " WHERE t.status NOT IN ('resolved', 'closed')",
    )
    breached = [row for row in states if "breached" in row]
    # Most open tickets within their service levels, a few breached (not "70 days late").
    assert len(states) > 100
    assert 1 <= len(breached) <= len(states) // 10


def test_user_add_and_token_commands(empty_database: str) -> None:
    assert guichet(empty_database, "migrate").returncode == 0
    added = guichet(
        empty_database,
        "user",
        "add",
        "new@x.test",
        "--name",
        "New Person",
        "--role",
        "technician",
        "--password",
        "a long password",
    )
    assert added.returncode == 0, added.stderr
    token = guichet(empty_database, "token", "new@x.test")
    assert token.returncode == 0
    assert token.stdout.strip().startswith("gt_")
    revoked = guichet(empty_database, "token", "new@x.test", "--revoke-all")
    assert revoked.stdout.startswith("1 token(s) revoked")
    assert query(empty_database, "SELECT COUNT(*) FROM api_token WHERE revoked_at IS NULL") == [
        (0,)
    ]
    missing = guichet(empty_database, "token", "nobody@x.test")
    assert missing.returncode == 2
    weak = guichet(
        empty_database, "user", "add", "weak@x.test", "--name", "W", "--password", "short"
    )
    assert weak.returncode == 2
    assert "password" in weak.stderr
