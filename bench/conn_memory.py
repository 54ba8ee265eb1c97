"""Where the memory of an idle board viewer goes: a tracemalloc census of the server.

Companion to ``fanout.py`` (which reports RSS per idle connection). This starts Guichet under
tracemalloc (slow: numbers of time are meaningless here), connects N board viewers, and
prints the Python allocations that grew, per connection, grouped by source line and by file,
next to the RSS growth. What RSS shows beyond tracemalloc is native memory (zlib contexts of
permessage-deflate, uvloop buffers, malloc overhead).

    .venv/bin/python bench/conn_memory.py --viewers 500
    .venv/bin/python bench/conn_memory.py --viewers 500 --compression none
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import linecache
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout  # (same directory)


def serve(port: int, out_dir: str) -> None:
    """The server process: uvicorn in-process, a tracemalloc snapshot on SIGUSR1."""
    tracemalloc.start(12)
    count = 0

    def snap(*_: object) -> None:
        nonlocal count
        count += 1
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        path = Path(out_dir) / f"snap-{count}.pickle"
        with path.open("wb") as fh:
            pickle.dump(snapshot, fh)
        import gc

        tasks = len(asyncio.all_tasks(asyncio.get_event_loop()))
        (Path(out_dir) / f"snap-{count}.done").write_text(f"{len(gc.get_objects())} {tasks}")

    signal.signal(signal.SIGUSR1, snap)
    import uvicorn

    uvicorn.run("server.asgi:app", host="127.0.0.1", port=port, log_level="warning", backlog=4096)


async def wait_snapshot(out_dir: Path, k: int, pid: int) -> tracemalloc.Snapshot:
    os.kill(pid, signal.SIGUSR1)
    done = out_dir / f"snap-{k}.done"
    deadline = time.monotonic() + 300
    while not done.exists() and time.monotonic() < deadline:  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.2)
    objects, tasks = (int(x) for x in done.read_text().split())
    COUNTS.append((objects, tasks))
    with (out_dir / f"snap-{k}.pickle").open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 (written by our own server process)


COUNTS: list[tuple[int, int]] = []


def short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def app_frame(tb: tracemalloc.Traceback) -> str:
    """The innermost frame that belongs to Guichet, else the allocation site itself."""
    for frame in reversed(tb):  # tracemalloc stores the most recent call last
        if "/server/" in frame.filename and "site-packages" not in frame.filename:
            line = linecache.getline(frame.filename, frame.lineno).strip()
            return f"{short(frame.filename)}:{frame.lineno} {line[:60]}"
    return "(outside Guichet)"


async def run(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    world = await fanout.build_world(seed=11)
    port = fanout.free_port()
    out_dir = tmp / "snaps"
    out_dir.mkdir()
    log_path = tmp / "server.log"
    script = str(Path(__file__).resolve())  # noqa: ASYNC240 (no I/O)
    cmd = [fanout.PYTHON, script, "_serve", str(port), str(out_dir)]
    proc = fanout.spawn(fanout.pinned(cmd, args.server_cpu), env, log_path)
    fleet = fanout.Fleet()
    try:
        await fanout.wait_http(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 60, proc)
        import httpx

        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base, timeout=60, cookies={"guichet_session": world.mover.token}
        ) as http:
            (await http.get("/board")).raise_for_status()
        # A few viewers first, so one-time costs (templates, caches) are not counted.
        warm = fanout.Fleet()
        await warm.connect_all(
            [f"ws://127.0.0.1:{port}/ws?view=board"] * 40,
            [
                {"Origin": base, "Cookie": f"guichet_session={v.token}"}
                for v in world.viewers[:37] + world.viewers[:3]
            ],
            fanout.SNAPSHOT_MARK,
            40,
            args.compression,
            time.monotonic() + 300,
        )
        await warm.close_all()
        await asyncio.sleep(2)
        rss0 = fanout.rss_kb(proc.pid)
        before = await wait_snapshot(out_dir, 1, proc.pid)
        n = args.viewers
        viewers = [world.viewers[i % len(world.viewers)] for i in range(n)]
        fanout.log(f"connecting {n} viewers (tracemalloc makes this slow)")
        await fleet.connect_all(
            [f"ws://127.0.0.1:{port}/ws?view=board"] * n,
            [{"Origin": base, "Cookie": f"guichet_session={v.token}"} for v in viewers],
            fanout.SNAPSHOT_MARK,
            args.batch,
            args.compression,
            time.monotonic() + 1800,
        )
        await asyncio.sleep(3)
        rss1 = fanout.rss_kb(proc.pid)
        after = await wait_snapshot(out_dir, 2, proc.pid)
    finally:
        await fleet.close_all()
        fanout.stop(proc)

    traced = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(f"{n} idle board viewers, {args.compression} compression")
    print(
        f"RSS growth {(rss1 - rss0) / n:.1f} KB/conn (tracemalloc itself inflates RSS); "
        f"Python allocations traced {traced / n / 1024:.1f} KB/conn"
    )
    (o0, t0), (o1, t1) = COUNTS[-2:]
    print(
        f"Objects tracked by the GC: {(o1 - o0) / n:.0f} per connection "
        f"({o1:,} in all: what every full collection walks); asyncio tasks: "
        f"{(t1 - t0) / n:.1f} per connection"
    )
    print("\nTop allocation sites, bytes per connection:")
    for stat in after.compare_to(before, "lineno")[: args.top]:
        frame = stat.traceback[0]
        print(
            f"  {stat.size_diff / n:8.0f} B  {stat.count_diff / n:6.1f} blocks  "
            f"{short(frame.filename)}:{frame.lineno}"
        )
    print("\nBy file, bytes per connection:")
    for stat in after.compare_to(before, "filename")[: args.top]:
        print(f"  {stat.size_diff / n:8.0f} B  {short(stat.traceback[0].filename)}")
    print("\nBy the Guichet line that led to the allocation, bytes per connection:")
    groups: dict[str, int] = {}
    for stat in after.compare_to(before, "traceback"):
        key = app_frame(stat.traceback)
        groups[key] = groups.get(key, 0) + stat.size_diff
    for key, size in sorted(groups.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {size / n:8.0f} B  {key}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["_serve"]:
        serve(int(argv[1]), argv[2])
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--viewers", type=int, default=500)
    p.add_argument("--compression", choices=("deflate", "none"), default="deflate")
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--server-cpu", type=int, default=0)
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="guichet-memory-"))
    env = {
        **os.environ,
        "GUICHET_VAR_DIR": str(tmp),
        "GUICHET_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "GUICHET_SECRET_KEY": "bench",
        "GUICHET_ARGON2_TIME_COST": "1",
        "GUICHET_ARGON2_MEMORY_KIB": "8192",
        "PYTHONPATH": str(fanout.REPO),
    }
    env.pop("GUICHET_SECURE_COOKIES", None)
    env.pop("GUICHET_BASE_URL", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("GUICHET_")})
    sys.path.insert(0, str(fanout.REPO))
    signal.signal(signal.SIGTERM, fanout.interrupt)
    try:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {1})
        fanout.raise_fd_limit()
        subprocess.run(  # noqa: S603 (our own interpreter)
            [fanout.PYTHON, "-m", "server.cli", "migrate"],
            env=env,
            cwd=fanout.REPO,
            check=True,
            capture_output=True,
            timeout=300,
        )
        fanout.run_loop(run(args, tmp, env))
        return 0
    except (KeyboardInterrupt, asyncio.CancelledError):
        import traceback

        traceback.print_exc()
        return 130
    finally:
        for proc in list(fanout.CHILDREN):
            fanout.stop(proc, timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
