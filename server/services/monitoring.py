"""Alerts from a monitoring system: one open ticket per alert key and establishment.

The first alert opens a ticket (source "monitoring"); while that ticket is open, the same
alert again adds a follow-up to it instead. Race-safe: the database holds a unique partial
index on (establishment, dedup_key) over open tickets. On SQLite write transactions are
serialised, so the second alert sees the first ticket; on PostgreSQL two alerts may both find
none, and the second insert then fails on the index once the first commits: that alert is
simply handled again, and finds the ticket.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

from server.db.engine import write_transaction
from server.db.tables import Ticket
from server.domain.actors import Actor
from server.domain.errors import Forbidden, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.forms import NewFollowUp, NewTicket
from server.domain.text import N_
from server.domain.vocabulary import Source, Status
from server.services import tickets

try:
    import asyncpg
except ImportError:  # pragma: no cover
    asyncpg = None  # type: ignore[assignment]

KEY_MAX = 200
# Two alerts can collide at most once each: the retry finds the committed ticket.
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    ticket_id: int
    created: bool
    events: list[TicketEvent]


def parse_key(raw: str) -> str:
    key = raw.strip()
    if not key or len(key) > KEY_MAX or any(ord(c) < 32 for c in key):
        raise ValidationFailed({"dedup_key": N_("This value is not valid.")})
    return key


def _duplicate_key(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "ticket_open_dedup_key" in str(exc) or "dedup_key" in str(exc)
    return asyncpg is not None and isinstance(exc, asyncpg.UniqueViolationError)


async def _open_ticket_for(actor: Actor, key: str) -> int | None:
    row = (
        await Ticket.select(Ticket.id)
        .where(
            (Ticket.establishment == actor.establishment_id)
            & (Ticket.dedup_key == key)
            & Ticket.status.not_in([Status.RESOLVED.value, Status.CLOSED.value])
        )
        .first()
    )
    return row["id"] if row else None


async def _once(actor: Actor, key: str, data: NewTicket, repeat_text: str) -> AlertOutcome:
    async with write_transaction():
        existing = await _open_ticket_for(actor, key)
        if existing is not None:
            _id, events = await tickets.add_follow_up(
                actor, existing, NewFollowUp(text=repeat_text, private=False, minutes=0)
            )
            return AlertOutcome(existing, False, events)
        ticket_id, events = await tickets.open_ticket(
            actor, replace(data, source=Source.MONITORING)
        )
        # In the same transaction: the unique index decides between simultaneous alerts.
        await Ticket.update({Ticket.dedup_key: key}).where(Ticket.id == ticket_id)
        return AlertOutcome(ticket_id, True, events)


async def file_alert(actor: Actor, key: str, data: NewTicket, repeat_text: str) -> AlertOutcome:
    """Open a ticket for the alert, or add ``repeat_text`` to the open one with its key."""
    if not actor.active or actor.establishment_id is None:
        raise Forbidden()
    key = parse_key(key)
    for attempt in range(ATTEMPTS):
        try:
            return await _once(actor, key, data, repeat_text)
        except Exception as exc:
            if not _duplicate_key(exc) or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
