"""Notification mails: plain text plus HTML, in the recipient's language, threaded per ticket.

A mail carries the ticket number, title, status and a link, never the description or the
follow-up text unless the deployment asks for them (``MailSettings.include_details``): health
data stays behind the login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime as mail_date
from email.utils import formataddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from server import i18n
from server.domain.notifications import Kind
from server.domain.phi import localise_markers
from server.domain.text import N_
from server.domain.vocabulary import PHI_LABELS, STATUS_LABELS, Status
from server.settings import REPO_ROOT

MAIL_TEMPLATES = REPO_ROOT / "frontend" / "templates" / "mail"
# The time zone the desk's pages show (server.web.rendering): a digest lists when each change
# happened the same way.
DISPLAY_TZ = ZoneInfo("Europe/Paris")

# What happened, one sentence per kind; %(actor)s is who did it.
INTROS = {
    Kind.CREATED: N_("We have received your request; the service desk will handle it."),
    Kind.ASSIGNED: N_("%(actor)s took this ticket in charge or assigned it."),
    Kind.FOLLOW_UP: N_("%(actor)s added a follow-up to this ticket."),
    Kind.STATUS_CHANGED: N_("%(actor)s changed the status of this ticket."),
    Kind.RESOLVED: N_("%(actor)s marked this ticket as resolved."),
    Kind.REOPENED: N_("%(actor)s reopened this ticket."),
    Kind.CLOSED: N_("%(actor)s closed this ticket."),
    Kind.ESCALATED: N_("%(actor)s escalated this ticket to your group."),
    Kind.PENDING_REMINDER: N_(
        "The service desk is still waiting for your answer on this ticket: reply to it."
    ),
    Kind.SHARED: N_("%(actor)s shared this ticket with you."),
    Kind.MERGED: N_(
        "%(actor)s closed this ticket as a duplicate: the work goes on in the ticket it was"
        " merged into."
    ),
    Kind.GROUP_NEW: N_("A new ticket arrived for your group: take it in charge or pass it on."),
}
PRIVATE_NOTE_INTRO = N_("%(actor)s added a private note to this ticket.")


@dataclass(frozen=True, slots=True)
class Change:
    """One earlier change folded into a digest mail (the mail's own facts are the newest)."""

    kind: Kind
    actor_name: str
    created_at: datetime
    private: bool = False
    details: str = ""


@dataclass(frozen=True, slots=True)
class MailFacts:
    """Everything one mail says, loaded by the dispatcher for one outbox row."""

    outbox_id: int
    kind: Kind
    ticket_id: int
    title: str
    status: Status
    establishment_code: str
    to_address: str
    to_name: str
    locale: str
    actor_name: str  # empty: Guichet itself
    created_at: datetime
    private: bool = False
    details: str = ""  # description or follow-up text, only if the deployment allows it
    reply_to: str = ""  # signed reply address; empty when Guichet receives no mail
    auto_close_hours: int = 72  # said in "resolved" mails
    # A digest: the earlier changes this mail also stands for, oldest first.
    earlier: tuple[Change, ...] = ()


def _environment() -> Environment:
    # Autoescape the HTML part only: the text part must keep "&" and "<" as typed.
    env = Environment(
        loader=FileSystemLoader(MAIL_TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship with the code: no stat of every template file on every mail.
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    return env


_ENV = _environment()


def mail_host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def thread_root(ticket_id: int, host: str) -> str:
    """The id every mail about a ticket refers to, so a mail client shows one thread."""
    return f"<ticket-{ticket_id}@{host}>"


def message_id(outbox_id: int, ticket_id: int, host: str) -> str:
    """Deterministic per outbox row: a resend after a crash carries the same id, which lets
    mail systems recognise the duplicate."""
    return f"<outbox-{outbox_id}.{ticket_id}@{host}>"


def _charset(body_encoding: int) -> Charset:
    charset = Charset("utf-8")
    charset.body_encoding = body_encoding
    # Headers in base64 words: with utf-8's default (the shorter of Q and B) the folder
    # measured both encodings again for every character it added to a line, 0.3 ms a mail.
    charset.header_encoding = BASE64
    return charset


# Mostly Latin text reads best quoted-printable; Cyrillic is shorter in base64.
_LATIN, _CYRILLIC = _charset(QP), _charset(BASE64)
_WORDS = _charset(BASE64)  # headers: only its header encoding counts


def _part(text: str, subtype: str) -> MIMEText:
    extra_bytes = len(text.encode()) - len(text)  # about one per Cyrillic letter
    part = MIMEText(text, subtype, _CYRILLIC if extra_bytes * 3 > len(text) else _LATIN)
    del part["MIME-Version"]  # said once, on the message
    return part


def _header(value: str, name: str) -> Header:
    """A header in RFC 2047 words that keep their spaces when folded (the new email API's
    folder dropped the space between two encoded words at a line break, which glued Cyrillic
    subjects together: "не отвечает— Новая")."""
    return Header(value, "us-ascii" if value.isascii() else _WORDS, header_name=name)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _markers(text: str) -> str:
    """Redaction markers named in the recipient's language."""
    return localise_markers(text, lambda kind: i18n.gettext(PHI_LABELS[kind.value]))


def render(facts: MailFacts, *, base_url: str, sender: str) -> Message:
    previous = i18n.get_locale()
    i18n.set_locale(facts.locale)
    try:
        return _render(facts, base_url=base_url, sender=sender)
    finally:
        i18n.set_locale(previous)


def _as_change(facts: MailFacts) -> Change:
    return Change(facts.kind, facts.actor_name, facts.created_at, facts.private, facts.details)


def _change_line(change: Change) -> dict[str, str]:
    intro = PRIVATE_NOTE_INTRO if change.private else INTROS[change.kind]
    return {
        "when": format_datetime(
            change.created_at, "short", tzinfo=DISPLAY_TZ, locale=i18n.get_locale()
        ),
        "what": i18n.gettext(intro) % {"actor": change.actor_name or "Guichet"},
        "details": change.details,
    }


def _render(facts: MailFacts, *, base_url: str, sender: str) -> Message:
    host = mail_host(base_url)
    status = i18n.gettext(STATUS_LABELS[facts.status])
    title = _one_line(_markers(facts.title))
    intro = PRIVATE_NOTE_INTRO if facts.private else INTROS[facts.kind]
    context = {
        "lang": i18n.get_locale(),
        "kind": facts.kind.value,
        "intro": i18n.gettext(intro) % {"actor": facts.actor_name or "Guichet"},
        "number": facts.ticket_id,
        "code": facts.establishment_code,
        "title": title,
        "status": status,
        "link": f"{base_url.rstrip('/')}/tickets/{facts.ticket_id}",
        "details": _markers(facts.details),
        "auto_close_hours": facts.auto_close_hours,
        "reply_to": facts.reply_to,
        "changes": [_change_line(change) for change in facts.earlier]
        + ([_change_line(_as_change(facts))] if facts.earlier else []),
    }
    # Built with the classic MIME classes: the new API (EmailMessage, set_content) parsed
    # every header it was given and cost 1.7 ms a mail against 0.1 ms, the largest part of a
    # ticket creation's CPU with its two mails.
    message = MIMEMultipart("alternative")
    message["Subject"] = _header(
        f"[Guichet #{facts.ticket_id} {facts.establishment_code}] {title} — {status}", "Subject"
    )
    message["From"] = formataddr(("Guichet", sender), charset="utf-8")
    message["To"] = formataddr((_one_line(facts.to_name), facts.to_address), charset="utf-8")
    if facts.reply_to:
        message["Reply-To"] = formataddr(("Guichet", facts.reply_to), charset="utf-8")
    message["Date"] = mail_date(facts.created_at)
    message["Message-ID"] = message_id(facts.outbox_id, facts.ticket_id, host)
    root = thread_root(facts.ticket_id, host)
    message["In-Reply-To"] = root
    message["References"] = root
    # RFC 3834: no vacation replies or loops from automatic mail.
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = i18n.get_locale()
    message.attach(_part(_ENV.get_template("notification.txt").render(context), "plain"))
    message.attach(_part(_ENV.get_template("notification.html").render(context), "html"))
    return message
