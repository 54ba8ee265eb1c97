"""Intake (issue 14): the group receiving an establishment's unrouted tickets, and the facts
of how a ticket came in (who filed it for the requester, the contact's e-mail and phones)."""

from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, OnUpdate, Text, Varchar
from piccolo.table import Table

from server.db.tables import Establishment, Group, Ticket, User

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}


class IntakeGroup(Table):
    """The group an establishment's tickets go to when their category names none. Inherited
    by the establishments below that have no row of their own."""

    establishment = ForeignKey(references=Establishment, unique=True, **_KEEP)
    group = ForeignKey(references=Group, on_delete=OnDelete.cascade, index=True)


class TicketIntake(Table):
    """How a ticket came in, beyond ``Ticket.source``: one row per ticket that has any."""

    ticket = ForeignKey(references=Ticket, unique=True, **_KEEP)
    filed_by = ForeignKey(references=User, null=True, **_KEEP)  # staff filing for someone
    contact_email = Varchar(length=254, default="")
    phones = Text(default="")  # one number per line


INTAKE_TABLES: list[type[Table]] = [IntakeGroup, TicketIntake]
