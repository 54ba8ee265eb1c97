"""Signed reply addresses: ``<local>+<ticket>.<user>.<mac>@<domain>``.

Each notification carries one as Reply-To. The MAC (HMAC-SHA256 over ticket and user with a
secret) proves Guichet issued the address to that user for that ticket, so a reply cannot be
pointed at another ticket by editing a number. Pure functions: the secret is a parameter.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

MAC_CHARS = 20  # 80 bits of HMAC-SHA256, hex
_TOKEN = re.compile(r"^(?P<ticket>[0-9]{1,12})\.(?P<user>[0-9]{1,12})\.(?P<mac>[0-9a-f]{1,64})$")


@dataclass(frozen=True, slots=True)
class ReplyToken:
    ticket_id: int
    user_id: int


def _mac(secret: str, ticket_id: int, user_id: int) -> str:
    digest = hmac.new(
        secret.encode(), f"reply:{ticket_id}.{user_id}".encode(), hashlib.sha256
    ).hexdigest()
    return digest[:MAC_CHARS]


def reply_address(secret: str, sender: str, ticket_id: int, user_id: int) -> str:
    """The address a recipient replies to, built on the sender's mailbox (sub-addressing)."""
    local, _, domain = sender.rpartition("@")
    local = local.split("+", 1)[0] or "guichet"
    return f"{local}+{ticket_id}.{user_id}.{_mac(secret, ticket_id, user_id)}@{domain}"


def token_part(address: str) -> str | None:
    """The part after ``+`` in the local part, or None when the address carries none."""
    local = address.strip().strip("<>").rpartition("@")[0]
    if "+" not in local:
        return None
    return local.split("+", 1)[1]


def verify(secret: str, address: str) -> ReplyToken | None:
    """The ticket and user a reply address names, if its MAC is right (constant-time)."""
    part = token_part(address)
    if part is None:
        return None
    match = _TOKEN.match(part.lower())
    if match is None:
        return None
    ticket_id, user_id = int(match["ticket"]), int(match["user"])
    if not hmac.compare_digest(match["mac"], _mac(secret, ticket_id, user_id)):
        return None
    return ReplyToken(ticket_id=ticket_id, user_id=user_id)
