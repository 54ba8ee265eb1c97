"""Several Guichet processes on one database, as a deployment runs them: each a real uvicorn
server on a loopback port, sharing the suite's engine (a fresh SQLite file, or a fresh
database on the suite's PostgreSQL server) and one channels backend."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.conftest import DATABASE_URL, IS_POSTGRES
from tests.pg_cluster import create_database, throwaway_cluster
from tests.redis_server import free_port

DEMO_PASSWORD = "guichet-demo"


@contextmanager
def demo_database(tmp: Path, postgres: bool = IS_POSTGRES) -> Iterator[str]:
    """A migrated database with the demo data: on the engine the suite runs on, or on
    PostgreSQL when asked (the LISTEN/NOTIFY bus needs it), in a throwaway cluster if the
    suite runs on SQLite."""
    with ExitStack() as stack:
        if postgres and IS_POSTGRES:
            name = f"guichet_live_{uuid.uuid4().hex[:10]}"
            asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
            stack.callback(
                lambda: asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            )
            url = urlunsplit(urlsplit(DATABASE_URL)._replace(path=f"/{name}"))
        elif postgres:
            url = create_database(stack.enter_context(throwaway_cluster()), "guichet")
        else:
            url = f"sqlite:///{tmp / 'live.sqlite3'}"
        env = {**os.environ, "GUICHET_DATABASE_URL": url, "GUICHET_VAR_DIR": str(tmp)}
        for command in ("migrate", "demo"):
            subprocess.run([sys.executable, "-m", "server.cli", command], env=env, check=True,
                           capture_output=True, timeout=180)  # fmt: skip
        yield url


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(DATABASE_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Instance:
    """One Guichet process. ``env`` adds GUICHET_* settings (without the prefix). ``serve``:
    started by ``guichet serve`` (its uvicorn options), else by uvicorn itself."""

    def __init__(
        self, database_url: str, tmp: Path, name: str, *, serve: bool = False, **env: str
    ) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {
            **os.environ,
            "GUICHET_DATABASE_URL": database_url,
            "GUICHET_DB_POOL": "true",
            "GUICHET_VAR_DIR": str(tmp / name),
            # Attachments are shared by every instance, like the database.
            "GUICHET_STORAGE_DIR": str(tmp / "attachments"),
            **{f"GUICHET_{key}": value for key, value in env.items()},
        }
        self.env = full
        self.log_path = tmp / f"{name}.log"
        self.log = self.log_path.open("w")
        command = ["server.cli", "serve"] if serve else ["uvicorn", "server.asgi:app"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", *command, "--host", "127.0.0.1", "--port", str(self.port)],
            env=full, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"instance {self.name} did not start: {self.log_path.read_text()}")

    def board_sockets(self) -> float:
        """Board websockets this process serves, read from its own /metrics (loopback)."""
        text = httpx.get(f"{self.base}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith("guichet_websocket_connections{") and 'view="board"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> None:
        """Never leaves a process behind, even when the stop itself fails."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
            self.log.close()


@contextmanager
def instances(
    database_url: str, tmp: Path, names: list[str], **env: str
) -> Iterator[list[Instance]]:
    started: list[Instance] = []
    try:
        for name in names:
            started.append(Instance(database_url, tmp, name, **env))
        for instance in started:
            instance.wait_ready()
        yield started
    finally:
        for instance in reversed(started):
            instance.stop()


async def signed_in(base: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=10)
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": email, "password": DEMO_PASSWORD, "next": "/board"},
        headers={"x-csrftoken": client.cookies["guichet_csrf"]},
    )
    assert response.status_code == 303
    return client


async def a_new_ticket(client: httpx.AsyncClient) -> tuple[int, int]:
    """A ``new`` ticket the signed-in technician may move, and its version, read from the
    board the way a browser would (works on both engines)."""
    import re

    page = (await client.get("/board")).text
    column = page.split('id="cards-new"', 1)[1].split('id="cards-', 1)[0]
    match = re.search(r'id="card-(\d+)"', column)
    assert match, "no new ticket left on the board"
    ticket_id = int(match.group(1))
    card = column.split(f'id="card-{ticket_id}"', 1)[1]
    version = re.search(r'data-version="(\d+)"', card)
    assert version, card[:500]
    return ticket_id, int(version.group(1))


async def move(client: httpx.AsyncClient, ticket_id: int, status: str, version: int) -> int:
    response = await client.post(
        f"/tickets/{ticket_id}/move",
        data={"status": status, "version": str(version)},
        headers={"x-csrftoken": client.cookies["guichet_csrf"], "hx-request": "true"},
    )
    return response.status_code
