"""The team's own address (``Group.email``) is told when a ticket reaches the group: one
link-only mail, queued with the account mails (the address belongs to no account)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from server import i18n
from server.db.mail_tables import AccountMail
from server.db.prepared import SAMPLE_ID, Prepared
from server.db.tables import Group, Ticket
from server.domain.text import N_
from server.services.mail_render import mail_host
from server.settings import get_settings

SUBJECT = N_("[Guichet #%(number)s %(code)s] New ticket for %(group)s")
BODY = N_(
    "A ticket reached the group %(group)s: take it in charge or pass it on.\n\n"
    "Open the ticket: %(link)s\n\n"
    "For confidentiality, this e-mail does not contain what was written on the ticket: "
    "sign in to read it."
)


def compose(to: str, group: str, number: int, code: str, locale: str) -> EmailMessage:
    settings = get_settings()
    previous = i18n.get_locale()
    i18n.set_locale(locale or settings.default_locale)
    try:
        values = {
            "group": group,
            "number": number,
            "code": code,
            "link": f"{settings.base_url.rstrip('/')}/tickets/{number}",
        }
        message = EmailMessage()
        message["Subject"] = i18n.gettext(SUBJECT) % values
        message["From"] = formataddr(("Guichet", settings.mail.sender))
        message["To"] = to
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=mail_host(settings.base_url))
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(i18n.gettext(BODY) % values + "\n")
        message["Content-Language"] = i18n.get_locale()  # after the body, which resets it
    finally:
        i18n.set_locale(previous)
    return message


async def group_name_and_address(group_id: int) -> dict[str, str] | None:
    """``{"name", "email"}`` of a group, or None: read once by a use case that also names
    the group in the ticket's history."""
    return await _GROUP_NAME_AND_ADDRESS.first(group_id)  # type: ignore[return-value]


# Compiled once (server.db.prepared): read on every ticket created.
_GROUP_NAME_AND_ADDRESS = Prepared(
    lambda group_id: Group.select(Group.name, Group.email).where(Group.id == group_id).first(),
    SAMPLE_ID,
)


async def tell_group_address(
    ticket_id: int, group_id: int | None, *, group: dict[str, str] | None = None
) -> bool:
    """Inside the use case's transaction. Returns whether a mail was queued. ``group`` is
    what ``group_name_and_address`` gave, when the caller already read it."""
    if group_id is None:
        return False
    if group is None:
        group = await group_name_and_address(group_id)
    if group is None or not group["email"]:
        return False
    code = await Ticket.select(Ticket.establishment.code).where(Ticket.id == ticket_id).first()
    message = compose(
        group["email"],
        group["name"],
        ticket_id,
        code["establishment.code"] if code else "",
        get_settings().default_locale,
    )
    await AccountMail.insert(
        AccountMail(recipient=group["email"][:254], message=message.as_string())
    )
    return True


__all__ = ["compose", "group_name_and_address", "tell_group_address"]
