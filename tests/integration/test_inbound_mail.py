"""Mail received by Guichet, end to end: real mails sent with aiosmtplib to the aiosmtpd
receiver Guichet runs; notices Guichet sends back land on another real SMTP server."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest
from PIL import Image

from server.db.link_tables import TicketLink
from server.db.notification_tables import InAppNotification, InboundMessage, InboundNotice
from server.db.tables import (
    Attachment,
    FollowUp,
    HistoryEntry,
    Outbox,
    Ticket,
    TicketWatcher,
    User,
)
from server.domain.events import TicketEvent
from server.domain.forms import NewFollowUp
from server.domain.notifications import Kind
from server.domain.reply_address import reply_address
from server.domain.vocabulary import Status
from server.services import notifications, tickets
from server.services.attachments import storage
from server.services.inbound_smtp import InboundReceiver
from server.services.mail_dispatcher import MailDispatcher
from server.settings import MailSettings, Settings, get_settings
from tests import factories
from tests.integration.test_notifications import SmtpServer, drain, text_of

BASE_URL = "https://guichet.example.org"
SENDER = "desk@guichet.test"
SECRET = "test-reply-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Desk:
    """Guichet's receiver on a free port, and the outside world's SMTP server."""

    def __init__(self, outside: SmtpServer) -> None:
        self.outside = outside
        self.port = _free_port()
        self.settings: Settings = replace(
            get_settings(),
            base_url=BASE_URL,
            mail=MailSettings(
                smtp_host="127.0.0.1",
                smtp_port=outside.port,
                sender=SENDER,
                inbound_port=self.port,
                reply_secret=SECRET,
            ),
        )
        self.published: list[TicketEvent] = []

        async def publish(events: list[TicketEvent]) -> None:
            self.published.extend(events)

        self.receiver = InboundReceiver(self.settings, publish)

    async def send(
        self,
        sender: str,
        to: str = SENDER,
        subject: str = "Imprimante du secrétariat",
        body: str = "Elle ne répond plus depuis ce matin.",
        envelope_from: str | None = None,
        message_id: str | None = None,
        headers: dict[str, str] | None = None,
        attach: tuple[str, bytes, str, str] | None = None,
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = message_id or make_msgid(domain="mail.chu-a.test")
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        if attach:
            name, data, maintype, subtype = attach
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        await aiosmtplib.send(
            message,
            hostname="127.0.0.1",
            port=self.port,
            sender=sender if envelope_from is None else envelope_from,
            recipients=[to],
        )
        return message

    def dispatcher(self) -> MailDispatcher:
        return MailDispatcher(self.settings, name="inbound-test")


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    outside = SmtpServer()
    outside.start()
    d = Desk(outside)
    await d.receiver.start()
    try:
        yield d
    finally:
        await d.receiver.stop()
        outside.stop()


async def outcomes() -> list[str]:
    rows = await InboundMessage.select(InboundMessage.outcome).order_by(InboundMessage.id)
    return [row["outcome"] for row in rows]


async def test_mail_from_a_known_user_opens_an_unspecified_ticket(desk: Desk) -> None:
    w = await factories.world()
    await desk.send(
        "Alice Martin <Alice@CHU-A.test>",
        subject="TR: Imprimante du secrétariat",
        body="Elle ne répond plus.\n\n-- \nAlice Martin\nSecrétariat de cardiologie",
    )
    ticket = await Ticket.select().first()
    assert ticket is not None
    assert ticket["requester"] == w.requester_a.id
    assert ticket["establishment"] == w.est_a
    assert ticket["ticket_type"] == "unspecified"
    assert ticket["source"] == "mail"
    assert ticket["title"] == "Imprimante du secrétariat"
    assert ticket["description"] == "Elle ne répond plus."  # signature trimmed
    assert await outcomes() == ["ticket"]
    # Through the use case: history, acknowledgement, live event.
    assert await Outbox.count().where(Outbox.kind == "created") == 1
    assert [e.kind for e in desk.published] == ["ticket.created"]
    await drain(desk.dispatcher())
    [ack] = desk.outside.inbox.to("alice@chu-a.test")
    assert ack["Reply-To"] is not None and f"+{ticket['id']}.{w.requester_a.id}." in str(
        ack["Reply-To"]
    )


async def test_a_reply_lands_as_follow_up_and_reopens_the_resolved_ticket(desk: Desk) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="Câble changé")
    await drain(desk.dispatcher())
    resolved = [
        m for m in desk.outside.inbox.to("alice@chu-a.test") if "Résolu" in str(m["Subject"])
    ][-1]
    text = text_of(resolved)
    assert "répondez à ce courriel" in text  # how to reopen
    assert "72 heures" in text  # when it closes by itself
    reply_to = resolved["Reply-To"].addresses[0].addr_spec
    await desk.send(
        "alice@chu-a.test",
        to=reply_to,
        subject=f"Re: {resolved['Subject']}",
        body=f"Non, toujours en panne.\n\nLe lun. 3 nov. 2026, Guichet <{SENDER}> a écrit :\n"
        "> Théo Tech a marqué ce ticket comme résolu.\n",
        headers={"In-Reply-To": str(resolved["Message-ID"])},
    )
    [follow_up] = await FollowUp.select().where(FollowUp.ticket == ticket_id)
    assert follow_up["text"] == "Non, toujours en panne."
    assert follow_up["author"] == w.requester_a.id
    assert follow_up["private"] is False
    ticket = await Ticket.select(Ticket.status).where(Ticket.id == ticket_id).first()
    assert ticket["status"] != Status.RESOLVED.value
    assert Status(ticket["status"]).is_open
    assert await outcomes() == ["follow_up"]
    assert desk.published[-1].kind == "ticket.moved"
    # The technician hears of it, by mail and in the app.
    assert await InAppNotification.count().where(
        (InAppNotification.user == w.tech.id) & (InAppNotification.kind == "follow_up")
    ) == 1


async def test_forged_or_borrowed_reply_addresses_are_refused(desk: Desk) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    genuine = reply_address(SECRET, SENDER, ticket_id, w.requester_a.id)
    forged = reply_address("guessed-secret", SENDER, ticket_id, w.requester_a.id)
    other_ticket = genuine.replace(f"+{ticket_id}.", f"+{ticket_id + 1}.")
    await desk.send("alice@chu-a.test", to=forged, body="Forged")
    await desk.send("alice@chu-a.test", to=other_ticket, body="Renumbered")
    # A colleague (who may see the ticket) using Alice's address is refused too.
    await desk.send("colette@chu-a.test", to=genuine, body="Borrowed")
    assert await FollowUp.count() == 0
    assert await Ticket.count() == 1  # no ticket created from a refused reply either
    assert await outcomes() == ["refused", "refused", "refused"]
    # The genuine one works.
    await desk.send("alice@chu-a.test", to=genuine, body="Genuine")
    assert [r["text"] for r in await FollowUp.select(FollowUp.text)] == ["Genuine"]


async def test_a_reply_from_someone_who_may_no_longer_see_the_ticket_is_refused(
    desk: Desk,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.colleague_a, shared="1")
    address = reply_address(SECRET, SENDER, ticket_id, w.requester_a.id)
    await tickets.set_shared(w.colleague_a, ticket_id, 1, False)  # Alice loses access
    await desk.send("alice@chu-a.test", to=address, body="Moi aussi")
    assert await FollowUp.count() == 0
    assert await outcomes() == ["refused"]


async def test_auto_replies_bounces_and_loops_create_nothing(desk: Desk) -> None:
    await factories.world()
    await desk.send("alice@chu-a.test", headers={"Auto-Submitted": "auto-replied"})
    await desk.send("alice@chu-a.test", headers={"Precedence": "bulk"})
    await desk.send("alice@chu-a.test", headers={"X-Autoreply": "yes"})
    await desk.send("alice@chu-a.test", envelope_from="")  # a bounce: empty return path
    await desk.send("alice@chu-a.test", message_id="<outbox-7.1@guichet.example.org>")
    assert await Ticket.count() == 0
    assert await outcomes() == ["ignored"] * 5
    assert desk.outside.inbox.received == []  # nobody is answered either


async def test_unknown_senders_get_nothing_and_are_told_once(desk: Desk) -> None:
    await factories.world()
    await desk.send("stranger@elsewhere.test", body="Hello")
    await desk.send("stranger@elsewhere.test", body="Hello again")
    assert await Ticket.count() == 0
    assert await outcomes() == ["unknown_sender", "unknown_sender"]
    [notice] = desk.outside.inbox.to("stranger@elsewhere.test")
    assert notice["Auto-Submitted"] == "auto-replied"
    assert "pas connue" in notice.get_content()
    assert await InboundNotice.count() == 1


async def test_notices_are_capped_per_hour(desk: Desk) -> None:
    from server.services import inbound

    await factories.world()
    for n in range(inbound.NOTICES_PER_HOUR + 3):
        await desk.send(f"spoofed{n}@victim.test", body="x")
    assert len(desk.outside.inbox.received) == inbound.NOTICES_PER_HOUR


async def test_the_same_message_id_twice_creates_one_ticket(desk: Desk) -> None:
    await factories.world()
    message_id = make_msgid(domain="mail.chu-a.test")
    await desk.send("alice@chu-a.test", message_id=message_id)
    await desk.send("alice@chu-a.test", message_id=message_id)
    assert await Ticket.count() == 1
    assert await InboundMessage.count() == 1


async def test_a_mail_with_a_patient_identifier_is_held(desk: Desk) -> None:
    await factories.world()
    await desk.send(
        "alice@chu-a.test", body="Le patient NIR 2 65 11 13 050 075 09 ne peut pas imprimer."
    )
    assert await Ticket.count() == 0
    [row] = await InboundMessage.select()
    assert row["outcome"] == "held"
    assert row["reason"] == "nir"
    [notice] = desk.outside.inbox.to("alice@chu-a.test")
    content = notice.get_content()
    assert "numéro de sécurité sociale (NIR)" in content
    assert "65 11 13" not in notice.as_string()  # the identifier is not repeated


async def test_a_text_attachment_with_an_identifier_holds_the_mail(desk: Desk) -> None:
    await factories.world()
    log = b"12:00 erreur impression\npatient NIR 2 65 11 13 050 075 09\n"
    await desk.send("alice@chu-a.test", attach=("journal.log", log, "text", "plain"))
    assert await Ticket.count() == 0
    assert await outcomes() == ["held"]


async def test_an_image_attachment_is_re_encoded_without_exif(desk: Desk) -> None:
    await factories.world()
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x013B] = "Dr Someone"  # Artist
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    assert b"SecretCam" in buffer.getvalue()
    await desk.send(
        "alice@chu-a.test", attach=("photo.jpg", buffer.getvalue(), "image", "jpeg")
    )
    [attachment] = await Attachment.select()
    stored = storage().path(attachment["storage_key"]).read_bytes()
    assert b"SecretCam" not in stored and b"Dr Someone" not in stored
    with Image.open(io.BytesIO(stored)) as again:
        assert dict(again.getexif()) == {}
        assert again.size == (64, 48)


async def test_a_refused_file_is_left_out_and_the_sender_told(desk: Desk) -> None:
    await factories.world()
    await desk.send(
        "alice@chu-a.test",
        attach=("outil.exe", b"MZ\x90\x00" + b"\x00" * 100, "application", "octet-stream"),
    )
    assert await Ticket.count() == 1
    assert await Attachment.count() == 0
    notices = [
        m for m in desk.outside.inbox.to("alice@chu-a.test") if "outil.exe" in m.get_content()
    ]
    assert len(notices) == 1


async def test_no_notification_reaches_anyone_who_may_not_see_the_ticket(desk: Desk) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, shared="0")
    # Followers (written directly, as if their reach had changed since): a colleague of a
    # private ticket and a requester of another establishment may not see it.
    for follower in (w.colleague_a, w.requester_b, w.supervisor):
        await TicketWatcher.insert(TicketWatcher(ticket=ticket_id, user=follower.id))
    queued = await notifications.enqueue(Kind.FOLLOW_UP, ticket_id, w.tech)
    assert queued == [w.requester_a.id, w.supervisor.id]
    in_app = await InAppNotification.select(InAppNotification.user).where(
        InAppNotification.ticket == ticket_id
    )
    assert {row["user"] for row in in_app} == {w.requester_a.id, w.supervisor.id}
    # Private notes: staff only, even among people who may see the ticket.
    await notifications.enqueue(Kind.FOLLOW_UP, ticket_id, w.tech, private=True)
    await drain(desk.dispatcher())
    assert desk.outside.inbox.to("colette@chu-a.test") == []
    assert desk.outside.inbox.to("bruno@clinique-b.test") == []
    assert len(desk.outside.inbox.to("sup@desk.test")) == 2
    assert len(desk.outside.inbox.to("alice@chu-a.test")) == 2  # acknowledgement + follow-up


async def test_preferences_are_honoured_per_channel(desk: Desk) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    await notifications.set_preference(
        w.requester_a.id, Kind.FOLLOW_UP, False, notifications.IN_APP
    )
    await notifications.set_preference(w.tech.id, Kind.FOLLOW_UP, False, notifications.EMAIL)
    await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Redémarrez", False, 0))
    await tickets.add_follow_up(w.requester_a, ticket_id, NewFollowUp("Fait", False, 0))
    follow_up_mails = await Outbox.select(Outbox.recipient).where(Outbox.kind == "follow_up")
    assert [r["recipient"] for r in follow_up_mails] == [w.requester_a.id]
    lines = await InAppNotification.select(InAppNotification.user).where(
        InAppNotification.kind == "follow_up"
    )
    assert [r["user"] for r in lines] == [w.tech.id]
    assert (await notifications.preferences(w.requester_a.id, notifications.IN_APP))[
        Kind.FOLLOW_UP
    ] is False
    assert (await notifications.preferences(w.requester_a.id))[Kind.FOLLOW_UP] is True
    assert await User.count() > 0


async def test_the_senders_own_address_and_phone_are_not_patient_data(desk: Desk) -> None:
    w = await factories.world()
    await User.update({User.phone: "01 45 67 89 10"}).where(User.id == w.requester_a.id)
    await desk.send(
        "alice@chu-a.test",
        body="Le scanner est bloqué.\n\nAlice Martin\nTél. 01 45 67 89 10\nalice@chu-a.test",
    )
    assert await outcomes() == ["ticket"]
    # Someone else's number in the same place is held.
    await desk.send("alice@chu-a.test", body="Rappelez le 06 12 34 56 78 svp")
    assert await outcomes() == ["ticket", "held"]


async def test_other_peoples_plus_addresses_are_not_reply_addresses(desk: Desk) -> None:
    await factories.world()
    await desk.send("alice@chu-a.test", headers={"Cc": "bob+1.2.abc@chu-a.test"})
    assert await outcomes() == ["ticket"]


async def test_two_copies_delivered_at_once_create_one_ticket(desk: Desk) -> None:
    await factories.world()
    message_id = make_msgid(domain="mail.chu-a.test")
    await asyncio.gather(
        *[desk.send("alice@chu-a.test", message_id=message_id) for _ in range(3)]
    )
    assert await Ticket.count() == 1
    assert await InboundMessage.count() == 1


async def test_a_reply_to_a_closed_ticket_opens_a_new_linked_ticket(desk: Desk) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.take(w.tech, ticket_id, 1)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, solution="Fait")
    await tickets.change_status(w.tech, ticket_id, Status.CLOSED, 3)
    await User.update({User.locale: "en"}).where(User.id == w.requester_a.id)
    address = reply_address(SECRET, SENDER, ticket_id, w.requester_a.id)
    await desk.send(
        "alice@chu-a.test", to=address, subject="Re: Imprimante", body="Encore en panne"
    )
    assert await FollowUp.count() == 0
    new = await Ticket.select().where(Ticket.id != ticket_id).first()
    assert new is not None
    assert (new["requester"], new["source"], new["status"]) == (w.requester_a.id, "mail", "new")
    assert new["description"] == "Encore en panne"
    [link] = await TicketLink.select()
    assert (link["source"], link["target"], link["kind"]) == (ticket_id, new["id"], "related")
    lines = await HistoryEntry.select(HistoryEntry.ticket, HistoryEntry.new_value).where(
        HistoryEntry.field.is_in(["follows_up", "followed_up_by"])
    )
    assert {(r["ticket"], r["new_value"]) for r in lines} == {
        (new["id"], f"#{ticket_id}"),
        (ticket_id, f"#{new['id']}"),
    }
    [row] = await InboundMessage.select()
    assert (row["outcome"], row["ticket"]) == ("ticket", new["id"])
    # The sender is told, in their language, which ticket their mail opened.
    [notice] = desk.outside.inbox.to("alice@chu-a.test")
    assert str(notice["Subject"]) == "Your e-mail opened a new ticket"
    assert f"#{new['id']}" in text_of(notice) and f"#{ticket_id}" in text_of(notice)


async def test_without_a_receiver_mails_carry_no_reply_address(desk: Desk) -> None:
    w = await factories.world()
    await factories.ticket(w.requester_a)
    settings = replace(desk.settings, mail=replace(desk.settings.mail, inbound_port=0))
    await drain(MailDispatcher(settings, name="no-inbound"))
    [ack] = desk.outside.inbox.to("alice@chu-a.test")
    assert ack["Reply-To"] is None
    assert "merci de ne pas y répondre" in text_of(ack)
