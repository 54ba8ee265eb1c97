"""Past-tense facts returned by use cases and published after commit.

A use case returns exactly one event per ticket it changed. The event carries the card facts
before and after the change, so every viewer can tell at once whether the card appears, moves
or leaves its board, and column counts stay exact without a query per viewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """Something happened to a ticket. ``kind`` is a dotted name such as ``ticket.moved``."""

    kind: str
    ticket_id: int
    version: int
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = field(default=None)
    # Users who got an in-app notification from this change: their bells are refreshed.
    notified: tuple[int, ...] = ()

    def as_message(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ticket_id": self.ticket_id,
            "version": self.version,
            "before": self.before,
            "after": self.after,
        }
