"""Outbound webhooks: admins configure receivers; ticket events are queued for them in the
transaction of the change (from server.services.notifications.enqueue, like mails), and the
mail dispatcher delivers the queue with the same claims, leases and backoff as mail.

Exactly one logical delivery: each queued event has a ``delivery_id`` sent with every attempt
(header and body); a receiver that answered 2xx is not called again for it, and a receiver
that saw an attempt whose answer was lost can drop the repeat by that id.

Receivers are configured by admins only; still, only http(s) URLs are accepted, redirects are
not followed, and each attempt has a short timeout so a slow receiver cannot hold the queue.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx

from server.db.config_cache import cached
from server.db.engine import write_transaction
from server.db.establishment_tree import establishment_parents
from server.db.tables import Establishment
from server.db.webhook_tables import Webhook, WebhookDelivery
from server.domain import webhooks as rules
from server.domain.actors import Actor
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.notifications import Kind
from server.domain.permissions import can_administer
from server.domain.text import N_
from server.settings import get_settings

log = logging.getLogger("guichet.webhooks")

TIMEOUT_SECONDS = 10.0


def _now() -> datetime:
    return datetime.now(UTC)


def _admin(actor: Actor) -> None:
    if not can_administer(actor):
        raise Forbidden()


async def create(
    actor: Actor, *, url: str, events: Iterable[str], establishment_id: int | None
) -> tuple[int, str]:
    """A new receiver; returns its id and its secret (shown this once)."""
    _admin(actor)
    clean_url = rules.parse_url(url)
    kinds = rules.parse_events(events)
    secret = secrets.token_urlsafe(32)
    async with write_transaction():
        if establishment_id is not None and not await Establishment.exists().where(
            Establishment.id == establishment_id
        ):
            raise ValidationFailed({"establishment_id": N_("Choose one of the proposed values.")})
        row = await Webhook.insert(
            Webhook(
                url=clean_url,
                secret=secret,
                events=",".join(k.value for k in kinds),
                establishment=establishment_id,
                created_by=actor.id,
            )
        ).returning(Webhook.id)
    return row[0]["id"], secret


async def listing() -> list[dict[str, Any]]:
    """Every receiver, without its secret, with its queue's state."""
    rows = await Webhook.select(
        Webhook.id,
        Webhook.url,
        Webhook.events,
        Webhook.establishment,
        Webhook.establishment.code.as_alias("establishment_code"),
        Webhook.active,
        Webhook.created_at,
    ).order_by(Webhook.id)
    for row in rows:
        row["events"] = [rules.event_name(Kind(k)) for k in row["events"].split(",") if k]
        row["waiting"] = await WebhookDelivery.count().where(
            (WebhookDelivery.webhook == row["id"]) & WebhookDelivery.sent_at.is_null()
        )
    return rows


async def set_active(actor: Actor, webhook_id: int, active: bool) -> None:
    _admin(actor)
    async with write_transaction():
        updated = (
            await Webhook.update({Webhook.active: active})
            .where(Webhook.id == webhook_id)
            .returning(Webhook.id)
        )
    if not updated:
        raise NotFound()


async def delete(actor: Actor, webhook_id: int) -> None:
    """The receiver and its queue (deliveries not made yet are dropped with it)."""
    _admin(actor)
    async with write_transaction():
        if not await Webhook.exists().where(Webhook.id == webhook_id):
            raise NotFound()
        await WebhookDelivery.delete().where(WebhookDelivery.webhook == webhook_id)
        await Webhook.delete().where(Webhook.id == webhook_id)


async def _active_hooks() -> list[dict[str, Any]]:
    """Active receivers, kept in memory until the configuration changes (a trigger on the
    webhook table bumps its generation): a ticket change reads no table for them."""

    async def read() -> list[dict[str, Any]]:
        return await Webhook.select(Webhook.id, Webhook.events, Webhook.establishment).where(
            Webhook.active == True  # noqa: E712
        )

    return await cached("webhooks", read)


async def _establishment_codes() -> dict[int, str]:
    async def read() -> dict[int, str]:
        rows = await Establishment.select(Establishment.id, Establishment.code)
        return {r["id"]: r["code"] for r in rows}

    return await cached("establishment_codes", read)


async def _ancestors(establishment_id: int) -> set[int]:
    """The establishment and every establishment above it."""
    parents = await establishment_parents()
    chain: set[int] = set()
    current: int | None = establishment_id
    while current is not None and current not in chain:
        chain.add(current)
        current = parents.get(current)
    return chain


async def enqueue(kind: Kind, ticket: dict[str, Any], *, private: bool = False) -> int:
    """Queue one delivery per active receiver that wants ``kind`` for the ticket's
    establishment. Call inside the change's transaction. Private notes are not announced."""
    if kind not in rules.EVENT_KINDS or private:
        return 0
    hooks = await _active_hooks()
    if not hooks:
        return 0
    chain = await _ancestors(ticket["establishment"])
    wanted = [
        h
        for h in hooks
        if kind.value in h["events"].split(",")
        and (h["establishment"] is None or h["establishment"] in chain)
    ]
    occurred_at = _now()
    base_url = get_settings().base_url
    for hook in wanted:
        delivery_id = str(uuid.uuid4())
        await WebhookDelivery.insert(
            WebhookDelivery(
                webhook=hook["id"],
                event=rules.event_name(kind),
                delivery_id=delivery_id,
                body=rules.body(
                    delivery_id=delivery_id,
                    kind=kind,
                    occurred_at=occurred_at,
                    ticket=ticket,
                    establishment_code=(await _establishment_codes()).get(
                        ticket["establishment"], ""
                    ),
                    base_url=base_url,
                ),
                created_at=occurred_at,
                next_attempt_at=occurred_at,
            )
        )
    return len(wanted)


class ReceiverRefused(Exception):
    """The receiver answered, but not with 2xx: try again later."""


async def deliver(client: httpx.AsyncClient, delivery_id: int) -> bool:
    """One attempt for one queued delivery. True once the receiver accepted it (2xx) or the
    receiver is gone or disabled (nothing left to do); raises on a failure to retry."""
    row = (
        await WebhookDelivery.select(
            WebhookDelivery.delivery_id,
            WebhookDelivery.event,
            WebhookDelivery.body,
            WebhookDelivery.webhook.url.as_alias("url"),
            WebhookDelivery.webhook.secret.as_alias("secret"),
            WebhookDelivery.webhook.active.as_alias("active"),
        )
        .where(WebhookDelivery.id == delivery_id)
        .first()
    )
    if row is None or not row["active"]:
        return True
    raw = row["body"].encode()
    response = await client.post(
        row["url"],
        content=raw,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Guichet-Webhooks/1",
            rules.EVENT_HEADER: row["event"],
            rules.DELIVERY_HEADER: row["delivery_id"],
            rules.SIGNATURE_HEADER: rules.signature(row["secret"], raw),
        },
    )
    if not 200 <= response.status_code < 300:
        raise ReceiverRefused(f"HTTP {response.status_code}")
    return True


def client() -> httpx.AsyncClient:
    # No redirects: the admin chose this address, not the receiver's server.
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False)
