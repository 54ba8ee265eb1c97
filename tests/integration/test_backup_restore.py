"""``guichet backup`` then ``guichet restore`` into an empty instance, on the test's engine."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from server.db.tables import Attachment, FollowUp, Ticket
from server.services.attachments import storage
from tests import factories
from tests.conftest import DATABASE_URL, IS_POSTGRES
from tests.web.test_attachments_web import png_with_secret, upload


def guichet(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **{f"GUICHET_{k}": v for k, v in env.items()}}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database nobody has used: a new file, or a new PostgreSQL database."""
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"guichet_restore_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(DATABASE_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base, _, _ = DATABASE_URL.rpartition("/")
    yield f"{base}/{name}"
    admin = await asyncpg.connect(DATABASE_URL)
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


async def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            found = db.execute(query).fetchall()
        db.close()
        return found
    connection = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await connection.fetch(query)]
    finally:
        await connection.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_restore_into_an_empty_instance_finds_every_ticket_and_attachment(
    client: AsyncTestClient, tmp_path: Path, empty_database: str
) -> None:
    w = await factories.world()
    first = await factories.ticket(w.requester_a, title="Imprimante du 3e étage")
    second = await factories.ticket(w.requester_b, title="Scanner des urgences")
    await factories.login(client, "alice@chu-a.test")
    for name, data in [("capture.png", png_with_secret()), ("note.txt", b"Rien de secret.\n")]:
        assert (await upload(client, first, name, data)).status_code == 201
    tickets = await Ticket.select(Ticket.id, Ticket.title).order_by(Ticket.id)
    follow_ups = await FollowUp.count()
    stored = {
        r["storage_key"]: digest(storage().path(r["storage_key"]))
        for r in await Attachment.select(Attachment.storage_key)
    }
    assert len(stored) == 2 and {t["id"] for t in tickets} == {first, second}

    archive = tmp_path / "guichet-backup.tar.gz"
    made = guichet("backup", str(archive))
    assert made.returncode == 0, made.stderr
    assert "2 ticket(s), 2 attachment(s)" in made.stdout
    assert archive.stat().st_mode & 0o077 == 0

    target = {
        "DATABASE_URL": empty_database,
        "VAR_DIR": str(tmp_path / "restored-var"),
        "STORAGE_DIR": str(tmp_path / "restored-files"),
    }
    restored = guichet("restore", str(archive), **target)
    assert restored.returncode == 0, restored.stdout + restored.stderr

    again = await rows(empty_database, "SELECT id, title FROM ticket ORDER BY id")
    assert again == [(t["id"], t["title"]) for t in tickets]
    assert (await rows(empty_database, "SELECT COUNT(*) FROM follow_up"))[0][0] == follow_ups
    keys = [r[0] for r in await rows(empty_database, "SELECT storage_key FROM attachment")]
    assert sorted(keys) == sorted(stored)
    files = Path(target["STORAGE_DIR"]) / "files"
    for key, sha in stored.items():
        assert digest(files / key[:2] / key) == sha

    # The restored instance is ready, and new rows get fresh ids.
    checked = guichet("check", **target)
    assert checked.returncode == 0, checked.stdout
    added = guichet(
        "user", "add", "nouveau@chu-a.test", "--name", "Nouveau", "--password", "x" * 12, **target
    )
    assert added.returncode == 0, added.stderr
    # Restoring over data is refused.
    refused = guichet("restore", str(archive), **target)
    assert refused.returncode == 1
    assert "not empty" in refused.stderr


async def test_a_file_that_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not an archive")
    result = guichet(
        "restore",
        str(bogus),
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        STORAGE_DIR=str(tmp_path / "files"),
    )
    assert result.returncode == 1
    assert "not a Guichet backup" in result.stderr
