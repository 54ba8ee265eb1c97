"""Notification mails end to end: use cases write the outbox, dispatchers deliver it to a real
SMTP server (aiosmtpd on loopback), or to files when no server is configured."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from server.db.engine import write_transaction
from server.db.tables import Outbox, User
from server.domain.forms import NewFollowUp
from server.domain.notifications import Kind
from server.domain.vocabulary import Status
from server.services import notifications, tickets
from server.services.mail_dispatcher import MailDispatcher
from server.settings import MailSettings, get_settings
from tests import factories

BASE_URL = "https://guichet.example.org"
HOST = "guichet.example.org"


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every accepted message."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]

    def clear(self) -> None:
        self.received.clear()


class SmtpServer:
    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def dispatcher(smtp: SmtpServer | None, name: str = "test", **options: Any) -> MailDispatcher:
    """A dispatcher with explicit settings: this SMTP server (or files when None)."""
    mail = MailSettings(
        smtp_host="127.0.0.1" if smtp else "",
        smtp_port=smtp.port if smtp else 25,
        sender="desk@guichet.test",
        # The deployment's digest window (0 in tests, unless a test sets it).
        **{"digest_seconds": get_settings().mail.digest_seconds, **options.pop("mail", {})},
    )
    settings = replace(get_settings(), base_url=BASE_URL, mail=mail, **options.pop("app", {}))
    return MailDispatcher(settings, name=name, **options)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def html_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return body.get_content()


async def drain(d: MailDispatcher) -> int:
    total = 0
    while sent := await d.run_once():
        total += sent
    return total


async def test_new_ticket_sends_an_acknowledgement_to_the_requester_only(smtp: SmtpServer) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(
        w.requester_a,
        title="Imprimante du bloc hors ligne",
        description="Patient Jean Dupont attend son ordonnance",
        category_id=str(w.category_id),
    )
    # The acknowledgement to the requester, and the receiving group's notice (issue 14).
    assert await drain(dispatcher(smtp)) == 2
    [message] = smtp.inbox.to("alice@chu-a.test")
    [notice] = smtp.inbox.to("tech@desk.test")
    assert "Un nouveau ticket est arrivé pour votre groupe" in text_of(notice)
    assert "Dupont" not in notice.as_string()
    assert message["Subject"] == (
        f"[Guichet #{ticket_id} CHA] Imprimante du bloc hors ligne — Nouveau"
    )
    assert message["From"] == "Guichet <desk@guichet.test>"
    assert message["Auto-Submitted"] == "auto-generated"
    for body in (text_of(message), html_of(message)):
        assert f"#{ticket_id}" in body
        assert "Imprimante du bloc hors ligne" in body
        assert f"{BASE_URL}/tickets/{ticket_id}" in body
        # Health data stays behind the login.
        assert "Dupont" not in body
    assert "Dupont" not in message.as_string()
    row = await Outbox.select().where(Outbox.recipient == w.requester_a.id).first()
    assert row["sent_at"] is not None
    assert row["attempts"] == 0
    assert row["claimed_by"] is None


async def test_a_deployment_may_include_the_text(smtp: SmtpServer) -> None:
    w = await factories.world()
    await factories.ticket(w.requester_a, description="Le lecteur de badge du 3e étage")
    await drain(dispatcher(smtp, mail={"include_details": True}))
    [message] = smtp.inbox.to("alice@chu-a.test")
    assert "Le lecteur de badge du 3e étage" in text_of(message)


async def test_follow_ups_go_to_the_other_side_never_to_their_author(smtp: SmtpServer) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    await tickets.take(w.tech, ticket_id, 1)
    d = dispatcher(smtp)
    await drain(d)
    # Taken in charge: the requester hears of it; the technician took it, so no mail to them
    # beyond the group's notice of the new ticket.
    assert len(smtp.inbox.to("alice@chu-a.test")) == 2
    [notice] = smtp.inbox.to("tech@desk.test")
    assert "nouveau ticket" in str(notice["Subject"]) or "groupe" in text_of(notice)
    smtp.inbox.clear()

    await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Redémarrez le poste", False, 5))
    await drain(d)
    assert [rcpt for rcpt, _ in smtp.inbox.received] == [["alice@chu-a.test"]]
    [message] = smtp.inbox.to("alice@chu-a.test")
    assert "Théo Tech" in text_of(message)
    assert "Redémarrez" not in message.as_string()
    smtp.inbox.clear()

    await tickets.add_follow_up(w.requester_a, ticket_id, NewFollowUp("Toujours rien", False, 0))
    await drain(d)
    assert [rcpt for rcpt, _ in smtp.inbox.received] == [["tech@desk.test"]]


async def test_private_notes_never_reach_the_requester(smtp: SmtpServer) -> None:
    w = await factories.world()
    other_tech = await factories.user("other@desk.test", factories.Role.TECHNICIAN, w.est_a)
    await factories.group("Support local (N1)", 1, (other_tech.id,), serves=(w.est_a,))
    other_tech = await factories.reload(other_tech.id)
    ticket_id = await factories.ticket(w.requester_a)
    version = (
        await tickets.assign(w.supervisor, ticket_id, 1, assignee_id=w.tech.id, group_id=None)
    )[0].version
    assert version
    d = dispatcher(smtp)
    await drain(d)
    smtp.inbox.clear()
    await tickets.add_follow_up(other_tech, ticket_id, NewFollowUp("Voir le VLAN", True, 0))
    await drain(d)
    assert smtp.inbox.to("alice@chu-a.test") == []
    [message] = smtp.inbox.to("tech@desk.test")
    assert "Voir le VLAN" not in message.as_string()
    assert await Outbox.count().where(Outbox.recipient == w.requester_a.id) == 2


async def test_requester_who_asked_for_no_mail_gets_none(smtp: SmtpServer) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, notify="0")
    await tickets.take(w.tech, ticket_id, 1)
    await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Fait", False, 0))
    await drain(dispatcher(smtp))
    assert smtp.inbox.received == []
    assert await Outbox.count() == 0


async def test_a_kind_turned_off_in_preferences_is_not_sent(smtp: SmtpServer) -> None:
    w = await factories.world()
    await notifications.set_preference(w.requester_a.id, Kind.CREATED, False)
    assert (await notifications.preferences(w.requester_a.id))[Kind.CREATED] is False
    ticket_id = await factories.ticket(w.requester_a)
    await drain(dispatcher(smtp))
    assert smtp.inbox.received == []
    # Other kinds still arrive.
    await tickets.take(w.tech, ticket_id, 1)
    await drain(dispatcher(smtp))
    assert len(smtp.inbox.to("alice@chu-a.test")) == 1
    await notifications.set_preference(w.requester_a.id, Kind.CREATED, True)
    assert (await notifications.preferences(w.requester_a.id))[Kind.CREATED] is True


async def test_each_recipient_reads_their_own_language(smtp: SmtpServer) -> None:
    w = await factories.world()
    await User.update({User.locale: "en"}).where(User.id == w.colleague_a.id)
    await factories.ticket(w.requester_a, title="Écran noir")
    await factories.ticket(w.colleague_a, title="Black screen")
    await drain(dispatcher(smtp))
    [french] = smtp.inbox.to("alice@chu-a.test")
    [english] = smtp.inbox.to("colette@chu-a.test")
    assert french["Subject"].endswith("Écran noir — Nouveau")
    assert english["Subject"].endswith("Black screen — New")
    assert "Ouvrir le ticket" in text_of(french)
    assert "Open the ticket" in text_of(english)
    assert french["Content-Language"] == "fr"
    assert english["Content-Language"] == "en"


async def test_mails_about_one_ticket_form_one_thread(smtp: SmtpServer) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="Câble changé")
    await drain(dispatcher(smtp))
    messages = smtp.inbox.to("alice@chu-a.test")
    assert len(messages) == 3
    ids = [row["id"] for row in await Outbox.select(Outbox.id).order_by(Outbox.id)]
    root = f"<ticket-{ticket_id}@{HOST}>"
    assert [m["Message-ID"] for m in messages] == [f"<outbox-{i}.{ticket_id}@{HOST}>" for i in ids]
    assert {m["In-Reply-To"] for m in messages} == {root}
    assert {m["References"] for m in messages} == {root}
    resolved = text_of(messages[-1])
    assert "Résolu" in messages[-1]["Subject"]
    assert "72 heures" in resolved
    assert "rouvrir" in resolved
    assert "Câble changé" not in resolved


async def test_mail_server_down_nothing_lost_then_sent_exactly_once(smtp: SmtpServer) -> None:
    w = await factories.world()
    d = dispatcher(smtp)
    smtp.stop()
    await factories.ticket(w.requester_a)
    assert await d.run_once() == 0
    row = await Outbox.select().first()
    assert row["sent_at"] is None
    assert row["attempts"] == 1
    assert row["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=30)
    assert row["claimed_by"] is None
    assert row["last_error"]
    # Not due yet: left alone.
    assert await d.run_once() == 0
    assert (await Outbox.select(Outbox.attempts).first())["attempts"] == 1

    smtp.start()
    assert await d.run_once() == 0  # the backoff still holds
    # Time passes.
    await Outbox.update({Outbox.next_attempt_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        Outbox.id == row["id"]
    )
    assert await d.run_once() == 1
    assert await d.run_once() == 0
    assert len(smtp.inbox.received) == 1
    row = await Outbox.select().where(Outbox.recipient == w.requester_a.id).first()
    assert row["sent_at"] is not None
    assert row["last_error"] == ""


async def test_backoff_grows_and_is_capped(smtp: SmtpServer) -> None:
    w = await factories.world()
    d = dispatcher(smtp)
    smtp.stop()
    await factories.ticket(w.requester_a)
    waits = []
    for _ in range(8):
        await Outbox.update({Outbox.next_attempt_at: datetime.now(UTC)}).where(Outbox.id > 0)
        before = datetime.now(UTC)
        await d.run_once()
        row = await Outbox.select().first()
        waits.append(round((row["next_attempt_at"] - before).total_seconds() / 60))
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert row["attempts"] == 8


async def test_a_dead_dispatchers_claim_expires(smtp: SmtpServer) -> None:
    w = await factories.world()
    await factories.ticket(w.requester_a)
    dead = dispatcher(smtp, name="dead")
    assert len(await dead._claim()) == 1  # claims, then "crashes" before sending
    alive = dispatcher(smtp, name="alive")
    assert await alive.run_once() == 0
    await Outbox.update({Outbox.claimed_until: datetime.now(UTC) - timedelta(seconds=1)}).where(
        Outbox.id > 0
    )
    assert await alive.run_once() == 1
    assert len(smtp.inbox.received) == 1


async def test_two_dispatchers_at_once_send_each_mail_exactly_once(smtp: SmtpServer) -> None:
    w = await factories.world()
    requesters = [w.requester_a, w.colleague_a, w.requester_b]
    for i in range(12):
        ticket_id = await factories.ticket(requesters[i % 3], title=f"Panne numéro {i}")
        await tickets.take(w.tech, ticket_id, 1)
    total = await Outbox.count()
    assert total == 24
    first = dispatcher(smtp, name="instance-a", batch_size=3)
    second = dispatcher(smtp, name="instance-b", batch_size=3)
    for _ in range(12):
        await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
    ids = [m["Message-ID"] for _, m in smtp.inbox.received]
    assert len(ids) == total
    assert len(set(ids)) == total
    unsent = await Outbox.select(Outbox.kind, Outbox.recipient, Outbox.last_error).where(
        Outbox.sent_at.is_null()
    )
    assert unsent == []


async def test_rolled_back_change_leaves_no_mail() -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await Outbox.delete(force=True)

    async def change_that_fails() -> None:
        async with write_transaction():
            queued = await notifications.enqueue(Kind.FOLLOW_UP, ticket_id, w.tech)
            assert queued == [w.requester_a.id]
            raise RuntimeError("the change fails after queueing")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    assert await Outbox.count() == 0


async def test_without_smtp_server_mails_are_written_as_files(tmp_path: Path) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Souris sans fil")
    d = dispatcher(None, app={"var_dir": tmp_path})
    assert await d.run_once() == 1
    [path] = list((tmp_path / "mail").glob("*.eml"))
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert message["To"] == "Alice Martin <alice@chu-a.test>"
    assert f"#{ticket_id}" in message["Subject"]
    assert "Souris sans fil" in text_of(message)
    assert [p.name for p in (tmp_path / "mail").iterdir()] == [path.name]


@pytest.fixture
def digest_window(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GUICHET_MAIL_DIGEST_SECONDS", "120")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("digest_window")
async def test_quick_changes_to_one_ticket_leave_as_one_digest_mail(smtp: SmtpServer) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Pompe à perfusion non reconnue")
    d = dispatcher(smtp)
    # The acknowledgement leaves at once, whatever the window.
    assert await drain(d) == 1
    smtp.inbox.clear()

    version = 1
    for step in (
        lambda v: tickets.take(w.tech, ticket_id, v),
        lambda v: tickets.add_follow_up(
            w.tech, ticket_id, NewFollowUp(text="Pilote réinstallé", private=False, minutes=5)
        ),
        lambda v: tickets.change_status(w.tech, ticket_id, Status.PENDING, v),
    ):
        await step(version)
        version = (await tickets_row(ticket_id))["version"]

    # Held: nothing is due yet, and the three rows wait until the same moment.
    assert await drain(d) == 0
    rows = await Outbox.select(Outbox.next_attempt_at).where(
        (Outbox.recipient == w.requester_a.id) & Outbox.sent_at.is_null()
    )
    assert len(rows) == 3
    assert len({row["next_attempt_at"] for row in rows}) == 1
    assert rows[0]["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=60)

    # The window has passed (moved, rather than waited for): one mail lists the three.
    await Outbox.update({Outbox.next_attempt_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        Outbox.sent_at.is_null()
    )
    assert await drain(d) == 3
    mails = smtp.inbox.to("alice@chu-a.test")
    assert len(mails) == 1
    text = text_of(mails[0])
    assert "3 modifications sur ce ticket" in text
    assert "Théo Tech a pris en charge ou attribué ce ticket" in text
    assert "Théo Tech a ajouté un suivi" in text
    assert "Théo Tech a modifié le statut" in text
    assert "En attente" in mails[0]["Subject"]
    unsent = await Outbox.select(Outbox.kind, Outbox.recipient, Outbox.last_error).where(
        Outbox.sent_at.is_null()
    )
    assert unsent == []


async def tickets_row(ticket_id: int) -> dict[str, Any]:
    from server.db.tables import Ticket

    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row is not None
    return row
