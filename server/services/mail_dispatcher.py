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
systems drop the duplicate. Sent rows are stamped STAMP_EVERY at a time (and at the end of a
batch), in one commit: a stamp per mail was two more commits per ticket created, each holding
SQLite's single write lock through its fsync; the window is at most that many mails.

A claim is a lease renewed while its dispatcher works (a heartbeat every third of the lease),
so a long batch keeps its rows, and the rows of a dispatcher that was killed are taken over
once its lease runs out (``mail.claim_seconds``, a minute by default) rather than minutes
later.

When the relay cannot be reached the waiting mails back off (one minute, doubling up to an
hour), but the relay itself is probed cheaply (connect, EHLO, NOOP) every
``mail.probe_seconds`` while such mails wait: the first answer makes them all due at once, so
mail leaves within seconds of the relay coming back, whatever the length of the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email import policy as email_policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
import anyio.to_thread
import httpx

from server.db.engine import engine, write_transaction
from server.db.mail_tables import AccountMail
from server.db.prepared import SAMPLE_MOMENT, PreparedIn
from server.db.tables import Outbox
from server.db.webhook_tables import WebhookDelivery
from server.domain.notifications import Kind
from server.domain.reply_address import reply_address
from server.domain.vocabulary import Status
from server.observability import inflight
from server.services import webhooks
from server.services.background import BackgroundLoop
from server.services.mail_render import Change, MailFacts, render
from server.settings import MailSettings, Settings

log = logging.getLogger("guichet.mail")

Send = Callable[[Message], Awaitable[None]]

# ``last_error`` of the mails postponed because the relay could not be reached (rather than
# refused by it): those are the ones a successful probe makes due again.
RELAY_DOWN = "relay unreachable: "

# The queues a dispatcher drains: account mails (links someone is waiting for) first, then
# ticket notifications. Both have the same claim, backoff and stamp columns.
Queue = type[Outbox] | type[AccountMail] | type[WebhookDelivery]
QUEUES: tuple[Queue, ...] = (AccountMail, Outbox)
# Outbound webhook deliveries share the claims, leases and backoff (server.services.webhooks).
# Each mail waits for a moment without requests in progress, this long at most: a saturated
# server still sends ten a second, and every mail at once when its requests pause.
LULL_SECONDS = 0.1


def _sql(template: str, table: Queue) -> str:
    # A table name of this module, never input; Piccolo fills the {} with the arguments.
    return template.replace("{table}", table._meta.tablename)


# What the notification mails of a claimed batch say, read in one statement per batch
# (compiled once per batch size: building this seven-join select in Piccolo cost more than
# running it).
_OUTBOX_FACTS = PreparedIn(
    lambda row_ids: Outbox.select(
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
    ).where(Outbox.id.is_in(row_ids))
)


def _sent_stamp(table: Queue) -> PreparedIn:
    """Stamp rows sent, those whose lease this dispatcher still holds, in one statement."""

    def build(now: datetime, name: str, row_ids: list[int]) -> Any:
        values: dict[Any, Any] = {
            table.sent_at: now,
            table.claimed_by: None,
            table.claimed_until: None,
            table.last_error: "",
        }
        if table is AccountMail:
            # The link it carried is single-use: no copy stays behind once it left.
            values[AccountMail.message] = ""
        return table.update(values).where(table.id.is_in(row_ids) & (table.claimed_by == name))

    return PreparedIn(build, leading=(SAMPLE_MOMENT, "sample-name"))


_SENT = {table: _sent_stamp(table) for table in (*QUEUES, WebhookDelivery)}
STAMP_EVERY = 5  # sent mails stamped in one commit (see the module's docstring)


_RENEW_POSTGRES = """
UPDATE {table} SET claimed_until = now() + make_interval(secs => {})
WHERE claimed_by = {} AND sent_at IS NULL
"""

_CLAIM_POSTGRES = """
UPDATE {table} SET claimed_by = {}, claimed_until = now() + make_interval(secs => {})
WHERE id IN (
    SELECT id FROM {table}
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
UPDATE {table} SET claimed_by = {}, claimed_until = {}
WHERE id IN (
    SELECT id FROM {table}
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

    async def probe(self) -> None:
        """Raise OSError or SMTPException unless the relay answers."""
        ...


class SmtpTransport:
    """Any SMTP relay; TLS (implicit on port 465, STARTTLS otherwise) and login if set."""

    def __init__(self, mail: MailSettings, timeout: float = 30) -> None:
        self.mail = mail
        self.timeout = timeout

    def _client(self) -> aiosmtplib.SMTP:
        implicit_tls = self.mail.smtp_tls and self.mail.smtp_port == 465
        return aiosmtplib.SMTP(
            hostname=self.mail.smtp_host,
            port=self.mail.smtp_port,
            username=self.mail.smtp_user or None,
            password=self.mail.smtp_password or None,
            timeout=self.timeout,
            use_tls=implicit_tls,
            start_tls=self.mail.smtp_tls and not implicit_tls,
        )

    async def probe(self) -> None:
        client = self._client()
        await client.connect()
        try:
            await client.ehlo()
            await client.noop()
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Send]:
        client = self._client()
        await client.connect()
        try:

            async def send(message: Message) -> None:
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

    def _write(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{_now():%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(message.as_bytes())
        # Readers never see half a file.
        partial.replace(self.directory / name)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Send]:
        async def send(message: Message) -> None:
            await anyio.to_thread.run_sync(self._write, message)

        yield send

    async def probe(self) -> None:
        return None


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
        lease: timedelta | None = None,
        backoff: Backoff = Backoff(),
        lull_seconds: float = LULL_SECONDS,
    ) -> None:
        super().__init__()
        self.settings = settings
        # Unique per process: a lease names its holder.
        self.name = (name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")[:64]
        self.task_name = f"mail-dispatcher-{self.name}"
        self.transport = transport or transport_for(settings)
        self.batch_size = batch_size
        self.lease = lease or timedelta(seconds=settings.mail.claim_seconds)
        self.backoff = backoff
        self.lull_seconds = lull_seconds
        self.interval = settings.mail.poll_seconds
        self.probe_every = settings.mail.probe_seconds
        self._next_probe = 0.0

    # -- one pass --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim a batch of each queue, send it, stamp each row; return how many were sent."""
        sent = 0
        for table in QUEUES:
            claimed = sorted(await self._claim(table), key=lambda row: row["id"])
            if not claimed:
                continue
            heartbeat = _Heartbeat(self, table)
            async with heartbeat.running():
                sent += await self._send_batch(table, claimed, heartbeat)
        claimed = sorted(await self._claim(WebhookDelivery), key=lambda row: row["id"])
        if claimed:
            heartbeat = _Heartbeat(self, WebhookDelivery)
            async with heartbeat.running():
                sent += await self._deliver_webhooks(claimed, heartbeat)
        return sent

    async def _deliver_webhooks(self, claimed: list[dict[str, Any]], heartbeat: _Heartbeat) -> int:
        """One attempt per claimed delivery; a failure backs that delivery off alone."""
        delivered = 0
        pending = list(claimed)
        async with webhooks.client() as client:
            while pending and heartbeat.lease_safe():
                row = pending.pop(0)
                try:
                    await webhooks.deliver(client, row["id"])
                except (httpx.HTTPError, webhooks.ReceiverRefused, OSError) as exc:
                    log.info("Webhook delivery %s failed (%s)", row["id"], exc)
                    await self._failed(WebhookDelivery, row["id"], row["attempts"], exc)
                    continue
                await self._sent(WebhookDelivery, row["id"])
                delivered += 1
        if pending:
            await self._release(WebhookDelivery, [row["id"] for row in pending])
        return delivered

    async def _send_batch(
        self, table: Queue, claimed: list[dict[str, Any]], heartbeat: _Heartbeat
    ) -> int:
        attempts = {row["id"]: row["attempts"] for row in claimed}
        pending = await self._groups(table, [row["id"] for row in claimed])
        # What each notification says, read once for the batch.
        facts = await self._facts(list(attempts)) if table is Outbox else {}
        sent = 0
        unstamped: list[int] = []  # accepted by the server, not yet stamped sent
        try:
            async with self.transport.session() as send:
                # Stop sending well before the lease could lapse (the heartbeat failing, the
                # database away), so no other dispatcher takes a row this one is sending.
                while pending and heartbeat.lease_safe():
                    group = pending[0]
                    # Requests first: a mail can leave a moment later (see inflight).
                    await inflight.lull(self.lull_seconds)
                    try:
                        message = await self._message_of(table, group, facts)
                    except Exception as exc:
                        log.exception("Mail %s could not be rendered", group)
                        await self._failed_all(table, group, attempts, exc)
                        pending.pop(0)
                        continue
                    try:
                        await send(message)
                    except OSError:
                        raise  # the connection is gone: this row and the rest fail below
                    except aiosmtplib.SMTPException as exc:
                        if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
                            raise
                        # This message was refused; the next ones may go through.
                        await self._failed_all(table, group, attempts, exc)
                        pending.pop(0)
                        continue
                    unstamped += group
                    pending.pop(0)
                    sent += len(group)
                    if len(unstamped) >= STAMP_EVERY:
                        await self._stamp_sent(table, unstamped)
                        unstamped = []
        except (OSError, aiosmtplib.SMTPException) as exc:
            await self._stamp_sent(table, unstamped)
            unstamped = []
            postponed = [row_id for group in pending for row_id in group]
            log.warning("Mail server unavailable (%s): %d mail(s) postponed", exc, len(postponed))
            await self._failed_all(table, postponed, attempts, exc, relay_down=True)
            pending = []
        await self._stamp_sent(table, unstamped)
        if pending:
            await self._release(table, [row_id for group in pending for row_id in group])
        return sent

    async def _groups(self, table: Queue, row_ids: list[int]) -> list[list[int]]:
        """The claimed rows as mails to send: the notifications of one person about one ticket
        that are due together form one digest mail; every other row is a mail of its own."""
        if table is not Outbox or len(row_ids) < 2 or self.settings.mail.digest_seconds <= 0:
            return [[row_id] for row_id in row_ids]
        rows = await Outbox.select(Outbox.id, Outbox.ticket, Outbox.recipient).where(
            Outbox.id.is_in(row_ids)
        )
        groups: dict[tuple[int, int], list[int]] = {}
        for row in sorted(rows, key=lambda r: r["id"]):
            groups.setdefault((row["ticket"], row["recipient"]), []).append(row["id"])
        return sorted(groups.values(), key=lambda group: group[0])

    async def _failed_all(
        self,
        table: Queue,
        row_ids: list[int],
        attempts: dict[int, int],
        exc: BaseException,
        *,
        relay_down: bool = False,
    ) -> None:
        for row_id in row_ids:
            await self._failed(table, row_id, attempts[row_id], exc, relay_down=relay_down)

    async def renew(self, table: Queue = Outbox) -> None:
        """The heartbeat: push back the lease of every row this dispatcher still holds."""
        if engine().engine_type == "postgres":
            await table.raw(_sql(_RENEW_POSTGRES, table), self.lease.total_seconds(), self.name)
            return
        await table.update({table.claimed_until: _now() + self.lease}).where(
            (table.claimed_by == self.name) & table.sent_at.is_null()
        )

    # -- the relay came back ---------------------------------------------------------------

    async def probe_if_waiting(self) -> int:
        """Every ``probe_seconds`` while mails wait for an unreachable relay: probe it, and on
        the first answer make them due now with a fresh backoff. Return how many."""
        if time.monotonic() < self._next_probe:
            return 0
        self._next_probe = time.monotonic() + self.probe_every
        now = _now()

        def waiting(table: Queue) -> Any:
            return (
                table.sent_at.is_null()
                & table.last_error.like(f"{RELAY_DOWN}%")
                & (table.next_attempt_at > now)
            )

        if not any([await table.exists().where(waiting(table)) for table in QUEUES]):
            return 0
        try:
            await self.transport.probe()
        except (OSError, aiosmtplib.SMTPException):
            return 0
        due = 0
        for table in QUEUES:
            rows = (
                await table.update({table.next_attempt_at: now, table.attempts: 0})
                .where(waiting(table))
                .returning(table.id)
            )
            due += len(rows)
        if due:
            log.info("Mail server answers again: %d waiting mail(s) due now", due)
        return due

    async def _claim(self, table: Queue = Outbox) -> list[dict[str, Any]]:
        if engine().engine_type == "postgres":
            sql = _CLAIM_POSTGRES
            args: tuple[Any, ...] = (self.name, self.lease.total_seconds(), self.batch_size)
        else:
            now = _now()
            sql = _CLAIM_SQLITE
            args = (self.name, now + self.lease, now, now, self.batch_size)
        async with write_transaction():
            return await table.raw(_sql(sql, table), *args)

    def _mine(self, table: Queue, row_id: int) -> Any:
        # Every stamp checks the lease is still ours.
        return (table.id == row_id) & (table.claimed_by == self.name)

    async def _sent(self, table: Queue, row_id: int) -> None:
        await _SENT[table].rows(_now(), self.name, [row_id])

    async def _stamp_sent(self, table: Queue, row_ids: list[int]) -> None:
        if not row_ids:
            return
        async with write_transaction():
            await _SENT[table].rows(_now(), self.name, row_ids)

    async def _failed(
        self,
        table: Queue,
        row_id: int,
        attempts: int,
        exc: BaseException,
        *,
        relay_down: bool = False,
    ) -> None:
        prefix = RELAY_DOWN if relay_down else ""
        await table.update(
            {
                table.attempts: attempts + 1,
                table.next_attempt_at: _now() + self.backoff.delay(attempts + 1),
                table.last_error: f"{prefix}{type(exc).__name__}: {exc}"[:1000],
                table.claimed_by: None,
                table.claimed_until: None,
            }
        ).where(self._mine(table, row_id))

    async def _release(self, table: Queue, row_ids: list[int]) -> None:
        await table.update({table.claimed_by: None, table.claimed_until: None}).where(
            table.id.is_in(row_ids) & (table.claimed_by == self.name)
        )

    async def _message_of(
        self, table: Queue, group: list[int], facts: dict[int, MailFacts | Exception]
    ) -> Message:
        if table is Outbox:
            return self._message(group, facts)
        row_id = group[0]
        row = await AccountMail.select(AccountMail.message).where(AccountMail.id == row_id).first()
        if row is None or not row["message"]:
            raise LookupError(f"account mail {row_id} vanished")
        # Composed when it was asked for: same Message-ID on every attempt.
        message = message_from_string(row["message"], policy=email_policy.default)
        assert isinstance(message, EmailMessage)
        return message

    def _message(self, group: list[int], known: dict[int, MailFacts | Exception]) -> Message:
        """One mail for the group's rows (oldest first): the newest change is the mail's own,
        the earlier ones are listed in it. Its Message-ID is the first row's."""
        facts: list[MailFacts] = []
        for row_id in group:
            found = known.get(row_id)
            if found is None:
                raise LookupError(f"outbox row {row_id} vanished")
            if isinstance(found, Exception):
                raise found
            facts.append(found)
        main = facts[-1]
        if len(facts) > 1:
            earlier = tuple(
                Change(f.kind, f.actor_name, f.created_at, f.private, f.details)
                for f in facts[:-1]
            )
            main = replace(main, outbox_id=facts[0].outbox_id, earlier=earlier)
        return render(main, base_url=self.settings.base_url, sender=self.settings.mail.sender)

    async def _facts(self, row_ids: list[int]) -> dict[int, MailFacts | Exception]:
        """Each row's facts, or why they could not be read (that row alone then fails)."""
        facts: dict[int, MailFacts | Exception] = {}
        for row in await _OUTBOX_FACTS.rows(row_ids):
            try:
                facts[row["id"]] = self._facts_of(row)
            except (ValueError, KeyError) as exc:  # a kind or status this version lacks
                facts[row["id"]] = exc
        return facts

    def _facts_of(self, row: dict[str, Any]) -> MailFacts:
        kind = Kind(row["kind"])
        details = ""
        if self.settings.mail.include_details:
            if kind is Kind.FOLLOW_UP:
                details = row["follow_up.text"] or ""
            elif kind is Kind.CREATED:
                details = row["ticket.description"]
        return MailFacts(
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

    def _reply_to(self, ticket_id: int, user_id: int) -> str:
        """A signed address per (ticket, recipient), when replies by mail are received."""
        mail = self.settings.mail
        if not mail.receives_mail:
            return ""
        return reply_address(mail.reply_secret, mail.sender, ticket_id, user_id)

    # -- background loop (server.services.background) ------------------------------------

    async def run_pass(self) -> bool:
        await self.probe_if_waiting()
        # A full batch: more may be waiting, so go again at once.
        return await self.run_once() >= self.batch_size


class _Heartbeat:
    """Renews a dispatcher's lease every third of it while a batch is being sent, and tells
    whether the lease is still safely ours (renewed less than 80% of a lease ago)."""

    def __init__(self, dispatcher: MailDispatcher, table: Queue) -> None:
        self.dispatcher = dispatcher
        self.table = table
        self.lease_seconds = dispatcher.lease.total_seconds()
        self.renewed_at = time.monotonic()  # the claim itself set the lease

    def lease_safe(self) -> bool:
        return time.monotonic() < self.renewed_at + self.lease_seconds * 0.8

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            started = time.monotonic()
            try:
                await self.dispatcher.renew(self.table)
            except Exception as exc:  # the database may be away: lease_safe() says stop
                log.warning("Mail claims not renewed (%s: %s)", type(exc).__name__, exc)
                continue
            self.renewed_at = started

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._beat(), name=f"{self.dispatcher.task_name}-heartbeat")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass(frozen=True, slots=True)
class Backlog:
    """Mails not sent yet: how many, since when, and why the oldest is late."""

    waiting: int
    since: datetime | None
    last_error: str

    @property
    def relay_down(self) -> bool:
        return self.last_error.startswith(RELAY_DOWN)


async def backlog() -> Backlog:
    """Over both queues: notifications and account mails."""
    waiting, oldest = 0, None
    for table in QUEUES:
        unsent = table.sent_at.is_null()
        waiting += await table.count().where(unsent)
        first = (
            await table.select(table.created_at, table.last_error)
            .where(unsent)
            .order_by(table.created_at)
            .first()
        )
        if first is not None and (oldest is None or first["created_at"] < oldest["created_at"]):
            oldest = first
    if oldest is None:
        return Backlog(0, None, "")
    return Backlog(waiting, oldest["created_at"], oldest["last_error"])
