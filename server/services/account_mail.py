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
    "verify": N_("Guichet: confirm your e-mail address"),
    "pending": N_("Guichet: an account waits for an establishment"),
    "linked": N_("Guichet: your account is ready"),
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
    "verify": N_(
        "Hello %(name)s,\n\nYou asked for an account on the Guichet service desk. Open this "
        "link within %(hours)s hours to confirm your e-mail address:\n\n%(link)s\n\n"
        "An administrator will then link your account to your establishment. If you did not "
        "ask for an account, ignore this message: nothing will be created."
    ),
    "pending": N_(
        "Hello %(name)s,\n\n%(person)s (%(address)s, %(organisation)s) confirmed their e-mail "
        "address and waits to be linked to an establishment:\n\n%(link)s"
    ),
    "linked": N_(
        "Hello %(name)s,\n\nYour Guichet account is now linked to %(establishment)s: you can "
        "sign in and file tickets.\n\n%(link)s"
    ),
}


def compose(purpose: str, to: str, name: str, path: str, hours: int, locale: str) -> EmailMessage:
    """An account mail carrying a link into Guichet (``path``) valid for ``hours``."""
    link = f"{get_settings().base_url}{path}"
    return _compose_text(purpose, to, locale, name=name or to, link=link, hours=hours)


def _compose_text(purpose: str, to: str, locale: str, **values: object) -> EmailMessage:
    """A mail of ``purpose`` in ``locale`` (the body's %(...)s filled with ``values``)."""
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
        message.set_content(i18n.gettext(BODIES[purpose]) % values)
        message["Content-Language"] = i18n.get_locale()  # after the body, which resets it
    finally:
        i18n.set_locale(previous)
    return message


def compose_pending(
    to: str, locale: str, admin_name: str, person: str, address: str, organisation: str
) -> EmailMessage:
    """To an admin: a verified self-registered account waits for an establishment."""
    link = f"{get_settings().base_url}/admin/users?pending=1"
    return _compose_text(
        "pending",
        to,
        locale,
        name=admin_name or to,
        person=person,
        address=address,
        organisation=organisation,
        link=link,
    )


def compose_linked(to: str, locale: str, name: str, establishment: str) -> EmailMessage:
    """To the person: an admin linked their account to an establishment."""
    link = f"{get_settings().base_url}/tickets/new"
    return _compose_text(
        "linked", to, locale, name=name or to, establishment=establishment, link=link
    )


async def enqueue(message: EmailMessage) -> None:
    """Queue the mail; the dispatcher sends it (with retries) within seconds."""
    await AccountMail.insert(
        AccountMail(recipient=str(message["To"])[:254], message=message.as_string())
    )
