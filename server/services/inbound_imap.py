"""The IMAP poller: reads a mailbox and hands each mail to ``services.inbound``.

Hospital mail servers rarely forward to an SMTP port, but they all give a mailbox. The poller
logs into it (``GUICHET_IMAP_*``), processes every unseen mail, then waits in IDLE when the
server offers it (a new mail wakes it at once) or for ``imap_poll_seconds`` otherwise. It is
started by the app's lifespan when ``GUICHET_IMAP_HOST`` is set, or alone with
``guichet imap``.

Each mail is processed exactly once: ``inbound.receive`` records its Message-ID in the same
transaction as what it creates, and the mail is marked \\Seen only after that. A failure
leaves it unseen for the next pass; a crash between the record and the flag, or a second
instance reading the same mailbox, finds the record and creates nothing again. The mailbox
must therefore be Guichet's own: a person reading it in a mail client would mark mails seen.

imapclient is blocking, so the IMAP conversation runs in a thread, and each mail is handed to
the application's event loop (database pool, live bus) and waited for.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from imapclient import IMAPClient
from imapclient.imapclient import FLAGGED, SEEN

from server.services import inbound
from server.services.inbound_smtp import Publish
from server.settings import Settings

log = logging.getLogger("guichet.inbound")

# Seconds: socket timeout, how often IDLE looks whether it should stop, how long stopping may
# wait for the mail in progress.
SOCKET_SECONDS = 30.0
IDLE_CHECK_SECONDS = 1.0
STOP_SECONDS = 30.0
MAX_RETRY_SECONDS = 300.0


def envelope_sender(raw: bytes) -> str:
    """The envelope sender the delivering server wrote as Return-Path (``<>`` for bounces);
    without one, the From address (the only sender we know)."""
    headers = BytesHeaderParser().parsebytes(raw)
    return_path = headers.get("Return-Path")
    if return_path is not None:
        return str(return_path).strip()
    return parseaddr(str(headers.get("From", "")))[1]


def check_mailbox(settings: Settings) -> None:
    """Log in and open the folder (``guichet check``); raises what went wrong."""
    poller = ImapPoller(settings, _no_publish)
    with poller._connect() as client:
        poller._login(client)


async def _no_publish(events: list) -> None:
    return None


class ImapPoller:
    def __init__(self, settings: Settings, publish: Publish) -> None:
        self.settings = settings
        self.publish = publish
        self._stopping = threading.Event()
        # Set while the poller waits in IDLE (tests wait for it before delivering a mail).
        self.idling = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="guichet-imap", daemon=True)
        self._thread.start()
        mail = self.settings.mail
        log.info("Reading mail from %s@%s:%s/%s", mail.imap_user, mail.imap_host,
                 mail.imap_port, mail.imap_folder)

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        await asyncio.to_thread(self._thread.join, STOP_SECONDS)
        self._thread = None

    # -- in the thread --------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                with self._connect() as client:
                    self._login(client)
                    while not self._stopping.is_set():
                        self._pass(client)
                        failures = 0
                        self._wait(client)
            except Exception as exc:
                failures += 1
                log.warning("IMAP mailbox unreachable (%s: %s)", type(exc).__name__, exc)
            finally:
                self.idling.clear()
            # Retry later, less and less often, while the server is away.
            if not self._stopping.is_set():
                self._stopping.wait(min(2.0**failures, MAX_RETRY_SECONDS))

    def _connect(self) -> IMAPClient:
        mail = self.settings.mail
        return IMAPClient(
            mail.imap_host,
            port=mail.imap_port,
            ssl=mail.imap_tls,
            ssl_context=ssl.create_default_context() if mail.imap_tls else None,
            timeout=SOCKET_SECONDS,
        )

    def _login(self, client: IMAPClient) -> None:
        mail = self.settings.mail
        client.login(mail.imap_user, mail.imap_password)
        client.select_folder(mail.imap_folder)

    def _pass(self, client: IMAPClient) -> None:
        """Every unseen mail, oldest first (a ticket before the reply to it)."""
        uids = sorted(client.search(["UNSEEN"]))
        if not uids:
            return
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        for uid in uids:
            if self._stopping.is_set():
                return
            size = sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
            if size > self.settings.mail.inbound_max_bytes:
                # Left in the mailbox, flagged, for a person to look at.
                log.warning("IMAP mail %s too large (%s bytes): left flagged", uid, size)
                client.add_flags([uid], [SEEN, FLAGGED])
                continue
            # PEEK: reading does not mark it seen; only a recorded mail is.
            raw = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]")
            if raw is None:
                continue  # expunged meanwhile
            if self._process(raw):
                client.add_flags([uid], [SEEN])

    def _process(self, raw: bytes) -> bool:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._receive(raw), self._loop)
        try:
            future.result()
        except Exception:
            log.exception("IMAP mail could not be processed; it stays unseen for a later pass")
            return False
        return True

    async def _receive(self, raw: bytes) -> None:
        outcome = await inbound.receive(raw, envelope_sender(raw), [], self.settings)
        log.info("IMAP mail: %s %s", outcome.kind, outcome.reason)
        if outcome.events:
            await self.publish(outcome.events)

    def _wait(self, client: IMAPClient) -> None:
        """Until the mailbox changes (IDLE) or for the poll interval, or until stopped."""
        deadline = time.monotonic() + self.settings.mail.imap_poll_seconds
        if b"IDLE" not in client.capabilities():
            self._stopping.wait(self.settings.mail.imap_poll_seconds)
            return
        client.idle()
        self.idling.set()
        try:
            while not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if client.idle_check(timeout=min(IDLE_CHECK_SECONDS, remaining)):
                    break
        finally:
            self.idling.clear()
            client.idle_done()
