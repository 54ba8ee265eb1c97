"""Raw uploads never outlive their request: not after ``kill -9``, not after a restart.

A real server process receives a large log full of patient identifiers and is killed while it
processes it (the test waits until the process holds the upload's temporary file open). No file
left on disk may then contain the raw bytes; and whatever named temporary files a dead process
left behind are removed when the next one starts, however recent they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.services.attachments import Storage
from tests import factories
from tests.integration.test_instances import free_port

NIR = b"1 85 05 78 006 084 91"
# A log of about 9 MB that starts with a patient identifier and holds thousands more.
LOG = (
    NIR
    + b" admission\n"
    + b"".join(
        b"2026-11-20 10:%02d:%02d lecture dossier NIR %s ok\n" % (i // 60 % 60, i % 60, NIR)
        for i in range(160_000)
    )
)


class Server:
    def __init__(self, var_dir: Path, tmp_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "GUICHET_VAR_DIR": str(var_dir), "TMPDIR": str(tmp_dir)}
        self.log = (var_dir.parent / f"server-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server exited"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def open_files_under(self, folder: Path) -> list[str]:
        """Files under ``folder`` the server holds open (anonymous ones show as deleted)."""
        found = []
        fds = Path(f"/proc/{self.process.pid}/fd")
        for fd in list(fds.iterdir()) if fds.exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(folder)):
                found.append(target)
        return found

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if not self.log.closed:
            self.log.close()


@pytest.fixture
def places(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    var_dir, tmp_dir = tmp_path / "var", tmp_path / "tmp"
    var_dir.mkdir()
    tmp_dir.mkdir()
    yield var_dir, tmp_dir


def signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": "alice@chu-a.test", "password": factories.PASSWORD, "next": "/tickets"},
        headers={"x-csrftoken": client.cookies["guichet_csrf"]},
    )
    assert response.status_code == 303, response.text
    return client


def files_holding(folder: Path, secret: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and secret in path.read_bytes()]


def upload_in_background(client: httpx.Client, ticket_id: int) -> threading.Thread:
    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
            client.post(
                f"/tickets/{ticket_id}/attachments",
                files={"file": ("app.log", LOG, "text/plain")},
                data={"phi": "redact", "boxes": "[]"},
                headers={"x-csrftoken": client.cookies["guichet_csrf"]},
            )

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


async def test_kill_during_processing_leaves_no_raw_upload(places: tuple[Path, Path]) -> None:
    var_dir, tmp_dir = places
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    storage_tmp = var_dir / "attachments" / "tmp"
    server = Server(var_dir, tmp_dir)
    try:
        server.wait_ready()
        client = signed_in(server.base)
        held: list[str] = []
        # Kill it while it holds the upload's temporary file open, i.e. mid-processing. On a
        # machine fast enough to finish between two looks, upload again.
        for _attempt in range(5):
            thread = upload_in_background(client, ticket_id)
            while thread.is_alive() and not held:
                held = server.open_files_under(storage_tmp)
                await asyncio.sleep(0.002)
            if held:
                break
            thread.join()
        assert held, "never saw the server processing the upload"
        server.kill()
        thread.join(timeout=30)
        client.close()
    finally:
        server.stop()
    # Nothing on disk holds the raw log: not the storage, not the system temporary folder.
    assert files_holding(var_dir, NIR) == []
    assert files_holding(tmp_dir, NIR) == []

    # What a dead process may have left with a name (a mail attachment, say), however
    # recent, is gone once the next process has started.
    left_dir = next(p for p in storage_tmp.iterdir() if p.is_dir())
    (left_dir / "mail-attachment").write_bytes(b"raw " + NIR)
    (storage_tmp / "loose-file").write_bytes(b"raw " + NIR)
    restarted = Server(var_dir, tmp_dir)
    try:
        restarted.wait_ready()
        assert not left_dir.exists()
        assert not (storage_tmp / "loose-file").exists()
        assert files_holding(var_dir, NIR) == []
    finally:
        restarted.stop()


LIVE_HOLDER = """
import sys
from pathlib import Path
from server.services.attachments import Storage
path = Storage(Path(sys.argv[1])).temporary()
path.write_bytes(b"in progress")
print(path, flush=True)
sys.stdin.read()
"""


def test_start_up_purge_keeps_what_living_processes_are_writing(tmp_path: Path) -> None:
    root = tmp_path / "attachments"
    holder = subprocess.Popen(
        [sys.executable, "-c", LIVE_HOLDER, str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        living = Path(holder.stdout.readline().strip())
        gone = subprocess.run(
            [sys.executable, "-c", LIVE_HOLDER, str(root)],
            input="", capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        dead = Path(gone.stdout.strip())
        store = Storage(root)
        mine = store.temporary()
        mine.write_bytes(b"mine, in progress")
        assert living.exists()
        assert dead.exists()

        assert store.purge_stale() == 1
        assert not dead.exists()
        assert not dead.parent.exists()
        assert living.exists()
        assert mine.exists()
    finally:
        holder.communicate(input="", timeout=30)
