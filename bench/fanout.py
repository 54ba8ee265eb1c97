"""Live board fan-out benchmark: move-to-receipt delay for N logged-in board viewers.

For each N (default 100, 1,000, 5,000) this script

1. starts a fresh Guichet instance (uvicorn, one worker, pinned to CPU 0; like ``guichet
   serve``, without per-message deflate unless ``--compression deflate``) on a temporary
   database filled with 3 establishments, 30 requesters, 5 technicians, 2 supervisors and
   60 tickets;
2. connects N board viewers (``/ws?view=board``) with a mix of roles, establishments and
   languages, waits for every snapshot, then reads the server's memory per idle connection;
3. moves tickets one at a time over HTTP (as a technician) and measures, for every viewer
   allowed to see the ticket, the delay to the push from the move's HTTP response and from
   the move's request (pushes can arrive before the response: both are shown);
4. starts a raw ``websockets`` server (same CPU, same compression) and broadcasts a payload
   equal to the median Guichet push to the same number of clients: the floor. Its delays are
   measured from the "sent" reply on a control socket, and from the "go" command.

It prints three tables (delays from the response, delays from the request, resources) and
the targets. Progress goes to stderr. ``--py-spy DIR`` also records the server's stacks.

    .venv/bin/python bench/fanout.py                       # 100, 1000, 5000 viewers
    .venv/bin/python bench/fanout.py --sizes 100 --moves 10
    scripts/with-postgres.sh sh -c \\
        '.venv/bin/python bench/fanout.py --database-url "$GUICHET_DATABASE_URL"'

Only loopback traffic; every loop is bounded in count and time. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FD_LIMIT = 65536
SNAPSHOT_MARK = 'id="board-columns"'
NAN = float("nan")


def log(*parts: Any) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Floor server: a raw websockets broadcast, run as ``fanout.py _floor PORT PAYLOAD COMPRESSION``
# --------------------------------------------------------------------------------------------


async def floor_server(port: int, payload_path: str, compression: str) -> None:
    from websockets.asyncio.server import broadcast, serve

    payload = Path(payload_path).read_text()  # noqa: ASYNC240 (once, before serving)
    clients: set[Any] = set()

    async def handler(ws: Any) -> None:
        if ws.request.path == "/control":
            async for message in ws:
                if message == "go":
                    broadcast(clients, payload)
                    await ws.send("sent")
                elif message == "count":
                    await ws.send(str(len(clients)))
            return
        clients.add(ws)
        try:
            await ws.send("hi")  # registered: the client may count on the next broadcast
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async with serve(
        handler,
        "127.0.0.1",
        port,
        compression="deflate" if compression == "deflate" else None,
        max_size=None,
        backlog=4096,
    ) as server:
        print("ready", flush=True)
        await server.serve_forever()


# --------------------------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------------------------

CHILDREN: list[subprocess.Popen[Any]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    prefix: list[str] = []
    if cpu is not None and shutil.which("taskset"):
        prefix += ["taskset", "-c", str(cpu)]
    if shutil.which("prlimit"):
        # Up to the hard limit: raising it needs CAP_SYS_RESOURCE, which containers lack.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        limit = FD_LIMIT if hard == resource.RLIM_INFINITY else min(FD_LIMIT, hard)
        prefix += ["prlimit", f"--nofile={limit}:{limit}", "--"]
    return prefix + cmd  # taskset and prlimit exec: the pid is the Python process's


def spawn(
    cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path = REPO
) -> subprocess.Popen[Any]:
    out = log_path.open("ab")
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter and tools)
        cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    out.close()
    CHILDREN.append(proc)
    return proc


def stop(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)
    if proc in CHILDREN:
        CHILDREN.remove(proc)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def other_cpu() -> dict[int, float]:
    """CPU seconds of every process on the machine except this bench and its children."""
    ours = {os.getpid(), *(c.pid for c in CHILDREN)}
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in ours:
            with contextlib.suppress(OSError, IndexError, ValueError):
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (FD_LIMIT, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(target, soft), max(target, hard)))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass
class Person:
    id: int
    role: str  # requester | technician | supervisor
    establishment_id: int | None
    token: str

    @property
    def is_staff(self) -> bool:
        return self.role != "requester"


@dataclass
class Card:
    id: int
    establishment_id: int
    requester_id: int
    shared: bool
    status: str = "new"
    version: int = 1

    def visible_to(self, who: Person) -> bool:
        if who.is_staff:
            return True
        return who.id == self.requester_id or (
            self.shared and who.establishment_id == self.establishment_id
        )


@dataclass
class World:
    viewers: list[Person]  # the people whose sessions the sockets use, in a mixed order
    mover: Person
    cards: list[Card]


async def build_world(seed: int, all_entitled: bool = False) -> World:
    # Imported here: settings are read from os.environ at first import.
    from server.db.tables import (
        Category,
        Establishment,
        Group,
        GroupEstablishment,
        GroupMember,
        SupervisorScope,
        Ticket,
    )
    from server.domain.actors import Actor
    from server.domain.forms import parse_new_ticket
    from server.domain.vocabulary import Priority, Role
    from server.services import accounts, tickets

    rnd = random.Random(seed)
    run = "".join(rnd.choices(string.ascii_lowercase, k=6))
    est_ids = []
    for name in ("CHU Anselme", "Clinique des Bouleaux", "Hôpital Cèdres"):
        code = "".join(rnd.choices(string.ascii_uppercase, k=3))
        row = await Establishment.insert(
            Establishment(name=f"{name} {run}", code=code, parent=None)
        ).returning(Establishment.id)
        est_ids.append(row[0]["id"])
    password = "correct horse battery"  # noqa: S105 (throwaway bench accounts)
    locales = ("fr", "en", "")

    async def person(kind: str, i: int, role: Role, est: int | None) -> Person:
        user_id = await accounts.create_user(
            email=f"{kind}{i}.{run}@bench.test",
            full_name=f"{kind.title()} {i} {run}",
            password=password,
            role=role,
            establishment_id=est,
            locale=locales[i % len(locales)],
        )
        token = await accounts.open_session(user_id, "bench")
        return Person(user_id, role.value, est, token)

    requesters = [await person("requester", i, Role.REQUESTER, est_ids[i % 3]) for i in range(30)]
    techs = [await person("tech", i, Role.TECHNICIAN, est_ids[i % 3]) for i in range(5)]
    sups = [await person("sup", i, Role.SUPERVISOR, est_ids[0]) for i in range(2)]
    group = await Group.insert(Group(name=f"Applications {run}", tier=2)).returning(Group.id)
    group_id = group[0]["id"]
    for t in techs:
        await GroupMember.insert(GroupMember(group=group_id, user=t.id))
    # The desk's reach: the group serves, and the supervisors watch, every establishment,
    # so "staff see all" below stays true.
    for est in est_ids:
        await GroupEstablishment.insert(GroupEstablishment(group=group_id, establishment=est))
        for s in sups:
            await SupervisorScope.insert(SupervisorScope(user=s.id, establishment=est))
    cat = await Category.insert(
        Category(
            name=f"Incident {run}", default_priority=Priority.HIGH.value, default_group=group_id
        )
    ).returning(Category.id)
    category_id = cat[0]["id"]

    titles = (
        "Imprimante hors ligne",
        "Scanner en panne",
        "VPN coupé",
        "Écran noir",
        "Messagerie lente",
        "Badge refusé",
        "Logiciel de paie bloqué",
    )
    priorities = [p.value for p in Priority]
    cards = []
    for i in range(60):
        req = requesters[i % 30]
        shared = i % 5 != 4  # 80 % shared with the establishment
        raw = {
            "title": f"{titles[i % len(titles)]} ({i})",
            "description": "Plus rien ne sort depuis ce matin.",
            "priority": priorities[i % len(priorities)],
            "shared": "1" if shared else "0",
        }
        if i % 2:
            raw["category_id"] = str(category_id)
        actor = Actor(id=req.id, role=Role.REQUESTER, establishment_id=req.establishment_id)
        ticket_id, _ = await tickets.open_ticket(actor, parse_new_ticket(raw))
        cards.append(Card(ticket_id, req.establishment_id or 0, req.id, shared))
    rows = await Ticket.select(Ticket.id, Ticket.version, Ticket.status).where(
        Ticket.id.is_in([c.id for c in cards])
    )
    by_id = {r["id"]: r for r in rows}
    for c in cards:
        c.version, c.status = by_id[c.id]["version"], by_id[c.id]["status"]
    # Every viewer entitled to every moved card (the floor sends to all): the desk only.
    people = techs + sups if all_entitled else requesters + techs + sups
    rnd.shuffle(people)
    mover_token = await accounts.open_session(techs[0].id, "bench mover")
    mover = Person(techs[0].id, "technician", techs[0].establishment_id, mover_token)
    return World(people, mover, cards)


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


@dataclass
class Round:
    """One fan-out being measured: which pushes count, who should get one, when they did."""

    needles: tuple[str, ...]
    expected: set[int]
    received: dict[int, float] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    samples: dict[int, str] = field(default_factory=dict)  # one real push per size
    unexpected: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, idx: int, message: str, at: float) -> None:
        if not all(n in message for n in self.needles):
            return
        if idx not in self.expected:
            self.unexpected += 1
            return
        if idx not in self.received:
            self.received[idx] = at
            size = len(message.encode())
            self.sizes.append(size)
            self.samples.setdefault(size, message)
            if len(self.received) >= len(self.expected):
                self.done.set()


class Fleet:
    """N websocket clients in this process, each with a reader task."""

    def __init__(self) -> None:
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.current: Round | None = None
        self.closed = 0
        self.errors: list[str] = []

    async def _reader(self, idx: int, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for message in ws:
                at = time.perf_counter()
                current = self.current
                if current is not None and isinstance(message, str):
                    current.offer(idx, message, at)
        except ConnectionClosed:
            pass
        finally:
            self.closed += 1

    async def connect_all(
        self,
        uris: list[str],
        headers: list[dict[str, str]],
        first_mark: str,
        batch: int,
        compression: str,
        deadline: float,
    ) -> None:
        from websockets.asyncio.client import connect

        async def one(idx: int) -> Any:
            ws = await connect(
                uris[idx],
                additional_headers=headers[idx],
                max_size=None,
                open_timeout=60,
                ping_interval=None,
                close_timeout=2,
                compression="deflate" if compression == "deflate" else None,
                proxy=None,
            )
            first = await asyncio.wait_for(ws.recv(), timeout=60)
            if first_mark not in first:
                raise RuntimeError(f"viewer {idx}: first message is not the snapshot")
            return ws

        total = len(uris)
        started = time.perf_counter()
        for lo in range(0, total, batch):
            if time.monotonic() > deadline:
                raise TimeoutError(f"connect phase over time after {len(self.sockets)} sockets")
            hi = min(total, lo + batch)
            results = await asyncio.gather(*(one(i) for i in range(lo, hi)), return_exceptions=True)
            for i, res in zip(range(lo, hi), results, strict=True):
                if isinstance(res, BaseException):
                    raise RuntimeError(f"viewer {i} failed to connect: {res!r}") from res
                self.sockets.append(res)
                self.tasks.append(asyncio.create_task(self._reader(i, res)))
            if hi == total or (hi // batch) % 5 == 0:
                rate = hi / max(time.perf_counter() - started, 1e-9)
                log(f"  connected {hi}/{total} ({rate:.0f}/s)")

    async def close_all(self) -> None:
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                ws.transport.abort()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        self.sockets.clear()
        self.tasks.clear()


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


def percentile(data: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when there is no data."""
    if not data:
        return float("nan")
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Stats:
    # Delay of each (move, receiver) pair, in ms, from two starting points:
    # ``from_ack``: the move's HTTP response (floor: the "sent" reply) arrived at the client;
    # ``from_req``: the move's request (floor: the "go" command) was sent.
    from_ack: list[float] = field(default_factory=list)
    from_req: list[float] = field(default_factory=list)
    receivers: list[int] = field(default_factory=list)
    missing: int = 0
    unexpected: int = 0
    failed_moves: int = 0
    rounds: int = 0
    cpu_ms_per_round: float = 0.0
    idle_cpu: float = 0.0  # share of a CPU the server uses with N idle viewers
    foreign_cpu: float = 0.0  # share of one CPU used by other processes while measuring
    ack_ms: list[float] = field(default_factory=list)  # request -> response, per move
    sizes: list[int] = field(default_factory=list)
    samples: dict[int, str] = field(default_factory=dict)

    def add(self, received: dict[int, float], t_req: float, t_ack: float) -> None:
        self.from_ack.extend((at - t_ack) * 1000 for at in received.values())
        self.from_req.extend((at - t_req) * 1000 for at in received.values())
        self.ack_ms.append((t_ack - t_req) * 1000)

    @staticmethod
    def summary(data: list[float]) -> tuple[float, float, float]:
        if not data:
            return (float("nan"),) * 3
        return percentile(data, 50), percentile(data, 99), max(data)


@dataclass
class Row:
    n: int
    guichet: Stats
    floor: Stats
    mem_kb: float
    floor_mem_kb: float
    connect_s: float
    note: str = ""
    load: str = ""  # 1-minute load average after the Guichet phase / after the floor phase


def pause_for(n: int) -> float:
    return 0.3 if n <= 1000 else 1.5


def receipt_timeout(n: int) -> float:
    return 10.0 + n / 250


def start_profiler(
    args: argparse.Namespace, pid: int, name: str, tmp: Path
) -> subprocess.Popen[Any] | None:
    """``--py-spy DIR``: sample the server during the moves (collapsed stacks, for reading)."""
    if not args.py_spy:
        return None
    exe = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    out = Path(args.py_spy).resolve() / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "-o",
        str(out),
        "--duration",
        str(int(args.moves_timeout) + 60),
    ]
    return spawn(cmd, dict(os.environ), tmp / f"py-spy-{name}.log")


async def stall_dumps(args: argparse.Namespace, pid: int, name: str) -> None:
    """``--py-spy DIR``: when a move's response is slow, dump every server thread's stack."""
    if not args.py_spy:
        return
    exe = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    waited = 0.0
    for at in (3.0, 8.0, 15.0):
        await asyncio.sleep(at - waited)
        waited = at
        out = Path(args.py_spy).resolve() / f"{name}-stall-{at:.0f}s.txt"  # noqa: ASYNC240
        dump = await asyncio.create_subprocess_exec(
            exe,
            "dump",
            "--pid",
            str(pid),
            "--native",
            stdout=out.open("wb"),
            stderr=asyncio.subprocess.STDOUT,
        )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(dump.wait(), 20)
        if dump.returncode is None:
            dump.kill()
            await dump.wait()
        log(f"  stalled move: stacks in {out}")


def stop_profiler(proc: subprocess.Popen[Any] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    if proc is not None:
        stop(proc)


def foreign(before: dict[int, float], wall0: float) -> float:
    """Share of a CPU that other processes (not this bench, not its servers) used since."""
    after = other_cpu()
    used = sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in after.items())
    return used / max(time.perf_counter() - wall0, 1e-9)


async def wait_for_quiet(limit: float, threshold: float = 0.15) -> None:
    """On a shared machine, wait (at most ``limit`` s) until other processes use less than
    ``threshold`` of a CPU, so they disturb the measurement less. The tables still show it."""
    deadline = time.monotonic() + limit
    while True:
        before, wall = other_cpu(), time.perf_counter()
        await asyncio.sleep(2)
        load = foreign(before, wall)
        if load < threshold or time.monotonic() > deadline:
            if load >= threshold:
                log(f"other processes still use {load * 100:.0f}% of a CPU: measuring anyway")
            return
        log(f"other processes use {load * 100:.0f}% of a CPU: waiting for a quieter moment")


async def wait_http(url: str, deadline: float, proc: subprocess.Popen[Any]) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not answer")


async def settle_rss(pid: int, seconds: float = 2.0) -> int:
    gc.collect()
    await asyncio.sleep(seconds)
    return rss_kb(pid)


async def refresh_card(card: Card) -> None:
    from server.db.tables import Ticket

    row = await Ticket.select(Ticket.version, Ticket.status).where(Ticket.id == card.id).first()
    if row:
        card.version, card.status = row["version"], row["status"]


def next_target(card: Card) -> str:
    # new -> planned takes the ticket; then pending <-> planned (someone is in charge).
    return "pending" if card.status == "planned" else "planned"


async def bench_guichet(
    n: int, world: World, env: dict[str, str], tmp: Path, args: argparse.Namespace
) -> tuple[Stats, float, float, str]:
    import httpx

    port = free_port()
    server_log = tmp / f"guichet-{n}.log"
    cmd = [
        PYTHON,
        "-m",
        "uvicorn",
        "server.asgi:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--backlog",
        "4096",
        # `guichet serve` turns per-message deflate off (CPU and ~40 KB of zlib state per
        # socket); --compression deflate measures it on, for the server, clients and floor.
        "--ws-per-message-deflate",
        "true" if args.compression == "deflate" else "false",
    ]
    # ``--code DIR``: the server runs another checkout's code (an A/B in the same window).
    code = args.code or REPO
    proc = spawn(pinned(cmd, args.server_cpu), {**env, "PYTHONPATH": str(code)}, server_log, code)
    base = f"http://127.0.0.1:{port}"
    fleet = Fleet()
    warm = Fleet()  # a first batch, for the memory baseline
    stats = Stats()
    try:
        try:
            await wait_http(f"{base}/healthz", time.monotonic() + 30, proc)
        except TimeoutError:
            raise RuntimeError(f"Guichet did not start:\n{tail(server_log)}") from None
        cookies = {"guichet_session": world.mover.token}
        async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as http:
            page = await http.get("/board")
            page.raise_for_status()
            csrf = http.cookies.get("guichet_csrf") or ""
            if not csrf:
                raise RuntimeError("no guichet_csrf cookie on GET /board")

            viewers = [world.viewers[i % len(world.viewers)] for i in range(n)]
            uris = [f"ws://127.0.0.1:{port}/ws?view=board"] * n
            headers = [{"Origin": base, "Cookie": f"guichet_session={v.token}"} for v in viewers]
            # One batch of viewers first, kept open while memory is measured: one-time costs
            # (templates, caches, the allocator arenas of a batch's concurrent database
            # threads) stay out of the per-connection figure, and no freed memory is reused.
            # They are closed before the moves, which the N viewers alone receive.
            k = args.batch
            await warm.connect_all(
                uris[:1] * k,
                [headers[i % len(headers)] for i in range(k)],
                SNAPSHOT_MARK,
                k,
                args.compression,
                time.monotonic() + 120,
            )
            before = await settle_rss(proc.pid, 2.0)
            log(f"Guichet N={n}: connecting (pid {proc.pid}, port {port})")
            t0 = time.perf_counter()
            await fleet.connect_all(
                uris,
                headers,
                SNAPSHOT_MARK,
                args.batch,
                args.compression,
                time.monotonic() + args.connect_timeout,
            )
            connect_s = time.perf_counter() - t0
            after = await settle_rss(proc.pid, 2.0)
            mem_kb = (after - before) / n
            await warm.close_all()
            await asyncio.sleep(1)
            profiler = start_profiler(args, proc.pid, f"guichet-{n}-idle", tmp)
            cpu0, w0 = cpu_seconds(proc.pid), time.perf_counter()
            await asyncio.sleep(args.idle_seconds)
            stats.idle_cpu = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - w0)
            stop_profiler(profiler)
            log(f"  idle: server uses {stats.idle_cpu * 100:.0f}% of a CPU with {n} viewers")
            log(
                f"  all {n} snapshots in {connect_s:.1f}s; RSS {before} -> {after} kB "
                f"= {mem_kb:.1f} kB/connection"
            )

            deadline = time.monotonic() + args.moves_timeout
            moves = args.moves if n <= 1000 else args.moves_5k
            note = ""
            cpu_total = 0.0
            profiler = start_profiler(args, proc.pid, f"guichet-{n}", tmp)
            others0, wall0 = other_cpu(), time.perf_counter()
            for m in range(moves + 1):  # the first move warms up and is not counted
                if time.monotonic() > deadline:
                    note = f"stopped after {stats.rounds} moves (time bound)"
                    log("  " + note)
                    break
                card = world.cards[m % len(world.cards)]
                target = next_target(card)
                expected = {i for i, v in enumerate(viewers) if card.visible_to(v)}
                rnd = Round((f'id="card-{card.id}"', f'#cards-{target}"'), expected)
                fleet.current = rnd
                cpu0 = cpu_seconds(proc.pid)
                t_req = time.perf_counter()
                watchdog = asyncio.create_task(stall_dumps(args, proc.pid, f"guichet-{n}-move{m}"))
                try:
                    response = await http.post(
                        f"/tickets/{card.id}/move",
                        data={"status": target, "version": str(card.version)},
                        headers={"x-csrftoken": csrf, "hx-request": "true"},
                    )
                except httpx.HTTPError as exc:
                    stats.failed_moves += 1
                    stats.ack_ms.append((time.perf_counter() - t_req) * 1000)
                    log(f"  move {m}: {exc!r} after {time.perf_counter() - t_req:.1f}s")
                    fleet.current = None
                    await refresh_card(card)  # it may have happened all the same
                    continue
                finally:
                    watchdog.cancel()
                t_resp = time.perf_counter()
                found = re.search(
                    rf'id="card-{card.id}"[^>]*data-version="(\d+)" data-status="(\w+)"',
                    response.text,
                )
                if found:
                    card.version, card.status = int(found.group(1)), found.group(2)
                if response.status_code != 200:
                    stats.failed_moves += 1
                    log(f"  move {m}: HTTP {response.status_code} {response.text[:200]!r}")
                    fleet.current = None
                    continue
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(rnd.done.wait(), receipt_timeout(n))
                await asyncio.sleep(0.05)  # late duplicates or leaks still count as unexpected
                cpu1 = cpu_seconds(proc.pid)
                fleet.current = None
                if m == 0:
                    continue
                stats.rounds += 1
                cpu_total += cpu1 - cpu0
                stats.receivers.append(len(expected))
                stats.add(rnd.received, t_req, t_resp)
                stats.missing += len(expected) - len(rnd.received)
                stats.unexpected += rnd.unexpected
                stats.sizes.extend(rnd.sizes)
                for size, text in rnd.samples.items():
                    stats.samples.setdefault(size, text)
                slowest = max(rnd.received.values(), default=t_resp) - t_resp
                log(
                    f"  move {m}/{moves} #{card.id} -> {target}: {len(rnd.received)}/"
                    f"{len(expected)} received, last after {slowest * 1000:.1f} ms"
                )
                await asyncio.sleep(pause_for(n))
            stats.cpu_ms_per_round = cpu_total / max(stats.rounds, 1) * 1000
            stats.foreign_cpu = foreign(others0, wall0)
            stop_profiler(profiler)
            if fleet.closed:
                note = (note + "; " if note else "") + f"{fleet.closed} sockets closed early"
        return stats, mem_kb, connect_s, note
    finally:
        await warm.close_all()
        await fleet.close_all()
        stop(proc)


async def bench_floor(
    n: int, rounds: int, payload: str, env: dict[str, str], tmp: Path, args: argparse.Namespace
) -> tuple[Stats, float]:
    from websockets.asyncio.client import connect

    port = free_port()
    payload_path = tmp / f"payload-{n}.html"
    payload_path.write_text(payload)
    server_log = tmp / f"floor-{n}.log"
    script = str(Path(__file__).resolve())  # noqa: ASYNC240 (no I/O)
    cmd = [PYTHON, script, "_floor", str(port), str(payload_path), args.compression]
    proc = spawn(pinned(cmd, args.server_cpu), env, server_log)
    fleet = Fleet()
    stats = Stats()
    control = None
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "ready" not in tail(server_log):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        if "ready" not in tail(server_log):
            raise RuntimeError(f"floor server did not start:\n{tail(server_log)}")
        before = await settle_rss(proc.pid, 1.0)
        log(f"Floor N={n}: connecting (payload {len(payload.encode())} bytes)")
        await fleet.connect_all(
            [f"ws://127.0.0.1:{port}/"] * n,
            [{}] * n,
            "hi",
            args.batch,
            args.compression,
            time.monotonic() + args.connect_timeout,
        )
        after = await settle_rss(proc.pid, 2.0)
        control = await connect(
            f"ws://127.0.0.1:{port}/control", ping_interval=None, compression=None, proxy=None
        )
        everyone = set(range(n))
        cpu_total = 0.0
        others0, wall0 = other_cpu(), time.perf_counter()
        for m in range(rounds + 1):
            rnd = Round(("",), everyone)
            fleet.current = rnd
            cpu0 = cpu_seconds(proc.pid)
            t_go = time.perf_counter()
            await control.send("go")
            reply = await asyncio.wait_for(control.recv(), timeout=60)
            t_sent = time.perf_counter()
            assert reply == "sent", reply
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(rnd.done.wait(), receipt_timeout(n))
            await asyncio.sleep(0.05)
            cpu1 = cpu_seconds(proc.pid)
            fleet.current = None
            if m == 0:
                continue
            stats.rounds += 1
            cpu_total += cpu1 - cpu0
            stats.receivers.append(n)
            stats.add(rnd.received, t_go, t_sent)
            stats.missing += n - len(rnd.received)
            await asyncio.sleep(pause_for(n))
        stats.cpu_ms_per_round = cpu_total / max(stats.rounds, 1) * 1000
        stats.foreign_cpu = foreign(others0, wall0)
        p50, p99, top = Stats.summary(stats.from_ack)
        log(f"  floor from 'sent': p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {top:.1f} ms")
        return stats, (after - before) / n
    finally:
        if control is not None:
            with contextlib.suppress(Exception):
                control.transport.abort()
        await fleet.close_all()
        stop(proc)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"  # NaN prints as n/a


def ratio(g: float, f: float) -> float:
    # A ratio to a floor at or below zero (receipt before the reply) means nothing.
    return g / f if f == f and g == g and f > 0 else float("nan")


def render_table(head: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    out = [
        "| " + " | ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|",
    ]
    out += [
        "| " + " | ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in lines
    ]
    return "\n".join(out)


def delay_table(rows: list[Row], attr: str) -> str:
    head = [
        "N",
        "recv/move",
        "moves",
        "Guichet p50",
        "p99",
        "max",
        "floor p50",
        "p99",
        "max",
        "p99 ratio",
        "missing",
    ]
    lines = []
    for r in rows:
        g = Stats.summary(getattr(r.guichet, attr))
        f = Stats.summary(getattr(r.floor, attr))
        lines.append(
            [
                str(r.n),
                fmt(statistics.mean(r.guichet.receivers), 0) if r.guichet.receivers else "0",
                str(r.guichet.rounds),
                *(fmt(x) for x in g),
                *(fmt(x) for x in f),
                fmt(ratio(g[1], f[1]), 2),
                f"{r.guichet.missing}+{r.floor.missing}",
            ]
        )
    return render_table(head, lines)


def resource_table(rows: list[Row]) -> str:
    head = [
        "N",
        "KB/idle conn",
        "floor KB/conn",
        "idle CPU",
        "server CPU/move",
        "floor CPU/bcast",
        "move HTTP p50/max",
        "push bytes p50",
        "leaked",
        "failed moves",
        "connect s",
        "other load",
        "loadavg",
    ]
    lines = []
    for r in rows:
        g = r.guichet
        lines.append(
            [
                str(r.n),
                fmt(r.mem_kb),
                fmt(r.floor_mem_kb),
                f"{g.idle_cpu * 100:.0f}%",
                fmt(g.cpu_ms_per_round, 0) + " ms",
                fmt(r.floor.cpu_ms_per_round, 0) + " ms",
                f"{fmt(percentile(g.ack_ms, 50), 0)}/{fmt(max(g.ack_ms, default=NAN), 0)} ms",
                str(int(statistics.median_low(g.sizes))) if g.sizes else "n/a",
                str(g.unexpected),
                str(g.failed_moves),
                fmt(r.connect_s, 0),
                f"{g.foreign_cpu * 100:.0f}%/{r.floor.foreign_cpu * 100:.0f}%",
                r.load,
            ]
        )
    return render_table(head, lines)


def report(rows: list[Row]) -> str:
    return "\n".join(
        [
            "Delay from the move's HTTP response (floor: from the broadcast's \"sent\" reply), ms:",
            delay_table(rows, "from_ack"),
            "",
            'Delay from the move\'s request (floor: from the "go" command), ms:',
            delay_table(rows, "from_req"),
            "",
            "Resources (missing = Guichet+floor receipts that never came; leaked = pushes of a",
            "card to a viewer not allowed to see it):",
            resource_table(rows),
        ]
    )


def targets_line(rows: list[Row]) -> str:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    parts = []
    by_n = {r.n: r for r in rows}
    for n, limit in ((1000, 100.0), (5000, 1000.0)):
        if n in by_n:
            p99 = Stats.summary(by_n[n].guichet.from_ack)[1]
            parts.append(f"p99@{n} {fmt(p99)} ms < {limit:.0f} ms: {verdict(p99 < limit)}")
    if 1000 in by_n:  # issue 12's wording: from the move's request
        p99 = Stats.summary(by_n[1000].guichet.from_req)[1]
        parts.append(f"p99@1000 from request {fmt(p99)} ms <= 100 ms: {verdict(p99 <= 100)}")
    for r in rows:
        for attr, name in (("from_ack", "from response"), ("from_req", "from request")):
            x = ratio(
                Stats.summary(getattr(r.guichet, attr))[1], Stats.summary(getattr(r.floor, attr))[1]
            )
            parts.append(
                f"p99 ratio@{r.n} {name} {fmt(x, 2)} <= 3: "
                f"{verdict(x <= 3) if x == x else 'n/a (floor p99 <= 0)'}"
            )
    if rows:  # the largest N: one-time costs weigh least there
        big = max(rows, key=lambda r: r.n)
        parts.append(
            f"memory@{big.n} {fmt(big.mem_kb)} KB/idle conn < 50 KB: {verdict(big.mem_kb < 50)}"
        )
    missing = sum(r.guichet.missing + r.floor.missing for r in rows)
    leaked = sum(r.guichet.unexpected for r in rows)
    parts.append(f"missing receipts {missing}: {verdict(missing == 0)}")
    parts.append(f"pushes to viewers not allowed {leaked}: {verdict(leaked == 0)}")
    return "Targets:\n  " + "\n  ".join(parts)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="100,1000,5000", help="viewer counts (default 100,1000,5000)")
    p.add_argument("--moves", type=int, default=20, help="measured moves per N (default 20)")
    p.add_argument(
        "--moves-5k", type=int, default=None, help="measured moves for N > 1000 (default: --moves)"
    )
    p.add_argument(
        "--database-url",
        default="",
        help="a THROWAWAY PostgreSQL database (default: SQLite in a temp dir)",
    )
    p.add_argument(
        "--database-copy",
        default="",
        metavar="FILE",
        help="an existing SQLite database (e.g. bench/pages.py's 1 M file): copied into the\n"
        "temp dir and migrated, so the original is never changed and every run starts equal",
    )
    p.add_argument(
        "--code",
        default="",
        metavar="DIR",
        help="run the Guichet server from this checkout (e.g. `git archive main` unpacked):\n"
        "before/after in the same window; the bench itself and its data set-up stay here",
    )
    p.add_argument(
        "--compression",
        choices=("none", "deflate"),
        default="none",
        help="per-message deflate on the Guichet server, the floor and the clients: none (as\n"
        "`guichet serve` runs, the default) or deflate (uvicorn's default, what browsers ask)",
    )
    p.add_argument("--batch", type=int, default=100, help="sockets connected at once")
    p.add_argument(
        "--connect-timeout", type=float, default=900, help="seconds allowed to connect N viewers"
    )
    p.add_argument(
        "--moves-timeout", type=float, default=300, help="seconds allowed for the moves of one N"
    )
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=5,
        help="idle window to measure the server's background CPU",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=180,
        help="seconds to wait, before each N, for other processes to go quiet (default 180)",
    )
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for servers (taskset)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU for this process")
    p.add_argument(
        "--py-spy",
        default="",
        metavar="DIR",
        help="record py-spy collapsed stacks of the server during the moves",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    p.add_argument(
        "--all-entitled",
        action="store_true",
        help="viewers are technicians and supervisors only: each gets every move's push,"
        " as every floor client does (default: the 81 %% requesters / 19 %% desk mix)",
    )
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.code = Path(args.code).resolve() if args.code else None
    if args.moves_5k is None:
        args.moves_5k = args.moves
    return args


async def run(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> list[Row]:
    log("Creating data (3 establishments, 37 people, 60 tickets)")
    world = await build_world(seed=7, all_entitled=args.all_entitled)
    roles: dict[str, int] = {}
    for v in world.viewers:
        roles[v.role] = roles.get(v.role, 0) + 1
    log(f"  viewers cycle over {len(world.viewers)} sessions: {roles}")
    rows = []
    for n in args.sizes:
        await wait_for_quiet(args.quiet_wait)
        started = time.perf_counter()
        try:
            g, mem, connect_s, note = await bench_guichet(n, world, env, tmp, args)
            load_guichet = os.getloadavg()[0]
        except (RuntimeError, TimeoutError) as exc:
            log(f"N={n}: Guichet run failed: {exc}")
            break
        if not g.sizes:
            log(f"N={n}: no push observed, no floor to compare with")
            break
        # A real push of the median size: same bytes, same compressibility.
        sample = g.samples[statistics.median_low(g.sizes)]
        await wait_for_quiet(args.quiet_wait)
        f, fmem = await bench_floor(n, g.rounds, sample, env, tmp, args)
        load = f"{load_guichet:.1f}/{os.getloadavg()[0]:.1f}"
        rows.append(Row(n, g, f, mem, fmem, connect_s, note, load))
        log(f"N={n} done in {time.perf_counter() - started:.0f}s")
        print(report(rows[-1:]), file=sys.stderr, flush=True)
    return rows


def main(argv: list[str]) -> int:
    if argv[:1] == ["_floor"]:
        port, payload_path, compression = argv[1], argv[2], argv[3]
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            run_loop(floor_server(int(port), payload_path, compression))
        return 0
    args = parse_args(argv)
    if args.database_copy and args.database_url:
        print("--database-copy and --database-url exclude each other", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    env = {
        **os.environ,
        "GUICHET_VAR_DIR": str(tmp),
        "GUICHET_DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.sqlite3",
        "GUICHET_SECRET_KEY": "bench",
        "GUICHET_ARGON2_TIME_COST": "1",
        "GUICHET_ARGON2_MEMORY_KIB": "8192",
        "GUICHET_CHANNELS": "memory",
        "PYTHONPATH": str(REPO),
    }
    env.pop("GUICHET_SECURE_COOKIES", None)
    env.pop("GUICHET_BASE_URL", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("GUICHET_")})
    os.environ.pop("GUICHET_SECURE_COOKIES", None)
    os.environ.pop("GUICHET_BASE_URL", None)
    sys.path.insert(0, str(REPO))
    signal.signal(signal.SIGTERM, interrupt)
    started = time.perf_counter()
    try:
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {args.client_cpu})
        limit = raise_fd_limit()
        log(f"temp dir {tmp}; fd limit {limit}; load average {os.getloadavg()}")
        need = max(args.sizes) + 200
        if limit < need:
            log(f"warning: fd limit {limit} is below the {need} sockets needed")
        if args.database_copy:
            source = Path(args.database_copy)
            log(f"copying {source} ({source.stat().st_size / 1e9:.1f} GB) into {tmp}")
            shutil.copyfile(source, tmp / "bench.sqlite3")
        migrate = subprocess.run(  # noqa: S603 (our own interpreter)
            [PYTHON, "-m", "server.cli", "migrate"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrate.returncode != 0:
            log("migration failed:", migrate.stdout, migrate.stderr)
            return 1
        if args.database_copy:
            # Mails the copy's loader queued and never sent would be delivered during the
            # run (a third of the server's CPU on the 1 M copy), competing with the pushes:
            # every run starts with none, as in bench/pages.py.
            with contextlib.closing(sqlite3.connect(tmp / "bench.sqlite3")) as db, db:
                db.execute("UPDATE outbox SET sent_at = created_at WHERE sent_at IS NULL")
        rows = run_loop(run(args, tmp, env))
        elapsed = time.perf_counter() - started
        if not rows:
            return 1
        print(
            f"Guichet live board fan-out: {args.compression} compression, "
            f"{'PostgreSQL' if (args.database_url or '').startswith('postgres') else 'SQLite'}"
            f"{', every viewer entitled' if args.all_entitled else ''}"
            f"{', on a copy of ' + Path(args.database_copy).name if args.database_copy else ''}"
            f"{', server code from ' + str(args.code) if args.code else ''}; floor = raw "
            "websockets.broadcast() of the median Guichet push to as many clients"
        )
        print(report(rows))
        print(targets_line(rows))
        notes = [f"N={r.n}: {r.note}" for r in rows if r.note]
        if notes:
            print("Notes: " + "; ".join(notes))
        print(f"Run time {elapsed:.0f} s; load average at the end {os.getloadavg()}")
        return 0
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        log(f"interrupted ({SIGNALLED or type(exc).__name__}): cleaning up")
        return 130
    finally:
        for proc in list(CHILDREN):
            stop(proc, timeout=5)
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


SIGNALLED: list[str] = []


def interrupt(*_: Any) -> None:
    """SIGTERM outside the event loop: unwind like Ctrl-C, so ``finally`` cleans up."""
    SIGNALLED.append("SIGTERM")
    raise KeyboardInterrupt


def _cancel_on_term(task: asyncio.Task[Any]) -> None:
    SIGNALLED.append("SIGTERM")
    task.cancel()


async def _cancellable(coro: Any) -> Any:
    """Inside the loop, SIGTERM cancels the main task (a handler raising there could be
    swallowed by a callback); Ctrl-C is handled by asyncio.Runner the same way."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGTERM, _cancel_on_term, task)
    try:
        return await coro
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, interrupt)


def run_loop(coro: Any) -> Any:
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_cancellable(coro))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
