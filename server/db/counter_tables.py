"""Ticket counts kept up to date in the transaction of each change (issue 12).

Ids are plain integers, 0 meaning "none", so a key is never NULL and one upsert finds its
row; foreign-key checks would only slow every change down for numbers nobody joins on.
"""

from __future__ import annotations

from piccolo.columns import Boolean, Integer, Varchar
from piccolo.table import Table


class TicketCounter(Table):
    """How many tickets share every field the board filters on and the access policy reads.
    ``closed_day`` (days since 1970-01-01, UTC) lets the board sum only what closed recently;
    tickets that are not closed carry ``counters.NOT_CLOSED``, above any real day."""

    status = Varchar(length=20)
    closed_day = Integer()
    establishment = Integer()
    assigned_group = Integer()
    assignee = Integer()
    category = Integer()
    priority_rank = Integer()
    shared = Boolean()
    n = Integer(default=0)


class TicketTally(Table):
    """The same counts without the board-only fields, small enough to sum for /overview."""

    status = Varchar(length=20)
    establishment = Integer()
    assigned_group = Integer()
    assignee = Integer()
    n = Integer(default=0)


COUNTER_TABLES: list[type[Table]] = [TicketCounter, TicketTally]
