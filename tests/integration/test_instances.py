"""Two Guichet processes on one PostgreSQL: a move made through one reaches a websocket on the
other, and keeps doing so after the database restarts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from tests.pg_cluster import PgCluster, create_database, throwaway_cluster

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    def __init__(self, url: str, tmp: Path, name: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "GUICHET_DATABASE_URL": url,
            "GUICHET_CHANNELS": "postgres",
            "GUICHET_DB_POOL": "true",
            "GUICHET_VAR_DIR": str(tmp / name),
        }
        self.log = (tmp / f"{name}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"instance on {self.port} did not start")

    def stop(self) -> None:
        """Never leaves a process behind, even when the stop itself fails (the clean stop is
        measured by test_clean_stop.py)."""
        try:
            self.process.terminate()
            self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
            self.log.close()


@pytest.fixture
def two_instances(tmp_path: Path) -> Iterator[tuple[PgCluster, str, Instance, Instance]]:
    with throwaway_cluster() as cluster:
        url = create_database(cluster, "guichet")
        env = {**os.environ, "GUICHET_DATABASE_URL": url, "GUICHET_VAR_DIR": str(tmp_path)}
        for command in ("migrate", "demo"):
            subprocess.run([sys.executable, "-m", "server.cli", command], env=env, check=True,
                           capture_output=True, timeout=120)  # fmt: skip
        first = Instance(url, tmp_path, "a")
        try:
            second = Instance(url, tmp_path, "b")
            try:
                first.wait_ready()
                second.wait_ready()
                yield cluster, url, first, second
            finally:
                second.stop()
        finally:
            first.stop()


async def signed_in(base: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=10)
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": email, "password": "guichet-demo", "next": "/board"},
        headers={"x-csrftoken": client.cookies["guichet_csrf"]},
    )
    assert response.status_code == 303
    return client


async def a_new_ticket(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        # One the local desk (tech.n1) serves: CHA or CLB.
        row = await conn.fetchrow(
            "SELECT t.id, t.version FROM ticket t JOIN establishment e ON e.id = t.establishment"
            " WHERE t.status = 'new' AND e.code IN ('CHA', 'CLB') ORDER BY t.id LIMIT 1"
        )
    finally:
        await conn.close()
    return row["id"], row["version"]


async def move(client: httpx.AsyncClient, ticket_id: int, status: str, version: int) -> int:
    response = await client.post(
        f"/tickets/{ticket_id}/move",
        data={"status": status, "version": str(version)},
        headers={"x-csrftoken": client.cookies["guichet_csrf"], "hx-request": "true"},
    )
    return response.status_code


async def until(ws: websockets.ClientConnection, text: str, within: float = 10) -> str:
    async with asyncio.timeout(within):
        while True:
            message = await ws.recv()
            if text in message:
                return message


async def test_move_on_one_instance_reaches_a_socket_on_the_other(two_instances) -> None:
    cluster, url, first, second = two_instances
    tech = await signed_in(first.base, "tech.n1@guichet.example")
    watcher = await signed_in(second.base, "superviseur@guichet.example")
    cookie = f"guichet_session={watcher.cookies['guichet_session']}"
    headers = {"Origin": second.base, "Cookie": cookie}
    async with websockets.connect(
        f"ws://127.0.0.1:{second.port}/ws?view=board", additional_headers=headers
    ) as ws:
        await until(ws, 'id="board-columns"')
        ticket_id, version = await a_new_ticket(url)
        assert await move(tech, ticket_id, "pending", version) == 200
        pushed = await until(ws, f'id="card-{ticket_id}"', within=5)
        assert "#cards-pending" in pushed

        cluster.restart()
        # The listener reconnects by itself and asks every viewer to take a fresh snapshot;
        # the connection pool replaces its dead connections: no request fails.
        await until(ws, 'id="board-columns"', within=20)
        ticket_id, version = await a_new_ticket(url)
        assert await move(tech, ticket_id, "pending", version) == 200
        pushed = await until(ws, f'id="card-{ticket_id}"', within=10)
        assert "#cards-pending" in pushed
    await tech.aclose()
    await watcher.aclose()


async def test_logout_on_one_instance_closes_that_sessions_socket_on_the_other(
    two_instances,
) -> None:
    _cluster, _url, first, second = two_instances
    watcher = await signed_in(first.base, "superviseur@guichet.example")
    cookie = f"guichet_session={watcher.cookies['guichet_session']}"
    headers = {"Origin": second.base, "Cookie": cookie}
    async with websockets.connect(
        f"ws://127.0.0.1:{second.port}/ws?view=board", additional_headers=headers
    ) as ws:
        await until(ws, 'id="board-columns"')
        response = await watcher.post(
            "/logout", headers={"x-csrftoken": watcher.cookies["guichet_csrf"]}
        )
        assert response.status_code == 303
        # Through the bus, not the periodic session check (every 30 s).
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(10):
                async for _ in ws:
                    pass
        assert ws.close_code == 4401
    await watcher.aclose()
