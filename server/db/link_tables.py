"""Links between tickets (issue 15): related, duplicate of, child of.

One row per link, read in both directions. ``kind`` says what ``source`` is to ``target``:
``related`` (symmetric, stored once with the smaller id as source), ``duplicate`` (source is a
duplicate of target, the kept ticket) or ``child`` (source is a child of target, the parent).
"""

from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, OnUpdate, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.db.tables import Ticket, User
from server.domain.links import LinkKind

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}


class TicketLink(Table):
    source = ForeignKey(references=Ticket, index=True, **_KEEP)
    target = ForeignKey(references=Ticket, index=True, **_KEEP)
    kind = Varchar(length=20, choices=LinkKind)
    created_by = ForeignKey(references=User, null=True, **_KEEP)  # null: Guichet itself
    created_at = Timestamptz(default=TimestamptzNow())


LINK_TABLES: list[type[Table]] = [TicketLink]
