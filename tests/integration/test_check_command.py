"""``guichet check`` as a deploy script runs it: a good configuration, then broken ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATABASE_URL
from tests.ldap_server import free_port


def check(**env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **{f"GUICHET_{k}": v for k, v in env.items()}}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "check"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def problems(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    found = {}
    for line in result.stdout.splitlines():
        if line.startswith("PROBLEM "):
            part, _, message = line.removeprefix("PROBLEM ").partition(": ")
            found.setdefault(part, message)
    return found


def test_a_ready_instance_passes(tmp_path: Path) -> None:
    result = check(DATABASE_URL=DATABASE_URL, STORAGE_DIR=str(tmp_path / "files"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert problems(result) == {}
    assert "ok      migrations" in result.stdout
    assert result.stdout.strip().endswith("Ready.")


def test_each_broken_part_gets_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    closed = free_port()
    result = check(
        DATABASE_URL=DATABASE_URL,
        STORAGE_DIR=str(blocker / "attachments"),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(closed),
        CHANNELS="pigeons",
        DIRECTORY_GROUPS='{"desk": {"role": "wizard"}}',
    )
    assert result.returncode == 1
    found = problems(result)
    assert set(found) == {"configuration", "mail relay", "channels backend", "storage"}
    assert f"127.0.0.1:{closed}" in found["mail relay"]
    assert "pigeons" in found["channels backend"]
    assert "not writable" in found["storage"]
    assert "ok      database" in result.stdout


def test_pending_migrations_and_unreachable_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    result = check(DATABASE_URL=f"sqlite:///{empty}", STORAGE_DIR=str(tmp_path / "files"))
    assert result.returncode == 1
    assert "not applied (run guichet migrate)" in problems(result)["migrations"]
    result = check(
        DATABASE_URL=f"postgresql://guichet:x@127.0.0.1:{free_port()}/guichet",
        STORAGE_DIR=str(tmp_path / "files"),
    )
    assert result.returncode == 1
    assert "cannot reach the database" in problems(result)["database"]


def test_unreadable_settings_are_one_line(tmp_path: Path) -> None:
    result = check(DIRECTORY_GROUPS="{not json")
    assert result.returncode == 1
    assert list(problems(result)) == ["configuration"]
