"""Several instances: live board fan-out with 1, 2 and 4 Guichet instances on this machine,
through the PostgreSQL (LISTEN/NOTIFY) and the Redis (pub/sub) channels backends.

For each backend and instance count, this script

1. starts K Guichet instances (uvicorn, one worker each, all pinned to the server CPU) on one
   PostgreSQL database (``--database-url``, a THROWAWAY one) and, for Redis, a redis-server it
   starts on loopback (no persistence);
2. spreads N board viewers (default 5,000) round-robin over the K instances and waits for
   every snapshot (the client code is bench/fanout.py's: same people, same tickets);
3. moves tickets one at a time over HTTP through instance 1 and measures, for every viewer
   allowed to see the ticket (whatever its instance), the delay to the push from the move's
   request; and the CPU each instance, the database server and redis-server used per move
   (/proc, from the request until the last receipt);
4. measures the broadcast floor once in the same run: a raw ``websockets.broadcast()`` of the
   median Guichet push to N clients on the same CPU (bench/fanout.py's floor server).

It prints one table, with the load average before and after. Progress goes to stderr.

    scripts/with-postgres.sh sh -c \\
        'nice -n 10 .venv/bin/python bench/scale.py --database-url "$GUICHET_DATABASE_URL"'
    ... bench/scale.py --database-url ... --viewers 500 --moves 4 --instances 1,2   # quick

Only loopback traffic; every loop is bounded in count and time. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout
from fanout import (
    CHILDREN,
    PYTHON,
    REPO,
    SNAPSHOT_MARK,
    Fleet,
    Round,
    Stats,
    World,
    cpu_seconds,
    fmt,
    free_port,
    log,
    percentile,
    pinned,
    refresh_card,
    render_table,
    spawn,
    stop,
    tail,
    wait_http,
)


@dataclass
class Config:
    backend: str  # postgres | redis
    instances: int


@dataclass
class Result:
    config: Config
    stats: Stats = field(default_factory=Stats)
    # CPU ms per measured move: each instance, the database server, redis-server.
    instance_cpu_ms: list[float] = field(default_factory=list)
    database_cpu_ms: float = 0.0
    redis_cpu_ms: float = float("nan")
    connect_s: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    note: str = ""


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the throwaway cluster's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
    return found


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            found[pid] = cpu_seconds(pid)
    return found


def database_cpu_since(before: dict[int, float]) -> float:
    """CPU the database server used since ``before``: backends born since count whole, those
    that exited in between are lost (short-lived, so little)."""
    after = cpu_by_pid(postgres_pids())
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += cpu_seconds(pid)
    return total


def start_redis(tmp: Path) -> tuple[subprocess.Popen[Any], str]:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server is needed: apt-get install redis-server")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--dir", str(tmp)]  # fmt: skip
    proc = spawn(cmd, dict(os.environ), tmp / "redis.log")
    return proc, f"redis://127.0.0.1:{port}/0"


async def wait_redis(url: str, deadline: float) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        while True:
            with contextlib.suppress(Exception):
                if await client.ping():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def bench_config(
    config: Config, world: World, env: dict[str, str], tmp: Path, args: argparse.Namespace
) -> Result:
    import httpx

    result = Result(config, load_before=os.getloadavg())
    name = f"{config.backend}-{config.instances}"
    env = {**env, "GUICHET_CHANNELS": config.backend}
    redis_proc = None
    procs: list[subprocess.Popen[Any]] = []
    fleet = Fleet()
    try:
        if config.backend == "redis":
            redis_proc, env["GUICHET_REDIS_URL"] = start_redis(tmp)
            await wait_redis(env["GUICHET_REDIS_URL"], time.monotonic() + 20)
        ports = [free_port() for _ in range(config.instances)]
        for i, port in enumerate(ports):
            cmd = [PYTHON, "-m", "uvicorn", "server.asgi:app", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning", "--backlog", "4096",
                   "--ws-per-message-deflate", "false"]  # fmt: skip
            # Pinned after the viewers are connected: the snapshots use every CPU meanwhile.
            procs.append(spawn(pinned(cmd, None), env, tmp / f"{name}-{i}.log"))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for i, (base, proc) in enumerate(zip(bases, procs, strict=True)):
            try:
                await wait_http(f"{base}/healthz", time.monotonic() + 60, proc)
            except TimeoutError:
                log_tail = tail(tmp / f"{name}-{i}.log")
                raise RuntimeError(f"instance {i} did not start:\n{log_tail}") from None

        n = args.viewers
        viewers = [world.viewers[i % len(world.viewers)] for i in range(n)]
        uris = [f"ws://127.0.0.1:{ports[i % len(ports)]}/ws?view=board" for i in range(n)]
        headers = [
            {"Origin": bases[i % len(bases)], "Cookie": f"guichet_session={v.token}"}
            for i, v in enumerate(viewers)
        ]
        log(f"{name}: connecting {n} viewers over {config.instances} instance(s)")
        t0 = time.perf_counter()
        await fleet.connect_all(uris, headers, SNAPSHOT_MARK, args.batch, "none",
                                time.monotonic() + args.connect_timeout)  # fmt: skip
        result.connect_s = time.perf_counter() - t0
        for proc in procs:  # every instance on the server CPU, as one machine's share
            with contextlib.suppress(OSError, AttributeError):
                os.sched_setaffinity(proc.pid, {args.server_cpu})
        await asyncio.sleep(2)  # let the snapshot work drain before measuring

        stats = result.stats
        pids = [proc.pid for proc in procs]
        per_instance = [0.0] * len(pids)
        database_total = redis_total = 0.0
        cookies = {"guichet_session": world.mover.token}
        async with httpx.AsyncClient(base_url=bases[0], cookies=cookies, timeout=60) as http:
            (await http.get("/board")).raise_for_status()
            csrf = http.cookies.get("guichet_csrf") or ""
            deadline = time.monotonic() + args.moves_timeout
            for m in range(args.moves + 1):  # the first move warms up and is not counted
                if time.monotonic() > deadline:
                    result.note = f"stopped after {stats.rounds} moves (time bound)"
                    break
                card = world.cards[m % len(world.cards)]
                await refresh_card(card)  # an earlier configuration moved it too
                target = fanout.next_target(card)
                expected = {i for i, v in enumerate(viewers) if card.visible_to(v)}
                rnd = Round((f'id="card-{card.id}"', f'#cards-{target}"'), expected)
                fleet.current = rnd
                cpu0 = [cpu_of([pid]) for pid in pids]
                db0 = cpu_by_pid(postgres_pids())
                redis0 = cpu_of([redis_proc.pid]) if redis_proc else 0.0
                t_req = time.perf_counter()
                try:
                    response = await http.post(
                        f"/tickets/{card.id}/move",
                        data={"status": target, "version": str(card.version)},
                        headers={"x-csrftoken": csrf, "hx-request": "true"},
                    )
                except httpx.HTTPError as exc:
                    stats.failed_moves += 1
                    log(f"  move {m}: {exc!r}")
                    fleet.current = None
                    continue
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
                    await asyncio.wait_for(rnd.done.wait(), fanout.receipt_timeout(n))
                await asyncio.sleep(0.05)
                fleet.current = None
                if m == 0:
                    continue
                stats.rounds += 1
                for i, pid in enumerate(pids):
                    per_instance[i] += cpu_of([pid]) - cpu0[i]
                database_total += database_cpu_since(db0)
                if redis_proc:
                    redis_total += cpu_of([redis_proc.pid]) - redis0
                stats.receivers.append(len(expected))
                stats.add(rnd.received, t_req, t_resp)
                stats.missing += len(expected) - len(rnd.received)
                stats.unexpected += rnd.unexpected
                stats.sizes.extend(rnd.sizes)
                for size, text in rnd.samples.items():
                    stats.samples.setdefault(size, text)
                last = max(rnd.received.values(), default=t_req) - t_req
                log(f"  move {m}/{args.moves}: {len(rnd.received)}/{len(expected)} received, "
                    f"last {last * 1000:.0f} ms after the request")  # fmt: skip
                await asyncio.sleep(args.pause)
        rounds = max(stats.rounds, 1)
        result.instance_cpu_ms = [t / rounds * 1000 for t in per_instance]
        result.database_cpu_ms = database_total / rounds * 1000
        if redis_proc:
            result.redis_cpu_ms = redis_total / rounds * 1000
        if fleet.closed:
            result.note = (result.note + "; " if result.note else "") + (
                f"{fleet.closed} sockets closed early"
            )
        return result
    finally:
        await fleet.close_all()
        for proc in procs:
            stop(proc)
        if redis_proc is not None:
            stop(redis_proc)


def table(results: list[Result], floor: Stats, viewers: int) -> str:
    floor_p99 = Stats.summary(floor.from_req)[1]
    head = [
        *("backend", "instances", "viewers each", "recv/move", "moves", "p50 ms", "p99 ms"),
        *("max ms", "floor p99 ms", "p99/floor", "CPU/move/instance ms", "all instances ms"),
        *("database ms", "redis ms", "move HTTP p50 ms", "missing", "connect s", "load avg"),
    ]
    lines = []
    for r in results:
        s = r.stats
        p50, p99, top = Stats.summary(s.from_req)
        cpu = r.instance_cpu_ms
        lines.append(
            [
                r.config.backend,
                str(r.config.instances),
                str(round(viewers / r.config.instances)),
                fmt(statistics.mean(s.receivers), 0) if s.receivers else "0",
                str(s.rounds),
                fmt(p50, 0),
                fmt(p99, 0),
                fmt(top, 0),
                fmt(floor_p99, 0),
                fmt(p99 / floor_p99, 1) if floor_p99 > 0 else "n/a",
                f"{fmt(statistics.mean(cpu), 0)} ({fmt(min(cpu), 0)}-{fmt(max(cpu), 0)})"
                if cpu
                else "n/a",
                fmt(sum(cpu), 0),
                fmt(r.database_cpu_ms, 0),
                fmt(r.redis_cpu_ms, 1),
                fmt(percentile(s.ack_ms, 50), 0),
                str(s.missing),
                fmt(r.connect_s, 0),
                " ".join(f"{x:.1f}" for x in r.load_before),
            ]
        )
    return render_table(head, lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", required=True, help="a THROWAWAY PostgreSQL database")
    p.add_argument("--viewers", type=int, default=5000, help="board viewers (default 5000)")
    p.add_argument("--instances", default="1,2,4", help="instance counts (default 1,2,4)")
    p.add_argument("--backends", default="postgres,redis", help="default postgres,redis")
    p.add_argument("--moves", type=int, default=8, help="measured moves per configuration")
    p.add_argument("--pause", type=float, default=1.5, help="seconds between moves")
    p.add_argument("--batch", type=int, default=100, help="sockets connected at once")
    p.add_argument("--connect-timeout", type=float, default=1500)
    p.add_argument("--moves-timeout", type=float, default=180)
    p.add_argument(
        "--quiet-wait", type=float, default=10, help="seconds to wait for a quieter machine"
    )
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for every instance (taskset)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU for this process")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = p.parse_args(argv)
    args.instances = [int(x) for x in args.instances.split(",") if x.strip()]
    args.backends = [x.strip() for x in args.backends.split(",") if x.strip()]
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        p.error("--database-url must be PostgreSQL: instances share it")
    return args


async def run(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    log("Creating data (3 establishments, 37 people, 60 tickets)")
    world = await fanout.build_world(seed=11)
    results: list[Result] = []
    floor: Stats | None = None
    # Interleaved, so that a run cut short still compares the backends.
    for k in args.instances:
        for backend in args.backends:
            await fanout.wait_for_quiet(args.quiet_wait)
            try:
                result = await bench_config(Config(backend, k), world, env, tmp, args)
            except (RuntimeError, TimeoutError) as exc:
                log(f"{backend} x{k}: failed: {exc}")
                continue
            results.append(result)
            if floor is None and result.stats.sizes:
                # The floor once, in the same run, with a real push of the median size.
                sample = result.stats.samples[statistics.median_low(result.stats.sizes)]
                await fanout.wait_for_quiet(args.quiet_wait)
                floor, _ = await fanout.bench_floor(
                    args.viewers, max(args.moves, 3), sample, env, tmp, fanout_args(args)
                )
            if floor is not None:
                print(table(results[-1:], floor, args.viewers), file=sys.stderr, flush=True)
    if floor is None or not results:
        raise RuntimeError("nothing measured")
    print(
        f"Live board fan-out across instances: {args.viewers} viewers spread round-robin, "
        f"moves through instance 1, every instance on CPU {args.server_cpu}, clients on CPU "
        f"{args.client_cpu}; PostgreSQL 15 (throwaway cluster); delays from the move's request; "
        "floor = raw websockets.broadcast() of the median push to as many clients"
    )
    print(table(results, floor, args.viewers))
    notes = [f"{r.config.backend} x{r.config.instances}: {r.note}" for r in results if r.note]
    if notes:
        print("Notes: " + "; ".join(notes))


def fanout_args(args: argparse.Namespace) -> argparse.Namespace:
    """What bench/fanout.py's floor reads from its own options."""
    return argparse.Namespace(
        compression="none",
        server_cpu=args.server_cpu,
        batch=args.batch,
        connect_timeout=args.connect_timeout,
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="guichet-scale-"))
    env = {
        **os.environ,
        "GUICHET_VAR_DIR": str(tmp),
        "GUICHET_DATABASE_URL": args.database_url,
        "GUICHET_SECRET_KEY": "bench",
        "GUICHET_ARGON2_TIME_COST": "1",
        "GUICHET_ARGON2_MEMORY_KIB": "8192",
        "GUICHET_SCHEDULER_SECONDS": "0",
        "PYTHONPATH": str(REPO),
    }
    for name in ("GUICHET_SECURE_COOKIES", "GUICHET_BASE_URL"):
        env.pop(name, None)
        os.environ.pop(name, None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("GUICHET_")})
    sys.path.insert(0, str(REPO))
    signal.signal(signal.SIGTERM, fanout.interrupt)
    started = time.perf_counter()
    try:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {args.client_cpu})
        limit = fanout.raise_fd_limit()
        log(f"temp dir {tmp}; fd limit {limit}; load average {os.getloadavg()}")
        migrate = subprocess.run(  # noqa: S603 (our own interpreter)
            [PYTHON, "-m", "server.cli", "migrate"],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if migrate.returncode != 0:
            log("migration failed:", migrate.stdout, migrate.stderr)
            return 1
        load0 = os.getloadavg()
        fanout.run_loop(run(args, tmp, env))
        print(
            f"Load average before {' '.join(f'{x:.2f}' for x in load0)}, after "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; run time "
            f"{time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs"
        )
        return 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("interrupted: cleaning up")
        return 130
    except RuntimeError as exc:
        log(str(exc))
        return 1
    finally:
        for proc in list(CHILDREN):
            stop(proc, timeout=5)
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
