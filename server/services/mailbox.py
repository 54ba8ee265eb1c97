"""Read the mails the file backend wrote under ``var/mail`` (development: no mail server)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

# The names FileTransport writes; anything else (or a path) is never opened.
_NAME = re.compile(r"[0-9A-Za-z_-]{1,80}\.eml")


@dataclass(frozen=True, slots=True)
class StoredMail:
    name: str
    subject: str
    to: str
    date: datetime | None


@dataclass(frozen=True, slots=True)
class MailContent:
    mail: StoredMail
    headers: list[tuple[str, str]]
    text: str


def _parse(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


def _summary(name: str, message: EmailMessage) -> StoredMail:
    date_header = message["Date"]
    return StoredMail(
        name=name,
        subject=str(message["Subject"] or ""),
        to=str(message["To"] or ""),
        date=getattr(date_header, "datetime", None),
    )


def list_mails(directory: Path, limit: int = 100) -> list[StoredMail]:
    """The newest mails first (file names start with the time they were written)."""
    if not directory.is_dir():
        return []
    names = sorted(
        (p.name for p in directory.glob("*.eml") if _NAME.fullmatch(p.name)), reverse=True
    )
    return [_summary(name, _parse(directory / name)) for name in names[:limit]]


def read_mail(directory: Path, name: str) -> MailContent | None:
    if not _NAME.fullmatch(name) or not (directory / name).is_file():
        return None
    message = _parse(directory / name)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    headers = [(key, str(value)) for key, value in message.items()]
    return MailContent(mail=_summary(name, message), headers=headers, text=text)
