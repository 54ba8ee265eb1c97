"""Canned replies (issue 15): ready-made answers a technician inserts in the composer.

A reply belongs to one person (``owner``) or to one group (``group``: its members use it);
exactly one of the two is set. ``reference`` ties the translations of one reply together:
the picker shows one entry per reference, in the best language for the ticket.
"""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    OnUpdate,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.db.tables import Group, User

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}


class CannedReply(Table):
    title = Varchar(length=120)
    body = Text()
    language = Varchar(length=5)
    reference = Varchar(length=60, default="")
    owner = ForeignKey(references=User, null=True, index=True, **_KEEP)
    group = ForeignKey(references=Group, null=True, index=True, **_KEEP)
    archived = Boolean(default=False)
    uses = Integer(default=0)
    created_by = ForeignKey(references=User, null=True, **_KEEP)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


CANNED_TABLES: list[type[Table]] = [CannedReply]
