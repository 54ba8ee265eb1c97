"""A real IMAP server for the tests: Debian's dovecot-imapd on loopback, with its own
configuration, run directory, maildir and users under a temporary directory.

Dovecot is started by root (it drops to its own ``dovecot``/``dovenull`` users and to
``nobody`` for the mailbox) in the foreground, so the process group it heads is ours to stop.
Plain-text login without TLS is allowed: it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = "/usr/sbin/dovecot"
USER = "desk"
PASSWORD = "imap-test-password"

_CONFIG = """\
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{tmp}/mail/%n/Maildir
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={tmp}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the IMAP tests start dovecot, which needs root")
        if not Path(DOVECOT).exists():
            raise RuntimeError("dovecot-imapd is missing: run `make system-deps`")
        self.tmp = Path(tempfile.mkdtemp(prefix="guichet-dovecot-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The mailbox belongs to an unprivileged user, who must be able to reach it.
        owner = pwd.getpwnam("nobody")
        self.tmp.chmod(0o755)
        mail = self.tmp / "mail"
        mail.mkdir()
        os.chown(mail, owner.pw_uid, owner.pw_gid)
        (self.tmp / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        config = self.tmp / "dovecot.conf"
        config.write_text(
            _CONFIG.format(tmp=self.tmp, port=self.port, uid=owner.pw_uid, gid=owner.pw_gid)
        )
        # -F: stay in the foreground; a session of its own, so teardown stops its children.
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self._errors()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not greet within 30 s: {self._errors()}")

    def _errors(self) -> str:
        log = self.tmp / "dovecot.log"
        text = log.read_text() if log.exists() else ""
        if self.process is not None and self.process.poll() is not None and self.process.stderr:
            text += self.process.stderr.read().decode(errors="replace")
        return text

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            # Children (login, auth, imap processes) left by a master that died.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            if self.process.stderr:
                self.process.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the outside world's side: deliver and look ------------------------------------------

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        client.select_folder("INBOX")
        return client

    def deliver(self, raw: bytes) -> None:
        """As the mail server would: APPEND an unseen mail."""
        with self.client() as client:
            client.append("INBOX", raw, flags=())

    def flags(self) -> list[set[bytes]]:
        with self.client() as client:
            uids = client.search(["ALL"])
            found = client.fetch(uids, ["FLAGS"]) if uids else {}
        return [set(found[uid][b"FLAGS"]) for uid in sorted(found)]

    def mark_all_unseen(self) -> None:
        with self.client() as client:
            uids = client.search(["ALL"])
            client.remove_flags(uids, [b"\\Seen"])
