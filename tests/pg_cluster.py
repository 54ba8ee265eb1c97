"""A throwaway PostgreSQL cluster for tests that restart the database or share it between
processes: Debian's server binaries, a free loopback port, a temporary folder."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PgCluster:
    """initdb + pg_ctl on a free loopback port, in a temporary folder."""

    def __init__(self) -> None:
        self.bindir = Path(
            subprocess.run(
                ["pg_config", "--bindir"], check=True, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        )
        self.dir = Path(tempfile.mkdtemp(prefix="guichet-bus-pg-"))
        self.dir.chmod(0o755)  # the postgres user must reach the data dir and the socket
        # initdb refuses to run as root: root runs the server tools as postgres.
        self.as_pg: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 30) -> None:
        # cwd: the postgres user may not be allowed into ours.
        subprocess.run(
            [*self.as_pg, str(self.bindir / tool), *args],
            check=True,
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            timeout=timeout,
        )

    def init(self) -> None:
        self._run(
            "initdb",
            *("-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust"),
            *("-E", "UTF8", "--locale=C.UTF-8", "--no-sync"),
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
                      "-w", "start", "-o", options)  # fmt: skip
        except subprocess.CalledProcessError:
            print((self.dir / "log").read_text(errors="replace"))
            raise

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[PgCluster]:
    assert shutil.which("pg_config"), "PostgreSQL is needed: apt-get install postgresql"
    cluster = PgCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def create_database(cluster: PgCluster, name: str) -> str:
    subprocess.run(
        [
            str(cluster.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            "-q",
            "-c",
            f'CREATE DATABASE "{name}"',
        ],
        check=True,
        timeout=30,
    )
    return f"postgresql://postgres@127.0.0.1:{cluster.port}/{name}"
