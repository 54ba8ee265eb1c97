"""``guichet serve --workers N``: several server processes on one port (PostgreSQL and a shared
bus), live updates reaching the sockets of every worker, one /metrics for all of them, a clean
stop; refused where it cannot work. And the served process logs in the configured format."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from tests.live_instances import Instance, a_new_ticket, demo_database, move, signed_in
from tests.live_server import until

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

MAX_SOCKETS = 40


def workers_of(parent: int) -> list[int]:
    """The worker processes uvicorn spawned (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return sorted(found)


def established_connections(pid: int, port: int) -> int:
    """TCP connections to ``port`` that process ``pid`` holds open (its accepted sockets)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


def still_running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def board_sockets_metric(base: str) -> float:
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        if line.startswith("guichet_websocket_connections{") and 'view="board"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def sockets_on_both_workers_get_the_move(server: Instance, workers: list[int]) -> None:
    tech = await signed_in(server.base, "tech.n1@guichet.example")
    watcher = await signed_in(server.base, "superviseur@guichet.example")
    headers = {
        "Origin": server.base,
        "Cookie": f"guichet_session={watcher.cookies['guichet_session']}",
    }
    async with contextlib.AsyncExitStack() as stack:
        sockets = []
        # The kernel hands each new connection to one worker: open sockets until both hold
        # some (a handful is enough; bounded in count, never in time).
        while len(sockets) < MAX_SOCKETS:
            ws = await stack.enter_async_context(websockets.connect(
                f"ws://127.0.0.1:{server.port}/ws?view=board", additional_headers=headers
            ))  # fmt: skip
            await until(ws, 'id="board-columns"')
            sockets.append(ws)
            held = [established_connections(pid, server.port) for pid in workers]
            if len(sockets) >= 4 and all(held):
                break
        assert all(held), held

        # One scrape, whichever worker answers it, counts every worker's sockets.
        assert board_sockets_metric(server.base) == len(sockets)

        # A move handled by one worker reaches the sockets of both.
        ticket_id, version = await a_new_ticket(tech)
        assert await move(tech, ticket_id, "pending", version) == 200
        for ws in sockets:
            assert "#cards-pending" in await until(ws, f'id="card-{ticket_id}"')
    await tech.aclose()
    await watcher.aclose()


def test_two_workers_serve_one_port_and_share_live_updates_and_metrics(tmp_path: Path) -> None:
    # Synchronous: the database is made with its own event loop (asyncio.run).
    with demo_database(tmp_path, postgres=True) as url:
        server = Instance(url, tmp_path, "multi", serve=True, WORKERS="2", CHANNELS="postgres")
        try:
            server.wait_ready()
            workers = workers_of(server.process.pid)
            assert len(workers) == 2, (workers, server.log_path.read_text())
            asyncio.run(sockets_on_both_workers_get_the_move(server, workers))
        finally:
            server.stop()
        # Stopping the parent stops its workers: nothing left behind.
        assert server.process.returncode == 0, server.log_path.read_text()
        assert not still_running(workers)


@pytest.mark.parametrize(
    ("database", "channels", "refusal"),
    [
        ("sqlite:///{tmp}/one.sqlite3", "postgres", "needs PostgreSQL"),
        ("postgresql://guichet@127.0.0.1:9/nowhere", "memory", "GUICHET_CHANNELS=postgres or"),
    ],
)
def test_several_workers_are_refused_where_they_cannot_work(
    tmp_path: Path, database: str, channels: str, refusal: str
) -> None:
    env = {
        **os.environ,
        "GUICHET_DATABASE_URL": database.format(tmp=tmp_path),
        "GUICHET_CHANNELS": channels,
        "GUICHET_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert refusal in done.stderr
    assert "serving on" not in done.stdout


def test_the_served_process_logs_json_lines_with_request_ids(tmp_path: Path) -> None:
    with demo_database(tmp_path) as url:
        server = Instance(url, tmp_path, "json", serve=True, LOG_FORMAT="json")
        try:
            server.wait_ready()
            response = httpx.get(
                f"{server.base}/login", headers={"x-request-id": "proxy-id-7"}, timeout=10
            )
            assert response.status_code == 200
        finally:
            server.stop()
        lines = server.log_path.read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        access = [e for e in entries if e["logger"] == "guichet.http" and "/login" in e["message"]]
        assert access, lines[-20:]
        assert access[0]["request_id"] == "proxy-id-7"
        assert access[0]["level"] == "INFO"
        # One line per request, without uvicorn's copy in terminal colours.
        assert not [e for e in entries if e["logger"] == "uvicorn.access" or "color_message" in e]
