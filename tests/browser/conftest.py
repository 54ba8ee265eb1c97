"""Browser tests: a real server process and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Generator, Iterator

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

# A live push or an answer waits behind whatever else the machine runs (CI runs the other
# xdist worker's tests beside these): assertions wait for the page to get there, and only a
# failing test pays the whole wait.
expect.set_options(timeout=20_000)
FAILED = pytest.StashKey[bool]()
SERVER_LOG_TAIL = 60  # lines of the server's log shown under a failed test

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
async def _fresh_database(clean_db: None) -> None:
    """Every test here starts from empty tables."""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def live_server(tmp_path, request: pytest.FixtureRequest) -> Iterator[str]:
    # The server gets a socket this process bound and keeps: a port found free and bound
    # later by the server could be taken meanwhile by the other xdist worker's server,
    # and this test would then talk to that server and its database (seen once: a ticket
    # page showed the other worker's ticket of the same number).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "GUICHET_PORT": str(port),
        "GUICHET_DB_POOL": "true",
        "GUICHET_VAR_DIR": str(tmp_path),
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "server.asgi:app",
            "--fd",
            str(listener.fileno()),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(listener.fileno(),),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError((tmp_path / "server.log").read_text())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        listener.close()
        log.close()
        if request.node.stash.get(FAILED, False):
            # What the server said is what CI keeps of a failure: shown with the test.
            lines = (tmp_path / "server.log").read_text(errors="replace").splitlines()
            print("server log (tail):", *lines[-SERVER_LOG_TAIL:], sep="\n", file=sys.stderr)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = os.environ.get("GUICHET_CHROMIUM") or shutil.which("chromium")
    assert executable, "Chromium is needed: apt-get install chromium (make test does it)"
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()
