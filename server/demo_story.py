"""Pieces of a demo ticket's story shared by the demo regions."""

from __future__ import annotations

from datetime import datetime

from server.db.tables import HistoryEntry


def opening_entries(
    ticket_id: int, requester_id: int, group_name: str, created: datetime
) -> list[HistoryEntry]:
    """The history every ticket starts with: created by its requester, routed to a group."""
    return [
        HistoryEntry(
            ticket=ticket_id, actor=requester_id, field=field, new_value=value, created_at=created
        )
        for field, value in (("created", "new"), ("group", group_name))
    ]
