"""Write throughput: ticket creation (API and HTML form), board moves and follow-ups, Guichet
beside django-helpdesk on the same machine and the same kind of database.

For each database kind (SQLite, PostgreSQL) this script

1. starts Guichet like ``guichet serve`` (uvicorn, one worker, pool on) pinned to CPU 0 on a
   fresh migrated database with one establishment, a category routed to a group, a requester
   and a technician (sessions and API tokens) and tickets in progress to move and comment;
2. runs each workload at 4 and 16 concurrent clients (this process, pinned to CPU 1):
   ``create-api`` (``POST /api/v1/tickets``), ``create-form`` (``POST /tickets``, CSRF),
   ``move`` (``POST /tickets/<id>/move``, assigned <-> pending, the version the card
   showed), ``follow-up`` (``POST /api/v1/tickets/<id>/follow-ups``);
3. does the same with django-helpdesk 2.6.1 (gunicorn, one sync worker, CPU 0), installed
   in a scratch virtualenv outside the repository (``--peer-dir``; never a Guichet
   dependency), following ``performance.md``: public submit form, DRF ``/api/tickets/``, the
   kanban's ``kanban-update`` (its board move: a status write, lighter than Guichet's move,
   which also writes history, notifications and SLA), and DRF ``/api/followups/``;
4. prints, per workload and concurrency, throughput, p50/p95/p99 and the server's CPU time
   per request (its processes only, not the database server's) of both, the ratios of
   throughputs and of CPU per request, and the load average during each run. On a shared
   machine the CPU ratio is the steadier one: waiting for a core does not count in it.

    nice -n 10 .venv/bin/python bench/writes.py                      # both engines (~10 min)
    nice -n 10 .venv/bin/python bench/writes.py --engines sqlite --requests 200
    nice -n 10 .venv/bin/python bench/writes.py --skip-peer          # Guichet only

Loopback only; every loop is bounded in count and time; every process started is stopped by
its pid. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
PYTHON = sys.executable
WORKLOADS = ("create-api", "create-form", "move", "follow-up")
PEER_VERSION = "2.6.1"
PEER_PASSWORD = "benchpass123"  # noqa: S105 (throwaway local account)
CHILDREN: list[subprocess.Popen[Any]] = []
SEEDED: dict[str, dict[str, Any]] = {}  # engine -> what seed_guichet made (the floor reuses it)


def log(*parts: Any) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cmd: list[str], cpu: str) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if shutil.which("taskset") else cmd


def spawn(cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> subprocess.Popen[Any]:
    out = log_path.open("ab")
    proc = subprocess.Popen(  # noqa: S603 (our own interpreters)
        cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    out.close()
    CHILDREN.append(proc)
    return proc


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)
    if proc in CHILDREN:
        CHILDREN.remove(proc)


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(  # noqa: S603
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout


async def wait_http(url: str, proc: subprocess.Popen[Any], log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer:\n{tail(log_path)}")


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


# --------------------------------------------------------------------------------------------
# Load generation
# --------------------------------------------------------------------------------------------


@dataclass
class Result:
    system: str
    engine: str
    workload: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    load: float = 0.0
    cpu: float = 0.0  # CPU seconds used by the server's processes during the run
    writer: str = ""  # SQLite: the writer lock's figures for the run (server.db.writer_stats)
    settled: float = 0.0  # seconds the server took to go quiet after the run (see settle)

    @property
    def cpu_ms(self) -> float:
        """Server CPU per successful request: what the machine's load cannot distort much."""
        return self.cpu * 1000 / self.ok if self.ok else float("nan")

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000


One = Callable[[Any, int, int], Awaitable[bool]]
# The server is quiet when it used under QUIET_CPU seconds of CPU in QUIET_WINDOW seconds
# (its idle loops: the mail dispatcher's and scheduler's polls, the hub's pings).
QUIET_WINDOW, QUIET_CPU = 1.5, 0.03


def session_cpu(sid: int) -> float:
    """CPU seconds of every process in session ``sid`` (the server and its workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def drive(
    result: Result,
    clients: list[Any],
    one: One,
    requests: int,
    seconds: float,
    server: subprocess.Popen[Any] | None = None,
) -> Result:
    """``len(clients)`` workers share ``requests`` calls of ``one(client, worker, i)``."""
    counter = iter(range(requests))
    cpu0 = session_cpu(server.pid) if server else 0.0
    load_samples = [os.getloadavg()[0]]
    t0 = time.perf_counter()

    async def worker(w: int) -> None:
        for i in counter:
            if time.perf_counter() - t0 > seconds:
                return
            start = time.perf_counter()
            try:
                good = await one(clients[w], w, i)
            except Exception as exc:  # a failed request is counted, not fatal
                good = False
                name = str(exc.status) if isinstance(exc, Unexpected) else type(exc).__name__
                result.errors[name] = result.errors.get(name, 0) + 1
            result.latencies.append(time.perf_counter() - start)
            if good:
                result.ok += 1

    async def sample_load() -> None:
        while True:
            await asyncio.sleep(1)
            load_samples.append(os.getloadavg()[0])

    sampler = asyncio.create_task(sample_load())
    await asyncio.gather(*(worker(w) for w in range(len(clients))))
    result.elapsed = time.perf_counter() - t0
    if server:
        result.settled = await settle(server)
        result.cpu = session_cpu(server.pid) - cpu0
    sampler.cancel()
    result.load = max(load_samples)
    return result


async def warmed_run(
    result: Result,
    clients: list[Any],
    one: One,
    args: argparse.Namespace,
    server: subprocess.Popen[Any],
) -> Result:
    """A warm-up as Guichet's (two requests from every client at once, not measured), then
    the measured run; the clients are closed after it."""
    warm = Result("warm-up", result.engine, result.workload, result.clients)
    await drive(warm, clients, one, 2 * len(clients), 10, server)
    await drive(result, clients, one, args.requests, args.seconds, server)
    for client in clients:
        await client.aclose()
    log(summary(result))
    return result


async def settle(server: subprocess.Popen[Any], cap: float = 120.0) -> float:
    """Wait for the server to go quiet (under QUIET_CPU of CPU in a QUIET_WINDOW); return
    how long that took. What a run leaves to do in the background (the mails of the tickets
    it created, sent by the dispatcher a batch a second) is done before the next run, and
    counted in this run's CPU: without this a move run did the creations' mails."""
    start = time.perf_counter()
    before = session_cpu(server.pid)
    while time.perf_counter() - start < cap:
        await asyncio.sleep(QUIET_WINDOW)
        now = session_cpu(server.pid)
        if now - before < QUIET_CPU:
            break
        before = now
    return time.perf_counter() - start


class Unexpected(Exception):
    """A response with another status than the workload's success status."""

    def __init__(self, status: int) -> None:
        super().__init__(str(status))
        self.status = status


def bad(status: int) -> bool:
    raise Unexpected(status)


# --------------------------------------------------------------------------------------------
# Guichet
# --------------------------------------------------------------------------------------------


async def seed_guichet(tickets: int) -> dict[str, Any]:
    """Run in a child process whose environment names the database (``_seed``)."""
    from server.db.engine import db_session
    from server.db.tables import (
        Category,
        Establishment,
        Group,
        GroupEstablishment,
        GroupMember,
        Ticket,
    )
    from server.domain.forms import parse_new_ticket
    from server.domain.vocabulary import Role
    from server.services import accounts
    from server.services import tickets as service

    est = (
        await Establishment.insert(Establishment(name="CHU Anselme", code="CHA")).returning(
            Establishment.id
        )
    )[0]["id"]
    password = "correct horse battery"  # noqa: S105
    requester_id = await accounts.create_user(
        email="alice@chu-a.test", full_name="Alice Martin", password=password,
        role=Role.REQUESTER, establishment_id=est,
    )  # fmt: skip
    tech_id = await accounts.create_user(
        email="theo@desk.test", full_name="Théo Tech", password=password,
        role=Role.TECHNICIAN, establishment_id=est,
    )  # fmt: skip
    group = (await Group.insert(Group(name="Support N1", tier=1)).returning(Group.id))[0]["id"]
    await GroupMember.insert(GroupMember(group=group, user=tech_id))
    await GroupEstablishment.insert(GroupEstablishment(group=group, establishment=est))
    category = (
        await Category.insert(
            Category(name="Poste de travail", default_priority="medium", default_group=group)
        ).returning(Category.id)
    )[0]["id"]
    requester = await accounts.actor_of(requester_id)
    tech = await accounts.actor_of(tech_id)
    assert requester is not None and tech is not None
    ids = []
    async with db_session():
        for i in range(tickets):
            ticket_id, _ = await service.open_ticket(
                requester,
                parse_new_ticket(
                    {"title": f"Poste {i} lent", "description": "Depuis ce matin.",
                     "category_id": str(category)}
                ),
            )  # fmt: skip
            await service.take(tech, ticket_id, 1)
            ids.append(ticket_id)
    versions = {
        r["id"]: r["version"] for r in await Ticket.select(Ticket.id, Ticket.version)
    }
    return {
        "category": category,
        "tickets": [[i, versions[i]] for i in ids],
        "requester_session": await accounts.open_session(requester_id, "bench"),
        "tech_session": await accounts.open_session(tech_id, "bench"),
        "requester_token": await accounts.issue_api_token(requester_id, "bench"),
        "tech_token": await accounts.issue_api_token(tech_id, "bench"),
    }


async def guichet_phase(
    engine: str, url: str, tmp: Path, args: argparse.Namespace
) -> list[Result]:
    import httpx

    var = tmp / f"guichet-{engine}"
    env = {
        **os.environ,
        "GUICHET_DATABASE_URL": url,
        "GUICHET_VAR_DIR": str(var),
        "GUICHET_SECRET_KEY": "bench-secret-key-not-for-production",
        "GUICHET_DB_POOL": "true",
        # The requester creates hundreds of tickets a minute here: no login is involved.
        "GUICHET_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
    }
    if args.server_workers > 1:
        # As `guichet serve --workers N` runs them (server/observability/multiprocess.py).
        metrics = tmp / f"metrics-{engine}"
        metrics.mkdir()
        env |= {"GUICHET_CHANNELS": "postgres", "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    run([PYTHON, "-m", "server.cli", "migrate"], env, REPO)
    per_set = 16 * 4
    out = run([PYTHON, str(SCRIPT), "_seed", str(2 * per_set)], env, REPO)
    seeded = json.loads(out.strip().splitlines()[-1])
    SEEDED[engine] = seeded
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp / f"guichet-{engine}.log"
    command = [PYTHON, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1", "--port",
               str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    if args.server_workers > 1:
        command += ["--workers", str(args.server_workers)]
    server = spawn(pinned(command, args.server_cpu), env, log_path, REPO)
    spy = None
    results: list[Result] = []
    try:
        await wait_http(f"{base}/healthz", server, log_path)
        if args.py_spy:
            # Collapsed stacks of the server for the whole phase (needs py-spy and root).
            profile = Path(args.py_spy) / f"guichet-{engine}.txt"
            spy_cmd = ["py-spy", "record", "--nonblocking", "-r", "100", "-f", "raw",
                       "-o", str(profile), "--pid", str(server.pid)]  # fmt: skip
            spy = spawn(spy_cmd, dict(os.environ), tmp / "py-spy.log", REPO)
        move_set = seeded["tickets"][:per_set]
        follow_set = seeded["tickets"][per_set:]
        versions = {tid: version for tid, version in move_set}
        statuses = {tid: "assigned" for tid, _ in move_set}
        session_cookie = "guichet_session"

        async def make(n: int, cookie: str | None = None) -> list[httpx.AsyncClient]:
            made = []
            for _ in range(n):
                client = httpx.AsyncClient(
                    base_url=base, timeout=60, cookies={session_cookie: cookie} if cookie else None
                )
                if cookie:
                    await client.get("/tickets/new")  # the CSRF cookie
                made.append(client)
            return made

        for clients_n in args.clients:
            for workload in args.workloads:
                result = Result("guichet", engine, workload, clients_n)
                if workload == "create-api":
                    clients = await make(clients_n)
                    headers = {"authorization": f"Bearer {seeded['requester_token']}"}

                    async def one(c: Any, w: int, i: int, headers: dict = headers) -> bool:
                        r = await c.post("/api/v1/tickets", headers=headers, json={
                            "title": f"PACS lent salle {i % 30}",
                            "description": "La station de radiologie met 40 s à ouvrir.",
                            "category_id": seeded["category"]})  # fmt: skip
                        return r.status_code == 201 or bad(r.status_code)
                elif workload == "create-form":
                    clients = await make(clients_n, seeded["requester_session"])

                    async def one(c: Any, w: int, i: int) -> bool:
                        r = await c.post(
                            "/tickets",
                            data={"title": f"Imprimante du service {i % 40} bloquée",
                                  "description": "L'imprimante d'étiquettes est bloquée.",
                                  "type": "incident", "category_id": str(seeded["category"])},
                            headers={"x-csrftoken": c.cookies.get("guichet_csrf", "")},
                        )  # fmt: skip
                        return r.status_code == 303 or bad(r.status_code)
                elif workload == "move":
                    clients = await make(clients_n, seeded["tech_session"])
                    own = [
                        [tid for k, (tid, _v) in enumerate(move_set) if k % clients_n == w]
                        for w in range(clients_n)
                    ]

                    async def one(c: Any, w: int, i: int, own: list = own) -> bool:
                        tid = own[w][i % len(own[w])]
                        target = "pending" if statuses[tid] == "assigned" else "assigned"
                        r = await c.post(
                            f"/tickets/{tid}/move",
                            data={"status": target, "version": str(versions[tid])},
                            headers={"x-csrftoken": c.cookies.get("guichet_csrf", "")},
                        )
                        if r.status_code != 200:
                            return bad(r.status_code)
                        found = re.search(r'data-version="(\d+)"', r.text)
                        if found:
                            versions[tid] = int(found.group(1))
                        statuses[tid] = target
                        return True
                else:
                    clients = await make(clients_n)
                    headers = {"authorization": f"Bearer {seeded['tech_token']}"}

                    async def one(c: Any, w: int, i: int, headers: dict = headers) -> bool:
                        tid = follow_set[i % len(follow_set)][0]
                        r = await c.post(
                            f"/api/v1/tickets/{tid}/follow-ups", headers=headers,
                            json={"text": "Pris en charge, je passe dans le service."},
                        )  # fmt: skip
                        return r.status_code == 201 or bad(r.status_code)

                # Warm-up (first statements, template compilation), not measured: two
                # requests from every client at once, so that the database pool holds as
                # many connections as the run needs and each has prepared its statements
                # (on PostgreSQL a new pooled connection's first creation took 100-300 ms,
                # the p95 and p99 of a 300-request run at 16 clients), as a server that has
                # been up a while has.
                warm = Result("warm-up", engine, workload, clients_n)
                await drive(warm, clients, one, 2 * clients_n, 10, server)
                if engine == "sqlite":
                    await writer_report(server, log_path)  # starts the run's figures afresh
                results.append(
                    await drive(result, clients, one, args.requests, args.seconds, server)
                )
                if engine == "sqlite":
                    result.writer = await writer_report(server, log_path)
                for client in clients:
                    await client.aclose()
                log(summary(results[-1]))
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
            stop(spy)
        stop(server)
    return results


def _writer_lines(log_path: Path) -> list[str]:
    text = log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if "writer transactions=" in line]


async def writer_report(server: subprocess.Popen[Any], log_path: Path) -> str:
    """Ask the server for its SQLite writer-lock figures since the last ask (SIGUSR1, see
    server.db.writer_stats) and return the line it logs."""
    before = len(_writer_lines(log_path))
    server.send_signal(signal.SIGUSR1)
    for _ in range(100):
        await asyncio.sleep(0.05)
        lines = _writer_lines(log_path)
        if len(lines) > before:
            return lines[-1][lines[-1].index("writer transactions=") :]
    return ""


# --------------------------------------------------------------------------------------------
# django-helpdesk (the peer), in its own virtualenv outside the repository
# --------------------------------------------------------------------------------------------

PEER_SETTINGS = """
# --- django-helpdesk peer benchmark additions (bench/writes.py) ---
import os as _os
INSTALLED_APPS += ["django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk"]
SITE_ID = 1
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_KB_ENABLED = True
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_ROOT = BASE_DIR / "media"
HELPDESK_PUBLIC_ENABLED = True
HELPDESK_SUBMIT_A_TICKET_PUBLIC = True
if _os.environ.get("DJH_PG_URL"):
    from urllib.parse import urlparse as _u
    _p = _u(_os.environ["DJH_PG_URL"])
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": _p.path[1:],
                             "USER": _p.username, "HOST": _p.hostname, "PORT": _p.port}}
elif _os.environ.get("DJH_SQLITE"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                             "NAME": _os.environ["DJH_SQLITE"]}}
"""

PEER_URLS = """from django.contrib import admin
from django.urls import include, path
urlpatterns = [path("admin/", admin.site.urls),
               path("", include("helpdesk.urls", namespace="helpdesk"))]
"""

PEER_SEED = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_djh.settings")
import django; django.setup()
from django.contrib.auth import get_user_model
from helpdesk.models import Queue, Ticket
n = int(sys.argv[1])
User = get_user_model()
admin = User.objects.filter(username="admin").first() or User.objects.create_superuser(
    "admin", "admin@example.com", "PASSWORD")
q, _ = Queue.objects.get_or_create(slug="it", defaults=dict(
    title="IT", allow_public_submission=True, email_address="it@example.com"))
ids = [Ticket.objects.create(queue=q, title=f"Seed {i}", description="Seeded.",
                             submitter_email="user@hospital.example", status=1,
                             assigned_to=admin).id for i in range(n)]
print(json.dumps({"queue": q.id, "tickets": ids}))
""".replace("PASSWORD", PEER_PASSWORD)


def ensure_peer(peer_dir: Path) -> Path:
    """Create (once) the scratch virtualenv and Django project of the peer."""
    peer_dir.mkdir(parents=True, exist_ok=True)
    venv = peer_dir / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"installing django-helpdesk {PEER_VERSION} in {venv} (once)")
        run([sys.executable, "-m", "venv", str(venv)], dict(os.environ), peer_dir)
    stamp = venv / ".guichet-bench"
    if not stamp.exists():
        run([str(python), "-m", "pip", "install", "-q", f"django-helpdesk=={PEER_VERSION}",
             "httpx", "gunicorn", "psycopg[binary]"], dict(os.environ), peer_dir)  # fmt: skip
        stamp.touch()
    if not (peer_dir / "site_djh").exists():
        run([str(venv / "bin" / "django-admin"), "startproject", "site_djh", "."],
            dict(os.environ), peer_dir)  # fmt: skip
        with (peer_dir / "site_djh" / "settings.py").open("a") as settings:
            settings.write(PEER_SETTINGS)
        (peer_dir / "site_djh" / "urls.py").write_text(PEER_URLS)
    (peer_dir / "seed_bench.py").write_text(PEER_SEED)
    return python


async def peer_phase(
    engine: str, db: dict[str, str], tmp: Path, args: argparse.Namespace
) -> list[Result]:
    import httpx

    peer_dir = Path(args.peer_dir)
    python = ensure_peer(peer_dir)
    env = {**os.environ, **db, "DJANGO_SETTINGS_MODULE": "site_djh.settings"}
    run([str(python), "manage.py", "migrate", "-v", "0"], env, peer_dir)
    per_set = 16 * 4
    out = run([str(python), "seed_bench.py", str(2 * per_set)], env, peer_dir)
    seeded = json.loads(out.strip().splitlines()[-1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp / f"peer-{engine}.log"
    server = spawn(
        pinned([str(peer_dir / "venv" / "bin" / "gunicorn"), "site_djh.wsgi", "-w", "1",
                "-b", f"127.0.0.1:{port}"], args.server_cpu),
        env, log_path, peer_dir,
    )  # fmt: skip
    results: list[Result] = []

    def token(html: str) -> str:
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        return found.group(1) if found else ""

    async def logged_in(n: int) -> list[httpx.AsyncClient]:
        made = []
        for _ in range(n):
            client = httpx.AsyncClient(base_url=base, timeout=60)
            page = await client.get("/login/")
            r = await client.post("/login/", data={
                "username": "admin", "password": PEER_PASSWORD,
                "csrfmiddlewaretoken": token(page.text)},
                headers={"Referer": f"{base}/login/"})  # fmt: skip
            assert r.status_code in (302, 303), r.status_code
            made.append(client)
        return made

    try:
        await wait_http(f"{base}/login/", server, log_path)
        move_set = seeded["tickets"][:per_set]
        follow_set = seeded["tickets"][per_set:]
        statuses = {tid: 1 for tid in move_set}
        for clients_n in args.clients:
            for workload in args.workloads:
                result = Result("django-helpdesk", engine, workload, clients_n)
                if workload == "create-form":
                    clients = [httpx.AsyncClient(base_url=base, timeout=60)
                               for _ in range(clients_n)]  # fmt: skip
                    tokens = [token((await c.get("/tickets/submit/")).text) for c in clients]

                    async def one(c: Any, w: int, i: int, tokens: list = tokens) -> bool:
                        r = await c.post("/tickets/submit/", data={
                            "csrfmiddlewaretoken": tokens[w], "queue": str(seeded["queue"]),
                            "title": f"Printer on ward {i % 40} jammed",
                            "body": "The label printer at the nurses' station is jammed.",
                            "priority": "3", "due_date": "",
                            "submitter_email": f"nurse{i % 500}@hospital.example"},
                            headers={"Referer": f"{base}/tickets/submit/"})  # fmt: skip
                        return r.status_code == 302 or bad(r.status_code)
                else:
                    clients = await logged_in(clients_n)

                    def csrf(c: Any) -> dict[str, str]:
                        return {"X-CSRFToken": c.cookies.get("csrftoken", ""),
                                "Referer": f"{base}/"}  # fmt: skip

                    if workload == "create-api":

                        async def one(c: Any, w: int, i: int) -> bool:
                            r = await c.post("/api/tickets/", headers=csrf(c), json={
                                "queue": seeded["queue"], "title": f"PACS slow in room {i % 30}",
                                "description": "Radiology workstation takes 40 s to open.",
                                "submitter_email": f"tech{i % 200}@hospital.example",
                                "priority": 3})  # fmt: skip
                            return r.status_code == 201 or bad(r.status_code)
                    elif workload == "move":
                        own = [
                            [t for k, t in enumerate(move_set) if k % clients_n == w]
                            for w in range(clients_n)
                        ]

                        async def one(c: Any, w: int, i: int, own: list = own) -> bool:
                            tid = own[w][i % len(own[w])]
                            target = 2 if statuses[tid] == 1 else 1
                            r = await c.post(f"/tickets/{tid}/kanban-update/", headers=csrf(c),
                                             json={"status": target})  # fmt: skip
                            if r.status_code != 200:
                                return bad(r.status_code)
                            statuses[tid] = target
                            return True
                    else:

                        async def one(c: Any, w: int, i: int) -> bool:
                            tid = follow_set[i % len(follow_set)]
                            r = await c.post("/api/followups/", headers=csrf(c), json={
                                "ticket": tid, "comment": "On it, coming to the ward.",
                                "public": True})  # fmt: skip
                            return r.status_code == 201 or bad(r.status_code)

                results.append(await warmed_run(result, clients, one, args, server))
    finally:
        stop(server)
    return results


# --------------------------------------------------------------------------------------------
# The floor: the fixed stack doing only the peer's move (bench/write_floor.py)
# --------------------------------------------------------------------------------------------


async def floor_phase(
    engine: str, url: str, tmp: Path, args: argparse.Namespace
) -> list[Result]:
    """``http`` (an empty JSON round trip) and ``move`` (one status UPDATE) on Guichet's
    bench database, served and driven exactly as Guichet is."""
    import httpx

    env = {**os.environ, "GUICHET_DATABASE_URL": url, "GUICHET_DB_POOL": "true",
           "GUICHET_VAR_DIR": str(tmp / f"floor-{engine}")}  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp / f"floor-{engine}.log"
    command = [PYTHON, "-m", "uvicorn", "bench.write_floor:app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    server = spawn(pinned(command, args.server_cpu), env, log_path, REPO)
    tickets = [tid for tid, _version in SEEDED[engine]["tickets"][: 16 * 4]]
    results: list[Result] = []
    try:
        await wait_http(f"{base}/floor/http", server, log_path)
        for clients_n in args.clients:
            for workload in ("http", "move"):
                clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(clients_n)]

                async def one(c: Any, w: int, i: int, workload: str = workload) -> bool:
                    if workload == "http":
                        r = await c.post("/floor/http", json={"status": "pending"})
                    else:
                        # Requests in flight at once (at most 16) never share a ticket.
                        tid = tickets[i % len(tickets)]
                        status = "pending" if (i // len(tickets)) % 2 else "assigned"
                        r = await c.post(f"/floor/move/{tid}", json={"status": status})
                    return r.status_code == 200 or bad(r.status_code)

                result = Result("floor", engine, workload, clients_n)
                results.append(await warmed_run(result, clients, one, args, server))
    finally:
        stop(server)
    return results


def floor_table(results: list[Result]) -> str:
    """The floor beside the peer's move: how far 10x the peer is from what the stack can do."""
    floor = [r for r in results if r.system == "floor"]
    peer = {(r.engine, r.clients): r for r in results
            if r.system == "django-helpdesk" and r.workload == "move"}  # fmt: skip
    lines = [
        "| engine | clients | floor | /s | p50 | p95 | p99 ms | CPU ms/req "
        "| django-helpdesk move /s | 10x the peer /s | floor / peer | load avg |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in floor:
        p = peer.get((f.engine, f.clients))
        peer_cols = (
            f"{p.rate:.1f} | {10 * p.rate:.0f} | {f.rate / p.rate:.1f}x"
            if p and p.rate
            else "- | - | -"
        )
        lines.append(
            f"| {f.engine} | {f.clients} | {f.workload} | {f.rate:.1f} | {f.pct(0.5):.1f} "
            f"| {f.pct(0.95):.1f} | {f.pct(0.99):.1f} | {f.cpu_ms:.2f} | {peer_cols} "
            f"| {f.load:.2f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def databases(engine: str, tmp: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The Guichet database URL and the peer's settings, both of ``engine``'s kind."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp / 'guichet.sqlite3'}", {"DJH_SQLITE": str(tmp / "djh.sqlite3")}
        return
    sys.path.insert(0, str(REPO))
    from tests.pg_cluster import create_database, throwaway_cluster

    with throwaway_cluster() as cluster:
        yield create_database(cluster, "guichet"), {
            "DJH_PG_URL": create_database(cluster, "djh")
        }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def summary(r: Result) -> str:
    errors = f" errors={r.errors}" if r.errors else ""
    return (
        f"{r.system:15} {r.engine:8} {r.workload:11} c={r.clients:<2} {r.rate:7.1f}/s "
        f"p50={r.pct(0.5):6.1f} p95={r.pct(0.95):6.1f} p99={r.pct(0.99):6.1f} ms "
        f"cpu={r.cpu_ms:.1f} ms/req n={len(r.latencies)} load={r.load:.2f} "
        f"settled={r.settled:.1f}s{errors}"
    )


def table(results: list[Result]) -> str:
    ours = {(r.engine, r.workload, r.clients): r for r in results if r.system == "guichet"}
    peer = {(r.engine, r.workload, r.clients): r for r in results if r.system != "guichet"}
    lines = [
        "| engine | workload | clients | Guichet /s | p50 | p95 | p99 ms | CPU ms/req | errors "
        "| django-helpdesk /s | p50 | p95 | p99 ms | CPU ms/req | ratio /s | ratio CPU "
        "| load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, g in ours.items():
        p = peer.get(key)
        ratio = f"{g.rate / p.rate:.1f}x" if p and p.rate else "n/a"
        cpu_ratio = f"{p.cpu_ms / g.cpu_ms:.1f}x" if p and p.ok and g.ok and g.cpu else "n/a"
        load = max(g.load, p.load if p else 0.0)
        peer_cols = (
            f"{p.rate:.1f} | {p.pct(0.5):.0f} | {p.pct(0.95):.0f} | {p.pct(0.99):.0f} "
            f"| {p.cpu_ms:.1f}"
            if p
            else "- | - | - | - | -"
        )
        lines.append(
            f"| {g.engine} | {g.workload} | {g.clients} | {g.rate:.1f} | {g.pct(0.5):.1f} "
            f"| {g.pct(0.95):.1f} | {g.pct(0.99):.1f} | {g.cpu_ms:.1f} "
            f"| {sum(g.errors.values())} | {peer_cols} | {ratio} | {cpu_ratio} | {load:.2f} |"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    assert args.server_workers == 1 or args.engines == ["postgres"], (
        "--server-workers needs --engines postgres"
    )
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {int(c) for c in args.client_cpu.split(",")})
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="guichet-writes-") as folder:
        tmp = Path(folder)
        for engine in args.engines:
            with databases(engine, tmp) as (url, peer_db):
                log(f"Guichet on {engine}")
                results += await guichet_phase(engine, url, tmp, args)
                if args.floor:
                    log(f"the floor on {engine}")
                    results += await floor_phase(engine, url, tmp, args)
                if not args.skip_peer:
                    log(f"django-helpdesk on {engine}")
                    results += await peer_phase(engine, peer_db, tmp, args)
    print(
        f"\nWrites, {args.requests} requests per run (at most {args.seconds:.0f} s), "
        f"server on CPU {args.server_cpu}"
        + (f" ({args.server_workers} Guichet processes)" if args.server_workers > 1 else "")
        + f", clients on CPU {args.client_cpu}; "
        f"load average 1 min (max during the pair of runs); "
        f"git {git_sha()}, Python {sys.version.split()[0]}\n"
    )
    print(table(results))
    if args.floor:
        print("\nThe floor (bench/write_floor.py): the same stack and clients, an empty JSON")
        print("round trip (http) and only the peer's move, one status UPDATE (move):\n")
        print(floor_table(results))
    writer = [r for r in results if r.system == "guichet" and r.writer]
    if writer:
        print("\nSQLite writer lock per run (ms; excess = wait beyond the median hold of each")
        print("transaction ahead, i.e. beyond one's share):\n")
        for r in writer:
            print(f"{r.workload:11} c={r.clients:<2} {r.writer}")


def git_sha() -> str:
    with contextlib.suppress(Exception):
        return run(["git", "rev-parse", "--short", "HEAD"], dict(os.environ), REPO).strip()
    return "?"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engines", default="sqlite,postgres", type=lambda s: s.split(","))
    p.add_argument("--clients", default="4,16", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--requests", type=int, default=400, help="per run")
    p.add_argument("--seconds", type=float, default=40.0, help="cap per run")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--client-cpu", default="1")
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument(
        "--server-workers",
        type=int,
        default=1,
        help="Guichet's server processes (PostgreSQL only), as `guichet serve --workers N`;"
        " give them the cores with --server-cpu 0,1",
    )
    p.add_argument(
        "--floor",
        action="store_true",
        help="also measure the stack alone doing the peer's move (bench/write_floor.py)",
    )
    p.add_argument("--workloads", default=",".join(WORKLOADS), type=lambda s: s.split(","))
    p.add_argument("--py-spy", default="", help="folder for the server's py-spy profiles")
    p.add_argument(
        "--peer-dir",
        default=str(Path(tempfile.gettempdir()) / "guichet-bench-django-helpdesk"),
        help="scratch folder for django-helpdesk's virtualenv (kept between runs)",
    )
    return p.parse_args()


def _cleanup(*_: Any) -> None:
    for proc in list(CHILDREN):
        stop(proc)
    raise SystemExit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_seed":
        sys.path.insert(0, str(REPO))
        print(json.dumps(asyncio.run(seed_guichet(int(sys.argv[2])))))
        sys.exit(0)
    signal.signal(signal.SIGTERM, _cleanup)
    try:
        asyncio.run(main(parse_args()))
    finally:
        for child in list(CHILDREN):
            stop(child)
