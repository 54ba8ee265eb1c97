"""Mails about an account (activation and password-reset links), queued like ticket
notifications so a request never waits for, nor depends on, the mail relay."""

from __future__ import annotations

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AccountMail(Table):
    """One composed mail, sent by the dispatcher with the same claims, backoff and probe as
    the outbox. ``message`` holds a single-use link: it is emptied once the mail is sent."""

    recipient = Varchar(length=254)
    message = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)
    claimed_by = Varchar(length=64, null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")


MAIL_TABLES: list[type[Table]] = [AccountMail]
