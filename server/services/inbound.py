"""Mail received by Guichet: new tickets from known users, replies to notifications.

One mail, one decision, recorded by Message-ID in ``InboundMessage`` in the same transaction
as what it creates: a mail delivered twice (the sending server retries after a timeout, a
relay duplicates it) creates nothing the second time.

- Machine-written mail (auto-replies, bounces, lists, our own notifications looping back) is
  ignored.
- The sender must be a known, active user; anyone else gets nothing created and is told once
  (``InboundNotice``; a cap per hour keeps Guichet from being used to mail third parties by
  forging senders).
- A signed reply address (``domain.reply_address``) adds a public follow-up to its ticket, as
  its user, if they may still comment on it; the lifecycle reopens a resolved ticket on the
  requester's reply; a reply to a closed ticket opens a new ticket linked to it ("related",
  with a history line on both) and the sender is told which. A reply address with a wrong
  signature, or issued to another user, is refused: nothing is created from it.
  In-Reply-To/References are only recorded as a hint.
- Without a reply address, a known user's mail opens a ticket of type "unspecified".
- Text and attachments get the checks of the web forms. Patient identifiers cannot be reviewed
  by mail, so such a mail is held: nothing is created or kept (not even the text), and the
  sender is told which kinds of identifiers were found and asked to send it again without
  them or to use the web page. Files the upload checks refuse are left out, and the sender is
  told which.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import anyio.to_thread

from server import i18n
from server.db.engine import write_transaction
from server.db.link_tables import TicketLink
from server.db.notification_tables import InboundMessage, InboundNotice
from server.db.queries import visible_ticket
from server.db.tables import HistoryEntry, User
from server.domain.actors import Actor
from server.domain.errors import Conflict, GuichetError, NotFound
from server.domain.events import TicketEvent
from server.domain.forms import NewFollowUp, NewTicket
from server.domain.inbound_mail import html_to_text, is_automatic, subject_to_title, trim_reply
from server.domain.links import LinkKind, stored_ends
from server.domain.phi import detect
from server.domain.reply_address import token_part, verify
from server.domain.text import N_
from server.domain.vocabulary import PHI_LABELS, Environment, Role, Source, Status, TicketType
from server.services import attachments, content, tickets
from server.services.mail_dispatcher import transport_for
from server.services.mail_render import mail_host
from server.services.privacy import detector_config
from server.settings import Settings

log = logging.getLogger("guichet.inbound")

# At most this many "we did not accept your mail" notices per hour, all senders together.
NOTICES_PER_HOUR = 20
# A known user is told at most this often per hour that their mail was held.
HELD_NOTICES_PER_SENDER_HOUR = 5
# A reply that meets a concurrent write is tried this many times before the relay is told 451.
REPLY_ATTEMPTS = 3
_OWN_ID = re.compile(r"^<?(?:outbox|notice)-[^@>]+@(?P<host>[^>]+)>?$")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one mail: ticket | follow_up | duplicate | ignored | unknown_sender |
    held | refused."""

    kind: str
    reason: str = ""
    ticket_id: int | None = None
    follow_up_id: int | None = None
    events: list[TicketEvent] = field(default_factory=list)


@dataclass(slots=True)
class _File:
    name: str
    path: Path
    size: int
    kind: str  # as sniffed from the content: image | pdf | text | office


SUBJECTS = {
    "unknown_sender": N_("Your e-mail to the service desk was not accepted"),
    "held": N_("Your e-mail to the service desk was not saved"),
    "files": N_("Some attached files were not kept"),
    "follows_up": N_("Your e-mail opened a new ticket"),
}
BODIES = {
    "unknown_sender": N_(
        "Your address is not known to the service desk, so nothing was created from your "
        "e-mail. If you work in one of the establishments it supports, ask your IT contact "
        "for an account. This message is sent only once."
    ),
    "held": N_(
        "Your e-mail seems to contain patient identifiers (%(kinds)s). By e-mail they cannot "
        "be reviewed, so nothing was saved, not even your text. Send it again without them, "
        "or write on the ticket page, where you can review what was found."
    ),
    "files": N_(
        "Your e-mail was added to ticket #%(ticket)s, but these files were not kept: %(files)s. "
        "Accepted: images, PDF, text, CSV, JSON, XML and office documents."
    ),
    "follows_up": N_(
        "Ticket #%(closed)s is closed, so your e-mail opened ticket #%(ticket)s, which follows "
        "it up. The service desk will handle it; you will receive its updates."
    ),
}


def _key(message_id: str, raw: bytes) -> str:
    # A mail without a Message-ID is recognised by its exact bytes.
    basis = message_id.strip().encode() if message_id.strip() else raw
    return hashlib.sha256(basis).hexdigest()


def _headers(message: EmailMessage) -> dict[str, str]:
    return {name.lower(): str(value) for name, value in message.items()}


def _own_ids(message: EmailMessage, host: str) -> list[str]:
    found = _OWN_ID.match(str(message.get("Message-ID", "")).strip())
    return [found.group(0)] if found and found["host"].lower() == host.lower() else []


def _hint(message: EmailMessage, host: str) -> str:
    """The ticket our threading headers point to: recorded, never trusted alone."""
    refs = f"{message.get('In-Reply-To', '')} {message.get('References', '')}"
    found = re.search(rf"<ticket-(\d+)@{re.escape(host)}>", refs)
    return f" (thread hint: ticket {found.group(1)})" if found else ""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        return ""
    if part.get_content_type() == "text/html":
        text = html_to_text(text)
    return trim_reply(text)


def _reply_addresses(message: EmailMessage, rcpt_tos: list[str], sender: str) -> list[str]:
    """Sub-addresses of our own mailbox among the recipients (``desk+...@domain``); other
    people's plus-addresses in Cc are none of our business."""
    local, _, domain = sender.lower().rpartition("@")
    headers = [str(message.get(name, "")) for name in ("To", "Cc", "Delivered-To")]
    addresses = list(rcpt_tos) + [a for _n, a in getaddresses(headers) if a]
    return [
        a
        for a in addresses
        if token_part(a) is not None
        and a.lower().rpartition("@")[2] == domain
        and a.lower().split("+", 1)[0] == local.split("+", 1)[0]
    ]


async def receive(raw: bytes, mail_from: str, rcpt_tos: list[str], settings: Settings) -> Outcome:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    key = _key(str(message.get("Message-ID", "")), raw)
    if await InboundMessage.exists().where(InboundMessage.message_key == key):
        return Outcome("duplicate")
    try:
        return await _decide(message, key, mail_from, rcpt_tos, settings)
    except Exception:
        # Two copies delivered at once: the second one's record hits the unique key and its
        # whole transaction rolls back. It is a duplicate, not a failure.
        if await InboundMessage.exists().where(InboundMessage.message_key == key):
            return Outcome("duplicate")
        raise


async def _decide(
    message: EmailMessage, key: str, mail_from: str, rcpt_tos: list[str], settings: Settings
) -> Outcome:
    host = mail_host(settings.base_url)
    sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
    reason = is_automatic(_headers(message), mail_from or "", _own_ids(message, host))
    if reason is None and sender == settings.mail.sender.lower():
        reason = "own message"
    if reason is not None:
        return await _record(key, sender, Outcome("ignored", reason))
    user = await User.select().where(User.email == sender).first() if sender else None
    if user is None or not user["active"]:
        outcome = await _record(key, sender, Outcome("unknown_sender"))
        await _tell_unknown(sender, settings)
        return outcome
    actor = Actor(
        id=user["id"],
        role=Role(user["role"]),
        establishment_id=user["establishment"],
        active=user["active"],
    )
    locale = user["locale"] or settings.default_locale
    replies = _reply_addresses(message, rcpt_tos, settings.mail.sender)
    token = None
    if replies:
        token = verify(settings.mail.reply_secret, replies[0])
        if token is None:
            return await _record(key, sender, Outcome("refused", "invalid reply address"))
        if token.user_id != actor.id:
            return await _record(key, sender, Outcome("refused", "reply address of another user"))
    subject = subject_to_title(str(message.get("Subject", "")))
    text = _body(message)
    files, refused_files = await _files(message, settings)
    try:
        own = _own_details(sender, user["phone"])
        kinds = await anyio.to_thread.run_sync(_identifiers, [subject, text], files, own)
        if kinds:
            outcome = await _record(key, sender, Outcome("held", ", ".join(sorted(kinds))))
            await _tell_held(sender, locale, kinds, settings)
            return outcome
        closed = await _closed(actor, token.ticket_id) if token is not None else None
        if closed is not None:
            # A reply to a closed ticket opens a new one that follows it up (issue 14).
            outcome = await _new_ticket(
                key, sender, actor, subject, text, files, locale, follows=closed
            )
            if outcome.kind == "ticket" and outcome.ticket_id is not None:
                await _tell(
                    sender, locale, "follows_up", settings, ticket=outcome.ticket_id, closed=closed
                )
        elif token is not None:
            outcome = await _reply(key, sender, actor, token.ticket_id, text, files)
        else:
            outcome = await _new_ticket(key, sender, actor, subject, text, files, locale)
            outcome = Outcome(
                outcome.kind,
                outcome.reason + _hint(message, host),
                outcome.ticket_id,
                outcome.follow_up_id,
                outcome.events,
            )
    finally:
        for item in files:
            attachments.discard(item.path)
    if refused_files and outcome.ticket_id is not None:
        await _tell(
            sender,
            locale,
            "files",
            settings,
            ticket=outcome.ticket_id,
            files=", ".join(refused_files),
        )
    return outcome


async def _record(key: str, sender: str, outcome: Outcome) -> Outcome:
    """Record a mail that creates nothing (a concurrent copy may have recorded it first)."""
    async with write_transaction():
        if await InboundMessage.exists().where(InboundMessage.message_key == key):
            return Outcome("duplicate")
        await InboundMessage.insert(_row(key, sender, outcome))
    return outcome


def _row(key: str, sender: str, outcome: Outcome) -> InboundMessage:
    return InboundMessage(
        message_key=key,
        sender=sender[:254],
        outcome=outcome.kind,
        reason=outcome.reason[:200],
        ticket=outcome.ticket_id,
        follow_up=outcome.follow_up_id,
    )


async def _files(message: EmailMessage, settings: Settings) -> tuple[list[_File], list[str]]:
    """Attachments saved to temporary files; the names of those refused outright."""
    store = attachments.storage()
    kept: list[_File] = []
    refused: list[str] = []
    for part in message.iter_attachments():
        name = content.clean_filename(part.get_filename() or "attachment")
        try:
            data = part.get_content()
        except (LookupError, ValueError):
            refused.append(name)
            continue
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, bytes) or not data or len(data) > settings.max_attachment_bytes:
            refused.append(name)
            continue
        path = store.temporary()
        await anyio.to_thread.run_sync(path.write_bytes, data)
        try:
            sniffed = await anyio.to_thread.run_sync(content.sniff, path, name)
        except content.ContentRefused:
            attachments.discard(path)
            refused.append(name)
            continue
        kept.append(_File(name=name, path=path, size=len(data), kind=sniffed.kind))
    return kept, refused


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)[-9:]


def _own_details(address: str, phone: str) -> set[str]:
    """The sender's own address and phone: a signature with them is not patient data."""
    return {address.lower()} | ({_digits(phone)} if _digits(phone) else set())


def _identifiers(texts: list[str], files: list[_File], own: set[str]) -> set[str]:
    """Kinds of patient identifiers in the mail's text and text attachments (not counting
    the sender's own e-mail address and phone number)."""
    config = detector_config()

    def kinds(text: str) -> set[str]:
        return {
            f.kind.value
            for f in detect(text, config)
            if f.text.lower() not in own and _digits(f.text) not in own
        }

    found = {kind for text in texts for kind in kinds(text)}
    for item in files:
        if item.kind == "text":
            try:
                text = item.path.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError:
                continue  # refused by the upload checks later
            found |= kinds(text)
    return found


async def _attach_all(actor: Actor, ticket_id: int, files: list[_File]) -> list[str]:
    """Inside the caller's transaction; returns the names the upload checks refused."""
    refused = []
    for item in files:
        # attach() removes the file it is given: hand it a copy-free rename target.
        received = attachments.Received(path=item.path, size=item.size, name=item.name)
        try:
            await attachments.attach(actor, ticket_id, received, [])
        except GuichetError:
            refused.append(item.name)
    return refused


async def _closed(actor: Actor, ticket_id: int) -> int | None:
    """The ticket's id if it is closed and the sender may still see it."""
    try:
        row = await visible_ticket(actor, ticket_id)
    except NotFound:
        return None
    return ticket_id if row["status"] == Status.CLOSED.value else None


async def _link_follow_up(actor: Actor, new_id: int, closed_id: int) -> None:
    """Inside the caller's transaction: a ``related`` link and a history line on both."""
    source, target = stored_ends(new_id, closed_id, LinkKind.RELATED)
    await TicketLink.insert(
        TicketLink(source=source, target=target, kind=LinkKind.RELATED.value, created_by=actor.id)
    )
    await HistoryEntry.insert(
        HistoryEntry(ticket=new_id, actor=actor.id, field="follows_up", new_value=f"#{closed_id}"),
        HistoryEntry(
            ticket=closed_id, actor=actor.id, field="followed_up_by", new_value=f"#{new_id}"
        ),
    )


async def _new_ticket(
    key: str,
    sender: str,
    actor: Actor,
    subject: str,
    text: str,
    files: list[_File],
    locale: str,
    follows: int | None = None,
) -> Outcome:
    title = subject or _translated(locale, N_("Request received by e-mail"))
    data = NewTicket(
        title=title,
        description=text or title,
        type=TicketType.UNSPECIFIED,
        priority=None,
        category_id=None,
        environment=Environment.PRODUCTION,
        contact_name="",
        contact_phone="",
        service_url="",
        notify=True,
        shared=True,
        source=Source.MAIL,
    )
    try:
        async with write_transaction():
            await InboundMessage.insert(_row(key, sender, Outcome("ticket")))
            ticket_id, events = await tickets.open_ticket(actor, data)
            if follows is not None:
                await _link_follow_up(actor, ticket_id, follows)
            refused = await _attach_all(actor, ticket_id, files)
            await InboundMessage.update({InboundMessage.ticket: ticket_id}).where(
                InboundMessage.message_key == key
            )
    except GuichetError as exc:
        return await _record(key, sender, Outcome("refused", type(exc).__name__))
    return Outcome("ticket", ", ".join(refused), ticket_id=ticket_id, events=events)


async def _reply(
    key: str, sender: str, actor: Actor, ticket_id: int, text: str, files: list[_File]
) -> Outcome:
    if not text and not files:
        return await _record(key, sender, Outcome("ignored", "empty reply", ticket_id))
    for attempt in range(REPLY_ATTEMPTS):
        try:
            return await _reply_once(key, sender, actor, ticket_id, text, files)
        except Conflict:
            # A concurrent write, not a refusal: try again; after the last attempt the
            # receiver answers 451 and the relay retries (the Message-ID keeps it safe).
            if attempt == REPLY_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _reply_once(
    key: str, sender: str, actor: Actor, ticket_id: int, text: str, files: list[_File]
) -> Outcome:
    try:
        async with write_transaction():
            await InboundMessage.insert(_row(key, sender, Outcome("follow_up")))
            follow_up_id = None
            events: list[TicketEvent] = []
            if text:
                follow_up_id, events = await tickets.add_follow_up(
                    actor, ticket_id, NewFollowUp(text=text, private=False, minutes=0)
                )
            refused = await _attach_all(actor, ticket_id, files)
            if not text and not events:
                events = [await tickets.ticket_event("ticket.attachment", ticket_id, None)]
            await InboundMessage.update(
                {InboundMessage.ticket: ticket_id, InboundMessage.follow_up: follow_up_id}
            ).where(InboundMessage.message_key == key)
    except Conflict:
        raise
    except GuichetError as exc:
        # Not allowed to comment any more, ticket closed or gone: nothing is created.
        return await _record(key, sender, Outcome("refused", type(exc).__name__, ticket_id))
    return Outcome("follow_up", ", ".join(refused), ticket_id, follow_up_id, events)


# -- telling senders ---------------------------------------------------------------------------


def _translated(locale: str, message: str, **values: Any) -> str:
    previous = i18n.get_locale()
    i18n.set_locale(locale)
    try:
        text = i18n.gettext(message)
        return text % values if values else text
    finally:
        i18n.set_locale(previous)


async def _tell_unknown(address: str, settings: Settings) -> None:
    """Once per address, and at most NOTICES_PER_HOUR in all."""
    if not address or "@" not in address:
        return
    since = datetime.now(UTC) - timedelta(hours=1)
    async with write_transaction():
        if await InboundNotice.exists().where(InboundNotice.address == address):
            return
        if await InboundNotice.count().where(InboundNotice.told_at > since) >= NOTICES_PER_HOUR:
            log.warning("Notice to %s not sent: hourly cap reached", address)
            return
        await InboundNotice.insert(InboundNotice(address=address[:254], reason="unknown_sender"))
    await _tell(address, settings.default_locale, "unknown_sender", settings)


async def _tell_held(address: str, locale: str, kinds: set[str], settings: Settings) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    recent = await InboundMessage.count().where(
        (InboundMessage.sender == address)
        & (InboundMessage.outcome == "held")
        & (InboundMessage.received_at > since)
    )
    if recent > HELD_NOTICES_PER_SENDER_HOUR:
        return
    labels = {str(k): v for k, v in PHI_LABELS.items()}
    names = ", ".join(sorted(_translated(locale, labels[k]) if k in labels else k for k in kinds))
    await _tell(address, locale, "held", settings, kinds=names)


async def _tell(address: str, locale: str, kind: str, settings: Settings, **values: Any) -> None:
    """Best effort: a notice that cannot be sent is logged, never retried."""
    message = EmailMessage()
    message["Subject"] = _translated(locale, SUBJECTS[kind])
    message["From"] = formataddr(("Guichet", settings.mail.sender))
    message["To"] = address
    message["Date"] = format_datetime(datetime.now(UTC))
    host = mail_host(settings.base_url)
    message["Message-ID"] = make_msgid(idstring=None, domain=host).replace("<", "<notice-", 1)
    # RFC 3834: an automatic answer; well-behaved systems do not answer it.
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(_translated(locale, BODIES[kind], **values) + "\n")
    try:
        async with transport_for(settings).session() as send:
            await send(message)
    except Exception:
        log.warning("Notice to %s could not be sent", address, exc_info=True)
