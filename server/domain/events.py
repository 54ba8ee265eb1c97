"""Past-tense facts returned by use cases and published after commit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """Something happened to a ticket. ``kind`` is a dotted name such as ``ticket.moved``."""

    kind: str
    ticket_id: int
    version: int

    def as_message(self) -> dict[str, object]:
        return {"kind": self.kind, "ticket_id": self.ticket_id, "version": self.version}
