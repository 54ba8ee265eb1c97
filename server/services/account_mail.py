"""Mails about an account (invitation, password reset): composed when asked for, then queued
for the mail dispatcher like every other mail. The request never talks to the relay, so its
timing tells nothing about whether an account exists, and a relay outage loses no mail."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from server import i18n
from server.db.mail_tables import AccountMail
from server.domain.text import N_
from server.settings import get_settings

SUBJECTS = {
    "activate": N_("Your Guichet account: choose your password"),
    "reset": N_("Guichet: reset your password"),
}
BODIES = {
    "activate": N_(
        "Hello %(name)s,\n\nAn account was created for you on the Guichet service desk. "
        "Open this link within %(hours)s hours to choose your password:\n\n%(link)s\n\n"
        "If you were not expecting this message, ignore it."
    ),
    "reset": N_(
        "Hello %(name)s,\n\nSomeone asked to reset the password of your Guichet account. "
        "Open this link within %(hours)s hours to choose a new one:\n\n%(link)s\n\n"
        "If it was not you, ignore this message: your password stays as it is."
    ),
}


def compose(purpose: str, to: str, name: str, path: str, hours: int, locale: str) -> EmailMessage:
    settings = get_settings()
    previous = i18n.get_locale()
    i18n.set_locale(locale or settings.default_locale)
    try:
        message = EmailMessage()
        message["Subject"] = i18n.gettext(SUBJECTS[purpose])
        message["From"] = settings.mail.sender
        message["To"] = to
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="guichet.invalid")
        message["Auto-Submitted"] = "auto-generated"
        message["Content-Language"] = i18n.get_locale()
        link = f"{settings.base_url}{path}"
        message.set_content(
            i18n.gettext(BODIES[purpose]) % {"name": name or to, "link": link, "hours": hours}
        )
    finally:
        i18n.set_locale(previous)
    return message


async def enqueue(message: EmailMessage) -> None:
    """Queue the mail; the dispatcher sends it (with retries) within seconds."""
    await AccountMail.insert(
        AccountMail(recipient=str(message["To"])[:254], message=message.as_string())
    )
