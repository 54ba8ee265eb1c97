"""The reports' read model (issue 15): what happened to tickets, hour by hour, kept in the
transaction of each change (``db.report_tally``), so a report sums a few rows per hour of its
period instead of reading tickets.

Hours (since 1970-01-01 UTC), not days: a report's days are the reader's days, whatever their
time zone. Ids are plain integers, 0 meaning "none", as in ``counter_tables``. ``assignee`` is
the technician an event is counted for: the one in charge when it happened, or the author of
the time spent.
"""

from __future__ import annotations

from piccolo.columns import Integer, Varchar
from piccolo.table import Table


class TicketHourTally(Table):
    hour = Integer()
    establishment = Integer()
    assigned_group = Integer()
    category = Integer()
    assignee = Integer()
    created = Integer(default=0)
    resolved = Integer(default=0)
    reopened = Integer(default=0)
    minutes = Integer(default=0)


class TicketDurationTally(Table):
    """How many first responses (or resolutions) took a time within each bucket: enough for
    medians and 90th percentiles without reading tickets (``domain.report_figures.BUCKETS``)."""

    hour = Integer()
    establishment = Integer()
    assigned_group = Integer()
    category = Integer()
    assignee = Integer()
    measure = Varchar(length=20)  # first_response | resolution
    bucket = Integer()
    n = Integer(default=0)


class TicketHourSum(Table):
    """``TicketHourTally`` summed per hour and establishment only: what the activity report
    reads when no group, category or technician narrows it (a few rows per hour, not one per
    group, category and technician). Time spent is kept per ``worker`` (its author); the
    other counts under worker 0."""

    hour = Integer()
    establishment = Integer()
    worker = Integer()
    created = Integer(default=0)
    resolved = Integer(default=0)
    reopened = Integer(default=0)
    minutes = Integer(default=0)


class TicketDurationDay(Table):
    """``TicketDurationTally`` summed per UTC day (``hour // 24``) and establishment: a
    period's whole days are read here, its first and last hours from the hourly tally."""

    day = Integer()
    establishment = Integer()
    measure = Varchar(length=20)
    bucket = Integer()
    n = Integer(default=0)


class TicketSlaTally(Table):
    """Tickets with a service level per block of local days of their creation
    (``domain.day_buckets``: each ticket is in one block of each length), establishment,
    group, priority and the measured state of each target (met, breached or "" while
    running): what the SLA report counts, kept by ``db.sla_tally``."""

    bucket = Integer()
    establishment = Integer()
    assigned_group = Integer()
    priority = Varchar(length=20)
    take_state = Varchar(length=10)
    resolve_state = Varchar(length=10)
    n = Integer(default=0)


REPORT_TABLES: list[type[Table]] = [
    TicketHourTally,
    TicketDurationTally,
    TicketSlaTally,
    TicketHourSum,
    TicketDurationDay,
]
