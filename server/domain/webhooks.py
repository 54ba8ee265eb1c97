"""Outbound webhooks: which events exist, what a delivery carries, how it is signed, and
which receiver URLs are accepted. Pure rules, no I/O.

A delivery never carries more than the link-only notification mail does (server.services.
mail_render: number, title, status, establishment code, link): never the description, a
follow-up's text or a person's name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from server.domain.errors import ValidationFailed
from server.domain.notifications import Kind
from server.domain.text import N_

# Kinds announced to receivers; reminders and shares speak to one person, not to systems.
EVENT_KINDS: tuple[Kind, ...] = (
    Kind.CREATED,
    Kind.ASSIGNED,
    Kind.STATUS_CHANGED,
    Kind.FOLLOW_UP,
    Kind.ESCALATED,
    Kind.RESOLVED,
    Kind.REOPENED,
    Kind.CLOSED,
)
SIGNATURE_HEADER = "X-Guichet-Signature"
DELIVERY_HEADER = "X-Guichet-Delivery"
EVENT_HEADER = "X-Guichet-Event"


def event_name(kind: Kind) -> str:
    return f"ticket.{kind.value}"


def parse_events(raw: Iterable[str]) -> tuple[Kind, ...]:
    chosen: list[Kind] = []
    for value in raw:
        name = value.removeprefix("ticket.")
        kind = next((k for k in EVENT_KINDS if k.value == name), None)
        if kind is None:
            raise ValidationFailed({"events": N_("Choose one of the proposed values.")})
        if kind not in chosen:
            chosen.append(kind)
    if not chosen:
        raise ValidationFailed({"events": N_("Choose at least one event.")})
    return tuple(chosen)


def parse_url(raw: str) -> str:
    """An http(s) URL with a host and no credentials in it (they would be logged and shown)."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if (
        parts is None
        or not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or len(url) > 500
        or any(ord(c) < 33 for c in url)
    ):
        raise ValidationFailed({"url": N_("Enter an http:// or https:// address.")})
    return url


def body(
    *,
    delivery_id: str,
    kind: Kind,
    occurred_at: datetime,
    ticket: dict[str, Any],
    establishment_code: str,
    base_url: str,
) -> str:
    """The JSON document sent, as text: it is stored, signed and sent byte for byte."""
    document = {
        "id": delivery_id,
        "event": event_name(kind),
        "occurred_at": occurred_at.isoformat(),
        "ticket": {
            "id": ticket["id"],
            "number": f"#{ticket['id']}",
            "title": ticket["title"],
            "status": ticket["status"],
            "establishment": establishment_code,
            "version": ticket["version"],
            "url": f"{base_url.rstrip('/')}/tickets/{ticket['id']}",
        },
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def signature(secret: str, raw_body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw body with the webhook's secret."""
    return "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify(secret: str, raw_body: bytes, header: str) -> bool:
    """What a receiver does (documented, and used by the tests)."""
    return hmac.compare_digest(signature(secret, raw_body), header)
