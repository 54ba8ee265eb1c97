"""Mail read by IMAP from a real dovecot on loopback: the same processing as the SMTP
receiver, each mail once (across restarts and with two pollers), none lost, IDLE honoured."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid

import anyio.to_thread
import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.notification_tables import InboundMessage
from server.db.tables import FollowUp, Ticket
from server.domain.events import TicketEvent
from server.domain.reply_address import reply_address
from server.services import inbound, preflight
from server.services.inbound_imap import ImapPoller, envelope_sender
from server.settings import MailSettings, Settings, get_settings
from tests import factories
from tests.imap_server import PASSWORD, USER, Dovecot

SENDER = "desk@guichet.test"
SECRET = "test-reply-secret"
SEEN = b"\\Seen"
WAIT_SECONDS = 30.0


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def settings_for(server: Dovecot, poll_seconds: float = 1.0) -> Settings:
    return replace(
        get_settings(),
        mail=MailSettings(
            sender=SENDER,
            reply_secret=SECRET,
            imap_host="127.0.0.1",
            imap_port=server.port,
            imap_user=USER,
            imap_password=PASSWORD,
            imap_tls=False,
            imap_poll_seconds=poll_seconds,
        ),
    )


class Pollers:
    def __init__(self, server: Dovecot) -> None:
        self.server = server
        self.running: list[ImapPoller] = []
        self.published: list[TicketEvent] = []

    async def start(self, poll_seconds: float = 1.0) -> ImapPoller:
        async def publish(events: list[TicketEvent]) -> None:
            self.published.extend(events)

        poller = ImapPoller(settings_for(self.server, poll_seconds), publish)
        await poller.start()
        self.running.append(poller)
        return poller

    async def stop(self) -> None:
        while self.running:
            await self.running.pop().stop()


@pytest.fixture
async def pollers(dovecot: Dovecot) -> AsyncIterator[Pollers]:
    running = Pollers(dovecot)
    try:
        yield running
    finally:
        await running.stop()


def mail(
    sender: str = "alice@chu-a.test",
    to: str = SENDER,
    subject: str = "Imprimante du secrétariat",
    body: str = "Elle ne répond plus depuis ce matin.",
    message_id: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["Return-Path"] = f"<{sender}>"
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="mail.chu-a.test")
    message.set_content(body)
    return message.as_bytes()


async def deliver(server: Dovecot, raw: bytes) -> None:
    await anyio.to_thread.run_sync(server.deliver, raw)


async def flags(server: Dovecot) -> list[set[bytes]]:
    return await anyio.to_thread.run_sync(server.flags)


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait for a condition, generously (a slow machine is not a failure)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        await asyncio.sleep(0.05)


async def all_seen(server: Dovecot, count: int) -> bool:
    found = await flags(server)
    return len(found) == count and all(SEEN in f for f in found)


async def test_a_mail_from_a_known_user_opens_a_ticket_then_is_seen(
    dovecot: Dovecot, pollers: Pollers
) -> None:
    w = await factories.world()
    await deliver(dovecot, mail(subject="TR: Imprimante du secrétariat"))
    await pollers.start()
    await until(lambda: all_seen(dovecot, 1))
    ticket = await Ticket.select().first()
    assert ticket is not None
    assert ticket["requester"] == w.requester_a.id
    assert ticket["title"] == "Imprimante du secrétariat"
    assert ticket["ticket_type"] == "unspecified"
    assert [e.kind for e in pollers.published] == ["ticket.created"]


async def test_a_reply_to_a_ticket_adds_a_follow_up(dovecot: Dovecot, pollers: Pollers) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    address = reply_address(SECRET, SENDER, ticket_id, w.requester_a.id)
    await deliver(dovecot, mail(to=address, subject=f"Re: [#{ticket_id}] Imprimante",
                                body="Toujours en panne."))
    await pollers.start()
    await until(lambda: all_seen(dovecot, 1))
    [follow_up] = await FollowUp.select().where(FollowUp.ticket == ticket_id)
    assert follow_up["text"] == "Toujours en panne."
    assert follow_up["author"] == w.requester_a.id
    assert await Ticket.count() == 1


async def test_the_same_mail_twice_read_by_two_pollers_creates_one_ticket(
    dovecot: Dovecot, pollers: Pollers
) -> None:
    await factories.world()
    raw = mail(message_id="<twice@mail.chu-a.test>")
    await pollers.start()
    await pollers.start()
    await deliver(dovecot, raw)
    await deliver(dovecot, raw)
    await deliver(dovecot, mail(subject="Écran noir"))
    await until(lambda: all_seen(dovecot, 3))
    titles = sorted(r["title"] for r in await Ticket.select(Ticket.title))
    assert titles == ["Imprimante du secrétariat", "Écran noir"]
    assert await InboundMessage.count() == 2


async def test_after_a_crash_before_the_seen_flag_a_restart_creates_nothing_again(
    dovecot: Dovecot, pollers: Pollers
) -> None:
    await factories.world()
    await deliver(dovecot, mail())
    await pollers.start()
    await until(lambda: all_seen(dovecot, 1))
    await pollers.stop()
    # As if the process had died after recording the mail but before flagging it.
    await anyio.to_thread.run_sync(dovecot.mark_all_unseen)
    assert not await all_seen(dovecot, 1)
    await pollers.start()
    await until(lambda: all_seen(dovecot, 1))
    assert await Ticket.count() == 1


async def test_a_mail_arriving_during_idle_is_processed_at_once(
    dovecot: Dovecot, pollers: Pollers
) -> None:
    await factories.world()
    # Without IDLE the next look would be an hour away.
    poller = await pollers.start(poll_seconds=3600)
    await anyio.to_thread.run_sync(poller.idling.wait, 30)
    assert poller.idling.is_set()
    await deliver(dovecot, mail(subject="Badge refusé"))
    await until(lambda: all_seen(dovecot, 1))
    assert [r["title"] for r in await Ticket.select(Ticket.title)] == ["Badge refusé"]


async def test_a_mail_that_fails_stays_unseen_until_a_later_pass_succeeds(
    dovecot: Dovecot, pollers: Pollers, monkeypatch: pytest.MonkeyPatch
) -> None:
    await factories.world()
    real_receive = inbound.receive
    state = {"failing": True, "attempts": 0}

    async def flaky(*args: object, **kwargs: object) -> inbound.Outcome:
        state["attempts"] += 1
        if state["failing"]:
            raise ConnectionError("database restarting")
        return await real_receive(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbound, "receive", flaky)
    await deliver(dovecot, mail())
    await pollers.start(poll_seconds=0.2)

    async def tried_twice() -> bool:
        return state["attempts"] >= 2

    await until(tried_twice)
    assert await flags(dovecot) == [set()]  # still unseen: not lost
    assert await Ticket.count() == 0
    state["failing"] = False
    await until(lambda: all_seen(dovecot, 1))
    assert await Ticket.count() == 1


def test_the_envelope_sender_comes_from_return_path() -> None:
    assert envelope_sender(b"Return-Path: <>\r\nFrom: a@b.test\r\n\r\n") == "<>"
    assert envelope_sender(b"From: Alice <a@b.test>\r\n\r\n") == "a@b.test"
    # Notifications carry a reply address when mail comes back by IMAP only.
    assert MailSettings(imap_host="imap.example.org").receives_mail
    assert not MailSettings().receives_mail


async def test_the_app_starts_the_poller(dovecot: Dovecot) -> None:
    await factories.world()
    app = create_app(settings_for(dovecot))
    async with AsyncTestClient(app=app, base_url="http://testserver.local"):
        await deliver(dovecot, mail(subject="Scanner hors ligne"))
        await until(lambda: all_seen(dovecot, 1))
    assert [r["title"] for r in await Ticket.select(Ticket.title)] == ["Scanner hors ligne"]


async def test_guichet_imap_runs_the_poller_alone(dovecot: Dovecot, tmp_path) -> None:
    await factories.world()
    env = dict(
        os.environ,
        GUICHET_IMAP_HOST="127.0.0.1",
        GUICHET_IMAP_PORT=str(dovecot.port),
        GUICHET_IMAP_USER=USER,
        GUICHET_IMAP_PASSWORD=PASSWORD,
        GUICHET_IMAP_TLS="false",
        GUICHET_IMAP_POLL_SECONDS="1",
    )
    log = tmp_path / "imap.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "imap", env=env, stdout=out, stderr=out
        )
    try:
        await deliver(dovecot, mail(subject="Badge refusé"))
        try:
            await until(lambda: all_seen(dovecot, 1))
        except AssertionError:
            raise AssertionError(log.read_text()) from None
        assert [r["title"] for r in await Ticket.select(Ticket.title)] == ["Badge refusé"]
    finally:
        process.terminate()
        await process.wait()


async def test_guichet_check_logs_into_the_mailbox(dovecot: Dovecot) -> None:
    settings = settings_for(dovecot)
    assert await preflight._mailbox(settings) == ""
    wrong = replace(settings, mail=replace(settings.mail, imap_password="wrong"))
    problem = await preflight._mailbox(wrong)
    assert problem.startswith(f"cannot read the mailbox desk@127.0.0.1:{dovecot.port}/INBOX")
