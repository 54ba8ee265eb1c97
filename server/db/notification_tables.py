"""Tables of in-app notifications and received mail (issue 6).

In-app notifications are written in the same transaction as the outbox rows of the change
they announce. Received mail is recorded by Message-ID (hashed) before anything is created
from it, so a re-delivered mail creates nothing twice.
"""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    OnUpdate,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.db.tables import FollowUp, Ticket, User

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}


class InAppNotification(Table):
    """One line in a user's notification list (the bell counts those with no ``read_at``)."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=30)
    ticket = ForeignKey(references=Ticket, index=True, **_KEEP)
    actor = ForeignKey(references=User, null=True, **_KEEP)  # null: Guichet itself
    follow_up = ForeignKey(references=FollowUp, null=True, **_KEEP)
    private = Boolean(default=False)
    status = Varchar(length=20, default="")  # the ticket's status when it happened
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    read_at = Timestamptz(null=True, default=None)
    # Unread changes of one ticket fold into one line (the newest), so six quick moves ring
    # the bell once: how many it stands for.
    changes = Integer(default=1)


class InAppPreference(Table):
    """A user's in-app choice for one kind (``NotificationPreference`` holds the e-mail one).
    No row means enabled: only opt-outs are stored."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=30)
    enabled = Boolean(default=True)


class InboundMessage(Table):
    """Every mail the receiver accepted, by the SHA-256 of its Message-ID, and what came of
    it. The content is not kept (it may hold health data): only the outcome."""

    message_key = Varchar(length=64, unique=True)
    sender = Varchar(length=254, default="")
    outcome = Varchar(length=30)  # ticket | follow_up | ignored | unknown_sender | held | refused
    reason = Varchar(length=200, default="")
    ticket = ForeignKey(references=Ticket, null=True, **_KEEP)
    follow_up = ForeignKey(references=FollowUp, null=True, **_KEEP)
    received_at = Timestamptz(default=TimestamptzNow(), index=True)


class InboundNotice(Table):
    """Addresses Guichet already wrote to about a refused mail (unknown sender), and when:
    each is told once, and the total per hour is capped, so Guichet cannot be used to send
    mail to third parties by forging senders."""

    address = Varchar(length=254, unique=True)
    reason = Varchar(length=30, default="")
    told_at = Timestamptz(default=TimestamptzNow(), index=True)


NOTIFICATION_TABLES: list[type[Table]] = [
    InAppNotification,
    InAppPreference,
    InboundMessage,
    InboundNotice,
]
