"""Debian's nginx in front of test instances, with the repository's proxy settings
(deploy/guichet-proxy.conf): its own prefix, configuration, pid, logs and temporary folders,
on a loopback ephemeral port, stopped after."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.redis_server import free_port

REPO = Path(__file__).resolve().parent.parent
PROXY_LOCATIONS = REPO / "deploy" / "guichet-proxy.conf"

CONFIG = """
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
{user}
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$request $status upstream=$upstream_addr';
    access_log {folder}/access.log upstream;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      '';
    }}
    upstream guichet {{
{servers}
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {locations};
    }}
}}
"""


class Nginx:
    """``upstreams``: nginx ``server`` lines, e.g. ``127.0.0.1:8001 backup``."""

    def __init__(self, folder: Path, upstreams: list[str], port: int = 0) -> None:
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        assert os.path.exists(self.binary), "apt-get install nginx (make system-deps)"
        self.folder = folder
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        # As root, workers would switch to "nobody", who cannot enter the test's folders.
        user = "user root;" if os.geteuid() == 0 else ""
        servers = "\n".join(f"        server {line};" for line in upstreams)
        (folder / "nginx.conf").write_text(
            CONFIG.format(folder=folder, user=user, servers=servers, port=self.port,
                          locations=PROXY_LOCATIONS)
        )  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def access_log(self) -> str:
        path = self.folder / "access.log"
        return path.read_text() if path.exists() else ""

    def start(self) -> None:
        conf = self.folder / "nginx.conf"
        command = [self.binary, "-p", str(self.folder), "-c", str(conf), "-e",
                   str(self.folder / "error.log")]  # fmt: skip
        subprocess.run([*command, "-t", "-q"], check=True, capture_output=True, timeout=30)
        self.process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            assert self.process.poll() is None, (self.folder / "error.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # fast shutdown, workers included
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.process = None


@contextmanager
def nginx_proxy(folder: Path, upstreams: list[str], port: int = 0) -> Iterator[Nginx]:
    proxy = Nginx(folder, upstreams, port)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
