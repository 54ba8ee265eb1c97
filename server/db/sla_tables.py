"""Tables of service levels, business calendars, maintenance windows, announcements and the
computed SLA state of each ticket (issue 7).

Configuration rows are small and edited by admins; their shape mirrors ``domain.sla``.
``TicketSla`` holds what the pure function computed, so lists and the board colour and sort
without recomputing, and the scheduler finds what to look at next (``next_check_at``).
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

from server.db.tables import Category, Establishment, Group, Ticket

_KEEP = {"on_delete": OnDelete.restrict, "on_update": OnUpdate.restrict}


class BusinessCalendar(Table):
    """Working hours per weekday, holidays and time zone."""

    name = Varchar(length=120, unique=True)
    timezone = Varchar(length=64, default="Europe/Paris")
    # JSON: seven lists (Monday first) of ["HH:MM", "HH:MM"] intervals; "00:00" end = midnight.
    hours = Text(default="[[], [], [], [], [], [], []]")
    # One ISO date per line (whole local days off).
    holidays = Text(default="")


class EstablishmentCalendar(Table):
    """The calendar of an establishment; children without one inherit their parent's."""

    establishment = ForeignKey(references=Establishment, unique=True, on_delete=OnDelete.cascade)
    calendar = ForeignKey(references=BusinessCalendar, **_KEEP)


class MaintenanceWindow(Table):
    """A window that stops the clock: weekly (weekday + local times) or one-off (instants).
    Applies to an establishment (and its children) and/or a category (and its children), or
    to everything when both are empty."""

    name = Varchar(length=120)
    kind = Varchar(length=10, default="weekly")  # weekly | once
    weekday = Integer(null=True, default=None)  # 0 = Monday
    start_time = Varchar(length=5, default="")  # HH:MM, local, weekly windows
    end_time = Varchar(length=5, default="")
    starts_at = Timestamptz(null=True, default=None)  # one-off windows
    ends_at = Timestamptz(null=True, default=None)
    establishment = ForeignKey(references=Establishment, null=True, on_delete=OnDelete.cascade)
    category = ForeignKey(references=Category, null=True, on_delete=OnDelete.cascade)


class SlaPolicy(Table):
    """Targets for a priority, optionally only for a category (and its children) and/or a
    ticket type; the most specific active policy wins. A target is business minutes or a
    number of business days ("by the end of the next business day")."""

    name = Varchar(length=120)
    priority = Varchar(length=20)
    category = ForeignKey(references=Category, null=True, on_delete=OnDelete.cascade)
    ticket_type = Varchar(length=20, default="")  # empty: any type
    take_minutes = Integer(null=True, default=None)
    take_business_days = Integer(null=True, default=None)
    resolve_minutes = Integer(null=True, default=None)
    resolve_business_days = Integer(null=True, default=None)
    active = Boolean(default=True)
    # Escalation on breach (either target), run once per target by the scheduler.
    breach_notify = Boolean(default=True)  # mail the group in charge and the supervisors
    breach_raise_priority = Boolean(default=False)
    breach_group = ForeignKey(references=Group, null=True, on_delete=OnDelete.set_null)
    # "Nothing happened within N hours of submission: escalate to the next tier" (Ontario).
    idle_hours = Integer(null=True, default=None)


class TicketSla(Table):
    """The SLA state of one ticket as last computed (in the transaction of its change)."""

    ticket = ForeignKey(references=Ticket, unique=True, on_delete=OnDelete.cascade)
    policy = ForeignKey(references=SlaPolicy, null=True, on_delete=OnDelete.set_null)
    take_due_at = Timestamptz(null=True, default=None)
    take_state = Varchar(length=10, default="")
    take_met_at = Timestamptz(null=True, default=None)
    resolve_due_at = Timestamptz(null=True, default=None, index=True)
    resolve_state = Varchar(length=10, default="")
    resolve_met_at = Timestamptz(null=True, default=None)
    paused = Boolean(default=False)
    computed_at = Timestamptz(default=TimestamptzNow())
    # When a state may change next (at risk, breach): the scheduler looks again then.
    next_check_at = Timestamptz(null=True, default=None, index=True)
    take_escalated = Boolean(default=False)
    resolve_escalated = Boolean(default=False)
    idle_escalated = Boolean(default=False)
    # The ticket's fields this row is counted under in the SLA report's tally
    # (``db.sla_tally``): what to take away when they change.
    counted_establishment = Integer(default=0)
    counted_group = Integer(default=0)
    counted_priority = Varchar(length=20, default="")


class Announcement(Table):
    """A planned maintenance or an ongoing outage, shown as a banner from ``display_from``
    until ``ends_at``. Empty establishment and category lists mean everyone."""

    kind = Varchar(length=12, default="maintenance")  # maintenance | outage
    title = Varchar(length=200)
    body = Text(default="")
    display_from = Timestamptz()
    starts_at = Timestamptz()
    ends_at = Timestamptz(index=True)
    establishment_ids = Varchar(length=500, default="")  # comma-separated ids
    category_ids = Varchar(length=500, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # Set by whoever pushed the banner live (the admin's save or the scheduler).
    published_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)


SLA_TABLES: list[type[Table]] = [
    BusinessCalendar,
    EstablishmentCalendar,
    MaintenanceWindow,
    SlaPolicy,
    TicketSla,
    Announcement,
]
