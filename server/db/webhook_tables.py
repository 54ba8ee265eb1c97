"""Outbound webhooks: what admins configured, and the deliveries queued for them.

Deliveries are a queue like the outbox (same claim, backoff and stamp columns), drained by the
mail dispatcher (server.services.mail_dispatcher); rows are written in the transaction of the
change they announce, so a change that rolls back announces nothing.
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.db.tables import Establishment, User


class Webhook(Table):
    """A receiver: its URL, the secret its deliveries are signed with (shown once), the event
    kinds it wants (comma-separated) and the establishment subtree (null: every one)."""

    url = Varchar(length=500)
    secret = Varchar(length=100)
    events = Text(default="")
    establishment = ForeignKey(references=Establishment, null=True, on_delete=OnDelete.cascade)
    active = Boolean(default=True)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table):
    """One event for one webhook. ``delivery_id`` is sent with every attempt, so the receiver
    can drop a repeat; ``body`` is the exact bytes signed and sent."""

    webhook = ForeignKey(references=Webhook, index=True, on_delete=OnDelete.cascade)
    event = Varchar(length=40)
    delivery_id = Varchar(length=40, unique=True)
    body = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)
    claimed_by = Varchar(length=64, null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")


WEBHOOK_TABLES: list[type[Table]] = [Webhook, WebhookDelivery]
