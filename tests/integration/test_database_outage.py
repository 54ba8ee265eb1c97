"""The database goes away under a running Guichet: pages and the API answer 503 with a
translated "try again" and Retry-After (as /healthz does), log no traceback per request,
and everything works again once the database is back.

A real server process on its own database: a throwaway PostgreSQL cluster that is stopped
mid-test under ``make test-pg``, a SQLite file whose folder is moved away under SQLite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import IS_POSTGRES
from tests.integration.test_instances import free_port
from tests.pg_cluster import create_database, throwaway_cluster

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

PASSWORD = "outage drill password"
TRY_AGAIN_FR = "Le service est momentanément indisponible"


@dataclass
class Outage:
    base: str
    token: str
    log: Path
    cut: Callable[[], None]
    restore: Callable[[], None]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.stdout.strip()


def _wait_for(predicate: Callable[[], bool], what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not within {within}s: {what}")


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Outage]:
    with _database(tmp_path) as (url, cut, restore):
        env = {
            **os.environ,
            "GUICHET_DATABASE_URL": url,
            # PostgreSQL: the pool, as in production. SQLite: a connection per unit of work,
            # since persistent connections keep a moved file open (the outage that matters
            # for SQLite is the file becoming unreachable to new connections).
            "GUICHET_DB_POOL": "true" if url.startswith("postgres") else "false",
            "GUICHET_VAR_DIR": str(tmp_path / "var"),
        }
        env.pop("GUICHET_CHANNELS", None)
        _cli(env, "migrate")
        _cli(env, "user", "add", "admin@outage.test", "--name", "Ada Admin", "--role", "admin",
             "--password", PASSWORD)  # fmt: skip
        token = _cli(env, "token", "admin@outage.test").splitlines()[-1]
        port = free_port()
        log = tmp_path / "server.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200,
                      "the server answers")  # fmt: skip
            yield Outage(base, token, log, cut, restore)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


class _database:
    """A database of the engine under test, with a way to make it unreachable and back."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    def __enter__(self) -> tuple[str, Callable[[], None], Callable[[], None]]:
        if IS_POSTGRES:
            self._cluster_cm = throwaway_cluster()
            cluster = self._cluster_cm.__enter__()
            return create_database(cluster, "outage"), cluster.stop, cluster.start
        folder, away = self.tmp / "db", self.tmp / "db-away"
        folder.mkdir()

        def cut() -> None:
            folder.rename(away)

        def restore() -> None:
            away.rename(folder)

        return f"sqlite:///{folder / 'guichet.sqlite3'}", cut, restore

    def __exit__(self, *exc: object) -> None:
        if IS_POSTGRES:
            self._cluster_cm.__exit__(*exc)
        else:
            shutil.rmtree(self.tmp / "db", ignore_errors=True)
            shutil.rmtree(self.tmp / "db-away", ignore_errors=True)


def _signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, headers={"accept-language": "fr"})
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": "admin@outage.test", "password": PASSWORD, "next": "/tickets"},
        headers={"x-csrftoken": client.cookies["guichet_csrf"]},
    )
    assert response.status_code == 303, response.text
    return client


def test_pages_and_api_answer_503_while_the_database_is_away(outage: Outage) -> None:
    browser = _signed_in(outage.base)
    api = httpx.Client(
        base_url=outage.base,
        timeout=30,
        headers={"authorization": f"Bearer {outage.token}", "accept-language": "fr"},
    )
    assert browser.get("/tickets").status_code == 200
    assert api.get("/api/v1/tickets").status_code == 200

    outage.cut()
    try:
        _wait_for(lambda: httpx.get(f"{outage.base}/healthz").status_code == 503,
                  "/healthz sees the outage")  # fmt: skip
        answers = {
            "page": browser.get("/tickets"),
            "ticket page": browser.get("/tickets/1"),
            "htmx fragment": browser.get("/tickets", headers={"hx-request": "true"}),
            "form post": browser.post(
                "/tickets",
                data={"title": "Imprimante", "description": "Plus rien ne sort."},
                headers={"x-csrftoken": browser.cookies["guichet_csrf"]},
            ),
            "api list": api.get("/api/v1/tickets"),
            "api ticket": api.get("/api/v1/tickets/1"),
            "api create": api.post(
                "/api/v1/tickets", json={"title": "Imprimante", "description": "Hors ligne"}
            ),
        }
        for what, response in answers.items():
            assert response.status_code == 503, (what, response.status_code, response.text)
            assert response.headers.get("retry-after", "").isdigit(), what
            assert TRY_AGAIN_FR in response.text, (what, response.text[:500])
            assert "Traceback" not in response.text
        assert answers["api list"].json()["error"].startswith(TRY_AGAIN_FR)
    finally:
        outage.restore()

    _wait_for(lambda: browser.get("/tickets").status_code == 200, "pages work again")
    assert api.get("/api/v1/tickets").status_code == 200
    log = outage.log.read_text(errors="replace")
    # No traceback per request: nothing reached the "unexpected error" path nor escaped the
    # application. (asyncpg's own pool may log one traceback when it loses its connections.)
    assert "unexpected error on" not in log, log[-4000:]
    assert "Exception in ASGI application" not in log, log[-4000:]
    assert log.count("Traceback") <= 1, log[-4000:]
    assert log.count("database unreachable") <= 1, log[-4000:]
