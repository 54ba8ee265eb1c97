"""Deliver the outbox: claim a batch, send each mail, stamp it sent; retry failures later.

Several instances may run a dispatcher on one database. A dispatcher claims rows with a lease
(``claimed_by`` until ``claimed_until``) in one statement: on PostgreSQL the rows are locked
with SKIP LOCKED so two claims never overlap; on SQLite writers are serialised, so the claim
is simply one IMMEDIATE write transaction. A row whose dispatcher died is claimed again once
its lease runs out.

Nothing is lost: a row stays until a server accepted it, and a failure only pushes
``next_attempt_at`` back (exponential backoff, capped). Nothing is sent twice, with one
window: a crash (or the database vanishing) between the server's acceptance and the stamp.
The lease then expires and the mail goes again, with the same Message-ID, which lets mail
systems drop the duplicate.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
import anyio.to_thread

from server.db.engine import engine, write_transaction
from server.db.tables import Outbox
from server.domain.notifications import Kind
from server.domain.reply_address import reply_address
from server.domain.vocabulary import Status
from server.services.background import BackgroundLoop
from server.services.mail_render import MailFacts, render
from server.settings import MailSettings, Settings

log = logging.getLogger("guichet.mail")

Send = Callable[[EmailMessage], Awaitable[None]]
# On shutdown, how long the batch in progress may take to finish before it is cancelled.

_CLAIM_POSTGRES = """
UPDATE outbox SET claimed_by = {}, claimed_until = now() + make_interval(secs => {})
WHERE id IN (
    SELECT id FROM outbox
    WHERE sent_at IS NULL AND next_attempt_at <= now()
      AND (claimed_until IS NULL OR claimed_until < now())
    ORDER BY id LIMIT {}
    FOR UPDATE SKIP LOCKED
)
RETURNING id, attempts
"""

# SQLite has no clock of its own worth using here (timestamps are stored as text by Piccolo's
# adapter), so "now" is a parameter written the same way.
_CLAIM_SQLITE = """
UPDATE outbox SET claimed_by = {}, claimed_until = {}
WHERE id IN (
    SELECT id FROM outbox
    WHERE sent_at IS NULL AND next_attempt_at <= {}
      AND (claimed_until IS NULL OR claimed_until < {})
    ORDER BY id LIMIT {}
)
RETURNING id, attempts
"""


def _now() -> datetime:
    return datetime.now(UTC)


class Transport(Protocol):
    def session(self) -> contextlib.AbstractAsyncContextManager[Send]:
        """One connection for a batch; yields the function that sends one message."""
        ...


class SmtpTransport:
    """Any SMTP relay; TLS (implicit on port 465, STARTTLS otherwise) and login if set."""

    def __init__(self, mail: MailSettings, timeout: float = 30) -> None:
        self.mail = mail
        self.timeout = timeout

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Send]:
        implicit_tls = self.mail.smtp_tls and self.mail.smtp_port == 465
        client = aiosmtplib.SMTP(
            hostname=self.mail.smtp_host,
            port=self.mail.smtp_port,
            username=self.mail.smtp_user or None,
            password=self.mail.smtp_password or None,
            timeout=self.timeout,
            use_tls=implicit_tls,
            start_tls=self.mail.smtp_tls and not implicit_tls,
        )
        await client.connect()
        try:

            async def send(message: EmailMessage) -> None:
                await client.send_message(message, sender=self.mail.sender)

            yield send
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


class FileTransport:
    """Development: each mail becomes an .eml file (read in the admin pages)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _write(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{_now():%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(message.as_bytes())
        # Readers never see half a file.
        partial.replace(self.directory / name)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Send]:
        async def send(message: EmailMessage) -> None:
            await anyio.to_thread.run_sync(self._write, message)

        yield send


def transport_for(settings: Settings) -> Transport:
    if settings.mail.smtp_host:
        return SmtpTransport(settings.mail)
    return FileTransport(settings.var_dir / "mail")


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float = 60
    cap_seconds: float = 3600

    def delay(self, failures: int) -> timedelta:
        """Wait after the ``failures``-th failure in a row: base, 2x base, 4x base... capped."""
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2 ** (failures - 1)))


class MailDispatcher(BackgroundLoop):
    max_backoff = 30

    def __init__(
        self,
        settings: Settings,
        *,
        name: str = "",
        transport: Transport | None = None,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=5),
        backoff: Backoff = Backoff(),
    ) -> None:
        super().__init__()
        self.settings = settings
        # Unique per process: a lease names its holder.
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")[:64]
        self.task_name = f"mail-dispatcher-{self.name}"
        self.transport = transport or transport_for(settings)
        self.batch_size = batch_size
        self.lease = lease
        self.backoff = backoff
        self.interval = settings.mail.poll_seconds

    # -- one pass --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim a batch, send it, stamp each row; return how many mails were sent."""
        claimed = sorted(await self._claim(), key=lambda row: row["id"])
        if not claimed:
            return 0
        # Stop sending well before the lease ends, so no other dispatcher can take a row
        # this one is still sending.
        deadline = time.monotonic() + self.lease.total_seconds() * 0.8
        attempts = {row["id"]: row["attempts"] for row in claimed}
        pending = [row["id"] for row in claimed]
        sent = 0
        try:
            async with self.transport.session() as send:
                while pending and time.monotonic() < deadline:
                    row_id = pending[0]
                    try:
                        message = await self._message(row_id)
                    except Exception as exc:
                        log.exception("Mail %s could not be rendered", row_id)
                        await self._failed(row_id, attempts[row_id], exc)
                        pending.pop(0)
                        continue
                    try:
                        await send(message)
                    except OSError:
                        raise  # the connection is gone: this row and the rest fail below
                    except aiosmtplib.SMTPException as exc:
                        # This message was refused; the next ones may go through.
                        await self._failed(row_id, attempts[row_id], exc)
                        pending.pop(0)
                        continue
                    await self._sent(row_id)
                    pending.pop(0)
                    sent += 1
        except (OSError, aiosmtplib.SMTPException) as exc:
            log.warning("Mail server unavailable (%s): %d mail(s) postponed", exc, len(pending))
            for row_id in pending:
                await self._failed(row_id, attempts[row_id], exc)
            pending = []
        if pending:
            await self._release(pending)
        return sent

    async def _claim(self) -> list[dict[str, Any]]:
        if engine().engine_type == "postgres":
            sql = _CLAIM_POSTGRES
            args: tuple[Any, ...] = (self.name, self.lease.total_seconds(), self.batch_size)
        else:
            now = _now()
            sql = _CLAIM_SQLITE
            args = (self.name, now + self.lease, now, now, self.batch_size)
        async with write_transaction():
            return await Outbox.raw(sql, *args)

    def _mine(self, row_id: int) -> Any:
        # Every stamp checks the lease is still ours.
        return (Outbox.id == row_id) & (Outbox.claimed_by == self.name)

    async def _sent(self, row_id: int) -> None:
        await Outbox.update(
            {
                Outbox.sent_at: _now(),
                Outbox.claimed_by: None,
                Outbox.claimed_until: None,
                Outbox.last_error: "",
            }
        ).where(self._mine(row_id))

    async def _failed(self, row_id: int, attempts: int, exc: BaseException) -> None:
        await Outbox.update(
            {
                Outbox.attempts: attempts + 1,
                Outbox.next_attempt_at: _now() + self.backoff.delay(attempts + 1),
                Outbox.last_error: f"{type(exc).__name__}: {exc}"[:1000],
                Outbox.claimed_by: None,
                Outbox.claimed_until: None,
            }
        ).where(self._mine(row_id))

    async def _release(self, row_ids: list[int]) -> None:
        await Outbox.update({Outbox.claimed_by: None, Outbox.claimed_until: None}).where(
            Outbox.id.is_in(row_ids) & (Outbox.claimed_by == self.name)
        )

    async def _message(self, row_id: int) -> EmailMessage:
        row = (
            await Outbox.select(
                Outbox.id,
                Outbox.kind,
                Outbox.ticket,
                Outbox.status,
                Outbox.created_at,
                Outbox.ticket.title,
                Outbox.ticket.description,
                Outbox.ticket.establishment.code,
                Outbox.recipient,
                Outbox.recipient.email,
                Outbox.recipient.full_name,
                Outbox.recipient.locale,
                Outbox.actor.full_name,
                Outbox.follow_up.text,
                Outbox.follow_up.private,
            )
            .where(Outbox.id == row_id)
            .first()
        )
        if row is None:
            raise LookupError(f"outbox row {row_id} vanished")
        kind = Kind(row["kind"])
        details = ""
        if self.settings.mail.include_details:
            if kind is Kind.FOLLOW_UP:
                details = row["follow_up.text"] or ""
            elif kind is Kind.CREATED:
                details = row["ticket.description"]
        facts = MailFacts(
            outbox_id=row["id"],
            kind=kind,
            ticket_id=row["ticket"],
            title=row["ticket.title"],
            status=Status(row["status"]),
            establishment_code=row["ticket.establishment.code"],
            to_address=row["recipient.email"],
            to_name=row["recipient.full_name"],
            locale=row["recipient.locale"] or self.settings.default_locale,
            actor_name=row["actor.full_name"] or "",
            created_at=row["created_at"],
            private=bool(row["follow_up.private"]),
            details=details,
            reply_to=self._reply_to(row["ticket"], row["recipient"]),
            auto_close_hours=round(self.settings.auto_close_hours),
        )
        return render(facts, base_url=self.settings.base_url, sender=self.settings.mail.sender)

    def _reply_to(self, ticket_id: int, user_id: int) -> str:
        """A signed address per (ticket, recipient), when replies by mail are received."""
        mail = self.settings.mail
        if not mail.inbound_port:
            return ""
        return reply_address(mail.reply_secret, mail.sender, ticket_id, user_id)

    # -- background loop (server.services.background) ------------------------------------

    async def run_pass(self) -> bool:
        # A full batch: more may be waiting, so go again at once.
        return await self.run_once() >= self.batch_size
