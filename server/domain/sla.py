"""Service-level targets measured in business time, from a ticket's status history.

The model:

* A :class:`Calendar` belongs to an establishment: its time zone, its working hours per weekday
  (wall-clock, several intervals a day allowed, 24/7 possible), its holidays (whole local days
  off) and the maintenance windows that apply to it (weekly, like Sunday 00:00-06:00, or
  one-off). Which windows apply (per service or per establishment) is the caller's choice.
* Business time is working time minus holidays, maintenance windows and pauses. Working
  intervals are laid out in local wall-clock time and converted to real instants with zoneinfo,
  so 08:00-18:00 is ten hours on a DST Sunday, while an interval that crosses the change
  counts the real elapsed time (00:00-06:00 is five hours in spring, seven in autumn). Local
  times skipped by the spring change are moved forward, repeated times take the first occurrence.
* A :class:`Target` is an amount of business time, or "by the end of the n-th business day after
  the day of opening" (the Ontario desk acknowledges by the next business day). The latter is
  turned into an amount of working time at opening, so pauses and maintenance push both kinds
  alike: neither counts against the desk.
* Two targets per ticket: taking in charge (first move out of "new": assignment, planning, a
  question to the requester, or a resolution) and resolution. The resolution clock stops while
  the ticket is pending and while it is resolved or closed; a reopened ticket resumes its
  resolution clock where it stopped, with the same budget.
* :func:`due` evaluates both targets from the history and an explicit ``now``; nothing here
  reads the clock. History after ``now`` is ignored, so the same call answers "as of then".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

from server.domain.vocabulary import Status

Span = tuple[time, time]  # local wall-clock; an end of 00:00 means midnight at the end of the day
Interval = tuple[datetime, datetime]  # real instants, start < end

MIDNIGHT = time(0)
AT_RISK_FRACTION = 0.8
# How far ahead to look for business time before deciding a calendar has none.
HORIZON = timedelta(days=3660)
DAY = timedelta(days=1)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Working intervals for each weekday, Monday first, in the establishment's wall-clock time."""

    week: tuple[tuple[Span, ...], ...]

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("working hours need seven weekdays")
        for spans in self.week:
            previous_end = MIDNIGHT
            for index, (start, end) in enumerate(spans):
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError("working hours are wall-clock times, without time zone")
                to_midnight = end == MIDNIGHT
                if not to_midnight and end <= start:
                    raise ValueError("a working interval must end after it starts")
                if index and start < previous_end:
                    raise ValueError("working intervals must be sorted and must not overlap")
                if to_midnight and index != len(spans) - 1:
                    raise ValueError("only the last interval of a day can run to midnight")
                previous_end = end

    @classmethod
    def of(cls, days: Mapping[int, Sequence[Span]]) -> WorkingHours:
        """From a mapping weekday (0 = Monday) -> intervals; missing days are days off."""
        return cls(tuple(tuple(days.get(weekday, ())) for weekday in range(7)))

    @classmethod
    def office(cls, start: time, end: time, weekdays: Iterable[int] = range(5)) -> WorkingHours:
        """The same single interval on the given weekdays (Monday to Friday by default)."""
        return cls.of(dict.fromkeys(weekdays, ((start, end),)))

    @classmethod
    def always(cls) -> WorkingHours:
        """Around the clock, every day (a 24/7 desk)."""
        return cls.office(MIDNIGHT, MIDNIGHT, range(7))

    def on(self, weekday: int) -> tuple[Span, ...]:
        return self.week[weekday]


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """A recurring maintenance window in the calendar's local time.

    An end at or before the start runs into the next day (Saturday 22:00-02:00); 00:00-00:00
    is the whole day.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.weekday not in range(7):
            raise ValueError("weekday is 0 (Monday) to 6 (Sunday)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("a weekly window is in wall-clock time, without time zone")

    def occurrences(self, zone: ZoneInfo, first: date, last: date) -> Iterator[Interval]:
        """Occurrences that may touch the local days ``first`` to ``last``."""
        day = first - DAY
        while day <= last:
            if day.weekday() == self.weekday:
                end_day = day + DAY if self.end <= self.start else day
                begin, finish = _instant(day, self.start, zone), _instant(end_day, self.end, zone)
                if begin < finish:
                    yield begin, finish
            day += DAY


@dataclass(frozen=True, slots=True)
class OneOffWindow:
    """A single maintenance window between two real instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if _aware(self.end, "end") <= _aware(self.start, "start"):
            raise ValueError("a maintenance window must end after it starts")

    def occurrences(self, zone: ZoneInfo, first: date, last: date) -> Iterator[Interval]:
        yield _aware(self.start, "start"), _aware(self.end, "end")


MaintenanceWindow = WeeklyWindow | OneOffWindow


@dataclass(frozen=True, slots=True)
class Calendar:
    """When an establishment's desk works: time zone, hours, holidays, maintenance windows."""

    timezone: str
    hours: WorkingHours
    holidays: frozenset[date] = frozenset()
    maintenance: tuple[MaintenanceWindow, ...] = ()

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # unknown zones fail here rather than at the first computation
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "maintenance", tuple(self.maintenance))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_business_day(self, day: date) -> bool:
        return bool(_working(self, day))

    def with_maintenance(self, *windows: MaintenanceWindow) -> Calendar:
        """The same calendar with more windows (e.g. those of the ticket's service)."""
        return replace(self, maintenance=(*self.maintenance, *windows))

    def local(self, instant: datetime) -> datetime:
        return _aware(instant, "instant").astimezone(self.zone)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The real instant of a local wall-clock time (fold=0: gaps move forward, repeats first)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _subtract(intervals: list[Interval], holes: Iterable[Interval]) -> list[Interval]:
    for hole_start, hole_end in holes:
        kept: list[Interval] = []
        for start, end in intervals:
            if hole_end <= start or end <= hole_start:
                kept.append((start, end))
                continue
            if start < hole_start:
                kept.append((start, hole_start))
            if hole_end < end:
                kept.append((hole_end, end))
        intervals = kept
    return intervals


def _working(calendar: Calendar, day: date) -> list[Interval]:
    """The local day's working intervals as real instants (empty on holidays)."""
    if day in calendar.holidays:
        return []
    zone = calendar.zone
    intervals = []
    for start, end in calendar.hours.on(day.weekday()):
        begin = _instant(day, start, zone)
        finish = _instant(day + DAY if end == MIDNIGHT else day, end, zone)
        if begin < finish:
            intervals.append((begin, finish))
    return intervals


def _business(calendar: Calendar, day: date, pauses: Sequence[Interval]) -> list[Interval]:
    """The local day's business time: working intervals minus maintenance and pauses."""
    intervals = _working(calendar, day)
    if not intervals:
        return []
    for window in calendar.maintenance:
        intervals = _subtract(intervals, window.occurrences(calendar.zone, day, day))
    return _subtract(intervals, pauses)


def _pauses(pauses: Iterable[Interval]) -> list[Interval]:
    return [(_aware(start, "pause start"), _aware(end, "pause end")) for start, end in pauses]


def business_time_between(
    calendar: Calendar, start: datetime, end: datetime, pauses: Iterable[Interval] = ()
) -> timedelta:
    """Business time elapsed from ``start`` to ``end``, not counting ``pauses``."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end < start:
        raise ValueError("end is before start")
    stops = _pauses(pauses)
    total = timedelta(0)
    day, last = calendar.local(start).date(), calendar.local(end).date()
    while day <= last:
        for begin, finish in _business(calendar, day, stops):
            total += max(timedelta(0), min(finish, end) - max(begin, start))
        day += DAY
    return total


def add_business_time(
    calendar: Calendar, start: datetime, duration: timedelta, pauses: Iterable[Interval] = ()
) -> datetime:
    """The earliest instant at which ``duration`` of business time has elapsed since ``start``.

    Landing exactly at the end of a working interval returns that end (10 h from Monday 08:00
    is Monday 18:00, not Tuesday 08:00). The result is in the calendar's time zone.
    """
    start = _aware(start, "start")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if not duration:
        return start.astimezone(calendar.zone)
    stops = _pauses(pauses)
    remaining = duration
    day = calendar.local(start).date()
    limit = day + HORIZON
    while day <= limit:
        for begin, finish in _business(calendar, day, stops):
            begin = max(begin, start)
            if finish <= begin:
                continue
            if finish - begin >= remaining:
                return (begin + remaining).astimezone(calendar.zone)
            remaining -= finish - begin
        day += DAY
    raise ValueError("the calendar has no business time left within the horizon")


def end_of_business_day(calendar: Calendar, opened: datetime, days: int = 1) -> datetime:
    """The end of the ``days``-th business day strictly after the local day of ``opened``.

    A business day is a non-holiday weekday with working hours; maintenance does not matter.
    Opened Friday 17:00 or on Saturday, the next business day is Monday (without a holiday).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    day = calendar.local(opened).date()
    limit = day + HORIZON
    while day < limit:
        day += DAY
        working = _working(calendar, day)
        if working:
            days -= 1
            if not days:
                return working[-1][1].astimezone(calendar.zone)
    raise ValueError("the calendar has no business day within the horizon")


@dataclass(frozen=True, slots=True)
class Target:
    """A service-level target: business time, or the end of the n-th next business day."""

    duration: timedelta | None = None
    business_days: int | None = None

    def __post_init__(self) -> None:
        if (self.duration is None) == (self.business_days is None):
            raise ValueError("a target is either a duration or a number of business days")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError("a target duration must be positive")
        if self.business_days is not None and self.business_days < 1:
            raise ValueError("a target needs at least one business day")

    @classmethod
    def hours(cls, hours: float) -> Target:
        return cls(duration=timedelta(hours=hours))

    @classmethod
    def next_business_day(cls) -> Target:
        """Due at the end of the first business day after the day the ticket was opened."""
        return cls(business_days=1)

    def budget(self, calendar: Calendar, opened: datetime) -> timedelta:
        """The business time this target allows for a ticket opened at ``opened``.

        Business days become the working time from opening to the end of the n-th day
        (maintenance not subtracted), so maintenance and pauses then push the due time.
        """
        if self.duration is not None:
            return self.duration
        assert self.business_days is not None
        plain = replace(calendar, maintenance=())
        deadline = end_of_business_day(plain, opened, self.business_days)
        return business_time_between(plain, opened, deadline)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    take_in_charge: Target
    resolve: Target


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One entry of a ticket's status timeline; the first one is the creation."""

    at: datetime
    status: str


class SlaStatus(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


@dataclass(frozen=True, slots=True)
class TargetState:
    """Where one target stands.

    ``due_at`` is frozen at the moment the target was met. While the clock is paused it is
    computed as if the pause ended now, so it moves later as time passes (``paused`` is True).
    """

    due_at: datetime
    budget: timedelta
    used: timedelta
    status: SlaStatus
    paused: bool = False
    met_at: datetime | None = None

    @property
    def fraction(self) -> float:
        """Share of the budget used; may exceed 1 once breached."""
        return self.used / self.budget if self.budget else 1.0


@dataclass(frozen=True, slots=True)
class SlaState:
    take_in_charge: TargetState
    resolve: TargetState


TAKEN_IN_CHARGE = frozenset(Status) - {Status.NEW}
DONE = frozenset({Status.RESOLVED, Status.CLOSED})
# The resolution clock does not run in these statuses.
RESOLUTION_STOPS = DONE | {Status.PENDING}


def _timeline(history: Sequence[StatusChange], now: datetime) -> list[tuple[datetime, Status]]:
    """The history up to ``now`` in UTC, checked: non-empty, in order, known statuses."""
    if not history:
        raise ValueError("the history needs at least the creation")
    timeline = [(_aware(change.at, "status change"), Status(change.status)) for change in history]
    if any(later[0] < earlier[0] for earlier, later in pairwise(timeline)):
        raise ValueError("the history must be in chronological order")
    if now < timeline[0][0]:
        raise ValueError("now is before the ticket was created")
    return [(at, status) for at, status in timeline if at <= now]


def _spans(
    timeline: Sequence[tuple[datetime, Status]], now: datetime, statuses: frozenset[Status]
) -> list[Interval]:
    spans: list[Interval] = []
    begin: datetime | None = None
    for at, status in timeline:
        if status in statuses and begin is None:
            begin = at
        elif status not in statuses and begin is not None:
            spans.append((begin, at))
            begin = None
    if begin is not None:
        spans.append((begin, now))
    return [(start, end) for start, end in spans if start < end]


def clock_pauses(history: Sequence[StatusChange], now: datetime) -> list[Interval]:
    """The intervals the ticket spent pending; a pause still running ends at ``now``."""
    now = _aware(now, "now")
    return _spans(_timeline(history, now), now, frozenset({Status.PENDING}))


def _evaluate(
    calendar: Calendar,
    target: Target,
    opened: datetime,
    stops: list[Interval],
    met_at: datetime | None,
    paused: bool,
    now: datetime,
) -> TargetState:
    as_of = met_at or now
    stops = [(start, min(end, as_of)) for start, end in stops if start < as_of]
    budget = target.budget(calendar, opened)
    used = business_time_between(calendar, opened, as_of, stops)
    due_at = add_business_time(calendar, opened, budget, stops)
    if met_at is not None:
        status = SlaStatus.MET if met_at <= due_at else SlaStatus.BREACHED
    elif now > due_at:
        status = SlaStatus.BREACHED
    elif used >= budget * AT_RISK_FRACTION:
        status = SlaStatus.AT_RISK
    else:
        status = SlaStatus.OK
    local_met = met_at.astimezone(calendar.zone) if met_at else None
    return TargetState(due_at, budget, used, status, paused and met_at is None, local_met)


def due(
    policy: SlaPolicy, calendar: Calendar, history: Sequence[StatusChange], now: datetime
) -> SlaState:
    """Evaluate both targets of a ticket as of ``now``.

    Taking in charge is met by the first change out of "new" and is never undone (a reopen to
    "new" does not restart it). Resolution is met while the ticket is resolved or closed, at the
    instant it was last resolved; reopening resumes the clock with the time already used.
    """
    now = _aware(now, "now")
    timeline = _timeline(history, now)
    opened, current = timeline[0][0], timeline[-1][1]
    pending = _spans(timeline, now, frozenset({Status.PENDING}))

    taken_at = next((at for at, status in timeline if status in TAKEN_IN_CHARGE), None)
    take = _evaluate(
        calendar, policy.take_in_charge, opened, pending, taken_at, current is Status.PENDING, now
    )

    resolved_at = None  # the start of the current run of resolved/closed, if any
    for at, status in reversed(timeline):
        if status not in DONE:
            break
        resolved_at = at
    stops = _spans(timeline, now, RESOLUTION_STOPS)
    resolve = _evaluate(
        calendar, policy.resolve, opened, stops, resolved_at, current is Status.PENDING, now
    )
    return SlaState(take_in_charge=take, resolve=resolve)


def next_change(
    policy: SlaPolicy, calendar: Calendar, history: Sequence[StatusChange], now: datetime
) -> datetime | None:
    """The earliest instant after ``now`` at which a running target changes state (reaches
    80% of its budget, or is breached), or None when no clock runs. A paused clock changes
    nothing until the next status change, which triggers a new evaluation anyway."""
    now = _aware(now, "now")
    timeline = _timeline(history, now)
    opened, current = timeline[0][0], timeline[-1][1]
    running: list[tuple[Target, list[Interval]]] = []
    if current is Status.NEW and not any(s in TAKEN_IN_CHARGE for _at, s in timeline):
        running.append((policy.take_in_charge, _spans(timeline, now, frozenset({Status.PENDING}))))
    if current not in RESOLUTION_STOPS:
        running.append((policy.resolve, _spans(timeline, now, RESOLUTION_STOPS)))
    instants = []
    for target, stops in running:
        budget = target.budget(calendar, opened)
        for share, margin in ((AT_RISK_FRACTION, timedelta(0)), (1.0, timedelta(seconds=1))):
            # Breach is "strictly after the due time": look again just after it.
            at = add_business_time(calendar, opened, budget * share, stops) + margin
            if at > now:
                instants.append(at.astimezone(UTC))
    return min(instants, default=None)
