"""SLA arithmetic on fixed instants: business hours, holidays, pauses, maintenance, DST."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain.sla import (
    Calendar,
    OneOffWindow,
    SlaPolicy,
    SlaStatus,
    StatusChange,
    Target,
    WeeklyWindow,
    WorkingHours,
    add_business_time,
    business_time_between,
    clock_pauses,
    due,
    end_of_business_day,
)

PARIS = ZoneInfo("Europe/Paris")
MONTREAL = ZoneInfo("America/Montreal")
TORONTO = ZoneInfo("America/Toronto")
MOSCOW = ZoneInfo("Europe/Moscow")

OFFICE = WorkingHours.office(time(8), time(18))
SUNDAY_NIGHT = WeeklyWindow(weekday=6, start=time(0), end=time(6))

PARIS_OFFICE = Calendar("Europe/Paris", OFFICE, frozenset({date(2026, 7, 14)}))
PARIS_24_7 = Calendar("Europe/Paris", WorkingHours.always())
MONTREAL_OFFICE = Calendar("America/Montreal", OFFICE, frozenset({date(2026, 6, 24)}))
MONTREAL_24_7 = Calendar("America/Montreal", WorkingHours.always())
MOSCOW_OFFICE = Calendar(
    "Europe/Moscow", WorkingHours.office(time(9), time(18)), frozenset({date(2026, 11, 4)})
)
MOSCOW_24_7 = Calendar("Europe/Moscow", WorkingHours.always())
ONTARIO = Calendar("America/Toronto", OFFICE, frozenset({date(2026, 7, 1)}))

H = timedelta(hours=1)


def at(zone: ZoneInfo, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=zone)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def history(*changes: tuple[datetime, str]) -> list[StatusChange]:
    return [StatusChange(moment, status) for moment, status in changes]


# --- Working hours and calendars ---------------------------------------------------------


def test_working_hours_reject_overlaps_and_backwards_intervals() -> None:
    with pytest.raises(ValueError, match="overlap"):
        WorkingHours.of({0: ((time(8), time(12)), (time(11), time(18)))})
    with pytest.raises(ValueError, match="end after"):
        WorkingHours.of({0: ((time(18), time(8)),)})
    with pytest.raises(ValueError, match="wall-clock"):
        WorkingHours.office(time(8, tzinfo=UTC), time(18))


def test_unknown_time_zone_is_refused_up_front() -> None:
    with pytest.raises(KeyError):
        Calendar("Europe/Atlantis", OFFICE)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(PARIS_OFFICE, datetime(2026, 6, 1, 8), at(PARIS, 6, 1, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(PARIS_OFFICE, datetime(2026, 6, 1, 8), H)


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before start"):
        business_time_between(PARIS_OFFICE, at(PARIS, 6, 2), at(PARIS, 6, 1))


def test_a_calendar_without_hours_has_no_business_time() -> None:
    closed = Calendar("Europe/Paris", WorkingHours.of({}))
    with pytest.raises(ValueError, match="horizon"):
        add_business_time(closed, at(PARIS, 6, 1), H)


# --- Weekends and working hours ----------------------------------------------------------


def test_weekend_is_skipped() -> None:
    friday, monday = at(PARIS, 6, 5, 16), at(PARIS, 6, 8, 10)
    assert business_time_between(PARIS_OFFICE, friday, monday) == 4 * H
    assert add_business_time(PARIS_OFFICE, friday, 4 * H) == monday


def test_landing_on_the_end_of_the_day_stays_there() -> None:
    monday = at(PARIS, 6, 1, 8)
    assert add_business_time(PARIS_OFFICE, monday, 10 * H) == at(PARIS, 6, 1, 18)
    assert add_business_time(PARIS_OFFICE, monday, 10 * H + timedelta(minutes=1)) == at(
        PARIS, 6, 2, 8, 1
    )


def test_time_outside_hours_does_not_count() -> None:
    saturday = at(PARIS, 6, 6, 11)
    assert add_business_time(PARIS_OFFICE, saturday, H) == at(PARIS, 6, 8, 9)
    assert business_time_between(PARIS_OFFICE, at(PARIS, 6, 1, 19), at(PARIS, 6, 2, 7)) == (
        timedelta(0)
    )
    assert add_business_time(PARIS_OFFICE, saturday, timedelta(0)) == saturday


def test_several_intervals_a_day() -> None:
    split = Calendar(
        "Europe/Paris",
        WorkingHours.of(dict.fromkeys(range(5), ((time(9), time(12)), (time(14), time(18))))),
    )
    assert add_business_time(split, at(PARIS, 6, 1, 11), 2 * H) == at(PARIS, 6, 1, 15)
    assert business_time_between(split, at(PARIS, 6, 1), at(PARIS, 6, 2)) == 7 * H


def test_result_is_in_the_calendar_time_zone() -> None:
    result = add_business_time(MONTREAL_OFFICE, utc(6, 1, 12), H)
    assert result.tzinfo == MONTREAL
    assert result == at(MONTREAL, 6, 1, 9)


# --- Holidays ------------------------------------------------------------------------------


def test_bastille_day_in_paris_is_a_whole_day_off() -> None:
    monday = at(PARIS, 7, 13, 16)
    assert add_business_time(PARIS_OFFICE, monday, 8 * H) == at(PARIS, 7, 15, 14)
    assert business_time_between(PARIS_OFFICE, at(PARIS, 7, 13), at(PARIS, 7, 16)) == 20 * H


def test_fete_nationale_in_montreal() -> None:
    tuesday = at(MONTREAL, 6, 23, 17)
    assert add_business_time(MONTREAL_OFFICE, tuesday, 2 * H) == utc(6, 25, 13)
    assert business_time_between(MONTREAL_OFFICE, at(MONTREAL, 6, 24), at(MONTREAL, 6, 25)) == (
        timedelta(0)
    )


def test_unity_day_in_moscow_is_plain_utc_plus_three() -> None:
    tuesday = at(MOSCOW, 11, 3, 16)
    result = add_business_time(MOSCOW_OFFICE, tuesday, 8 * H)
    assert result == at(MOSCOW, 11, 5, 15) == utc(11, 5, 12)
    assert result.utcoffset() == 3 * H


# --- Daylight saving time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "zone", "day", "hours"),
    [
        (PARIS_24_7, PARIS, date(2026, 3, 29), 23),
        (PARIS_24_7, PARIS, date(2026, 10, 25), 25),
        (MONTREAL_24_7, MONTREAL, date(2026, 3, 8), 23),
        (MONTREAL_24_7, MONTREAL, date(2026, 11, 1), 25),
        (MOSCOW_24_7, MOSCOW, date(2026, 3, 29), 24),
        (MOSCOW_24_7, MOSCOW, date(2026, 10, 25), 24),
    ],
)
def test_a_24_7_day_counts_the_real_hours_of_the_change(
    calendar: Calendar, zone: ZoneInfo, day: date, hours: int
) -> None:
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    assert business_time_between(calendar, start, end) == hours * H


@pytest.mark.parametrize(
    ("opened", "target", "expected_utc", "expected_local"),
    [
        # Paris springs forward on Sunday 29 March at 02:00 (CET -> CEST).
        (at(PARIS, 3, 29), 24 * H, utc(3, 29, 23), at(PARIS, 3, 30, 1)),
        (at(PARIS, 3, 28), 48 * H, utc(3, 29, 23), at(PARIS, 3, 30, 1)),
        # Paris falls back on Sunday 25 October at 03:00 (CEST -> CET).
        (at(PARIS, 10, 25), 24 * H, utc(10, 25, 22), at(PARIS, 10, 25, 23)),
        (at(PARIS, 10, 24), 48 * H, utc(10, 25, 22), at(PARIS, 10, 25, 23)),
        # Montréal springs forward on 8 March and falls back on 1 November, at 02:00.
        (at(MONTREAL, 3, 8), 24 * H, utc(3, 9, 5), at(MONTREAL, 3, 9, 1)),
        (at(MONTREAL, 3, 7), 48 * H, utc(3, 9, 5), at(MONTREAL, 3, 9, 1)),
        (at(MONTREAL, 11, 1), 24 * H, utc(11, 2, 4), at(MONTREAL, 11, 1, 23)),
        (at(MONTREAL, 10, 31), 48 * H, utc(11, 2, 4), at(MONTREAL, 11, 1, 23)),
    ],
)
def test_24_7_targets_across_a_change_are_real_hours(
    opened: datetime, target: timedelta, expected_utc: datetime, expected_local: datetime
) -> None:
    calendar = PARIS_24_7 if opened.tzinfo == PARIS else MONTREAL_24_7
    result = add_business_time(calendar, opened, target)
    assert result == expected_utc
    assert (result.hour, result.day) == (expected_local.hour, expected_local.day)
    assert result.utcoffset() == expected_local.utcoffset()


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Europe/Paris", date(2026, 3, 29)),
        ("Europe/Paris", date(2026, 10, 25)),
        ("America/Montreal", date(2026, 3, 8)),
        ("America/Montreal", date(2026, 11, 1)),
    ],
)
def test_office_hours_on_a_change_day_are_still_ten_hours(zone: str, day: date) -> None:
    every_day = Calendar(zone, WorkingHours.office(time(8), time(18), range(7)))
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    assert business_time_between(every_day, start, start + timedelta(days=2)) == 20 * H
    assert add_business_time(every_day, start, 10 * H) == datetime.combine(day, time(18), tzinfo=tz)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Paris", date(2026, 3, 29), 5),
        ("Europe/Paris", date(2026, 10, 25), 7),
        ("America/Montreal", date(2026, 3, 8), 5),
        ("America/Montreal", date(2026, 11, 1), 7),
        ("Europe/Moscow", date(2026, 10, 25), 6),
    ],
)
def test_a_working_interval_across_the_change_counts_real_time(
    zone: str, day: date, hours: int
) -> None:
    night = Calendar(zone, WorkingHours.of({6: ((time(0), time(6)),)}))
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
    assert business_time_between(night, start, start + timedelta(days=1)) == hours * H


def test_montreal_office_week_across_both_changes() -> None:
    # Friday 17:00 EST + 2 h -> Monday 09:00 EDT; the UTC offset moved under the weekend.
    assert add_business_time(MONTREAL_OFFICE, at(MONTREAL, 3, 6, 17), 2 * H) == utc(3, 9, 13)
    assert add_business_time(MONTREAL_OFFICE, at(MONTREAL, 10, 30, 17), 2 * H) == utc(11, 2, 14)
    week = business_time_between(MONTREAL_OFFICE, at(MONTREAL, 3, 2), at(MONTREAL, 3, 16))
    assert week == 100 * H


def test_paris_office_weekend_across_the_autumn_change() -> None:
    friday = at(PARIS, 10, 23, 17)
    monday = add_business_time(PARIS_OFFICE, friday, 2 * H)
    assert monday == utc(10, 26, 8)
    assert monday.utcoffset() == H
    assert business_time_between(PARIS_OFFICE, friday, monday) == 2 * H


def test_moscow_has_no_change() -> None:
    friday = at(MOSCOW, 3, 27, 12)
    assert add_business_time(MOSCOW_24_7, friday, 72 * H) == friday + 72 * H
    friday = at(MOSCOW, 10, 23, 12)
    assert add_business_time(MOSCOW_24_7, friday, 72 * H) == utc(10, 26, 9)


def test_skipped_and_repeated_local_times() -> None:
    early_sunday = Calendar("Europe/Paris", WorkingHours.of({6: ((time(2, 30), time(4)),)}))
    # 02:30 does not exist in Paris on 29 March: it is read as 03:30 CEST (moved forward).
    spring = at(PARIS, 3, 29)
    assert business_time_between(early_sunday, spring, spring + 24 * H) == timedelta(minutes=30)
    # 02:30 happens twice on 25 October: the interval starts at the first one.
    autumn = at(PARIS, 10, 25)
    assert business_time_between(early_sunday, autumn, autumn + 24 * H) == timedelta(
        hours=2, minutes=30
    )


# --- Maintenance windows -------------------------------------------------------------------


def test_sunday_night_maintenance_does_not_count_on_a_24_7_desk() -> None:
    desk = PARIS_24_7.with_maintenance(SUNDAY_NIGHT)
    saturday = at(PARIS, 6, 6)
    assert business_time_between(desk, saturday, saturday + 48 * H) == 42 * H
    assert business_time_between(desk, at(PARIS, 6, 1), at(PARIS, 6, 8)) == 162 * H
    assert add_business_time(desk, at(PARIS, 6, 6, 20), 6 * H) == at(PARIS, 6, 7, 8)


@pytest.mark.parametrize(
    ("calendar", "zone", "day"),
    [
        (PARIS_24_7, PARIS, date(2026, 3, 29)),  # 23 h day, 5 h window
        (MONTREAL_24_7, MONTREAL, date(2026, 11, 1)),  # 25 h day, 7 h window
    ],
)
def test_sunday_maintenance_on_a_change_night(
    calendar: Calendar, zone: ZoneInfo, day: date
) -> None:
    desk = calendar.with_maintenance(SUNDAY_NIGHT)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    assert business_time_between(desk, start, end) == 18 * H


def test_weekly_window_across_midnight() -> None:
    desk = PARIS_24_7.with_maintenance(WeeklyWindow(weekday=5, start=time(22), end=time(2)))
    saturday = at(PARIS, 6, 6)
    assert business_time_between(desk, saturday, saturday + 48 * H) == 44 * H
    assert add_business_time(desk, at(PARIS, 6, 6, 21), 2 * H) == at(PARIS, 6, 7, 3)


def test_maintenance_outside_office_hours_changes_nothing() -> None:
    desk = PARIS_OFFICE.with_maintenance(SUNDAY_NIGHT)
    friday = at(PARIS, 6, 5, 16)
    assert add_business_time(desk, friday, 4 * H) == at(PARIS, 6, 8, 10)


def test_one_off_maintenance_pushes_the_due_time() -> None:
    upgrade = OneOffWindow(at(PARIS, 6, 2, 12), at(PARIS, 6, 2, 14))
    desk = PARIS_OFFICE.with_maintenance(upgrade)
    assert business_time_between(desk, at(PARIS, 6, 2, 8), at(PARIS, 6, 2, 18)) == 8 * H
    assert add_business_time(desk, at(PARIS, 6, 2, 8), 10 * H) == at(PARIS, 6, 3, 10)
    with pytest.raises(ValueError, match="end after"):
        OneOffWindow(at(PARIS, 6, 2, 14), at(PARIS, 6, 2, 12))


# --- Pauses --------------------------------------------------------------------------------


def test_clock_pauses_are_the_pending_intervals() -> None:
    timeline = history(
        (at(PARIS, 6, 1, 9), "new"),
        (at(PARIS, 6, 1, 10), "assigned"),
        (at(PARIS, 6, 1, 11), "pending"),
        (at(PARIS, 6, 1, 14), "assigned"),
        (at(PARIS, 6, 2, 9), "pending"),
        (at(PARIS, 6, 3, 9), "assigned"),  # after now: not known yet
    )
    now = at(PARIS, 6, 2, 12)
    assert clock_pauses(timeline, now) == [
        (utc(6, 1, 9), utc(6, 1, 12)),
        (utc(6, 2, 7), utc(6, 2, 10)),
    ]


def test_pauses_are_not_business_time() -> None:
    pauses = [(at(PARIS, 6, 1, 11), at(PARIS, 6, 1, 14))]
    monday = at(PARIS, 6, 1, 8)
    assert business_time_between(PARIS_OFFICE, monday, at(PARIS, 6, 1, 18), pauses) == 7 * H
    assert add_business_time(PARIS_OFFICE, monday, 10 * H, pauses) == at(PARIS, 6, 2, 11)


def test_history_is_checked() -> None:
    policy = SlaPolicy(Target.hours(4), Target.hours(8))
    now = at(PARIS, 6, 2)
    with pytest.raises(ValueError, match="at least the creation"):
        due(policy, PARIS_OFFICE, [], now)
    with pytest.raises(ValueError, match="chronological"):
        due(policy, PARIS_OFFICE, history((now, "new"), (now - H, "assigned")), now)
    with pytest.raises(ValueError, match="before the ticket was created"):
        due(policy, PARIS_OFFICE, history((now, "new")), now - H)
    with pytest.raises(ValueError, match="not a valid Status"):
        due(policy, PARIS_OFFICE, history((now, "lost")), now)


# --- Targets -------------------------------------------------------------------------------


def test_target_is_a_duration_or_business_days() -> None:
    with pytest.raises(ValueError, match="either"):
        Target()
    with pytest.raises(ValueError, match="either"):
        Target(duration=H, business_days=1)
    with pytest.raises(ValueError, match="positive"):
        Target(duration=timedelta(0))
    with pytest.raises(ValueError, match="at least one"):
        Target(business_days=0)


@pytest.mark.parametrize(
    ("opened", "expected"),
    [
        (at(TORONTO, 6, 5, 17), at(TORONTO, 6, 8, 18)),  # Friday 17:00 -> Monday
        (at(TORONTO, 6, 5, 19), at(TORONTO, 6, 8, 18)),  # Friday after hours -> Monday
        (at(TORONTO, 6, 6, 10), at(TORONTO, 6, 8, 18)),  # Saturday -> Monday
        (at(TORONTO, 6, 7, 23), at(TORONTO, 6, 8, 18)),  # Sunday night -> Monday
        (at(TORONTO, 6, 8, 7), at(TORONTO, 6, 9, 18)),  # Monday before hours -> Tuesday
        (at(TORONTO, 6, 30, 10), at(TORONTO, 7, 2, 18)),  # Canada Day is skipped
    ],
)
def test_ontario_acknowledges_by_the_next_business_day(
    opened: datetime, expected: datetime
) -> None:
    """The first business day strictly after the local day of opening, at its close."""
    assert end_of_business_day(ONTARIO, opened) == expected
    budget = Target.next_business_day().budget(ONTARIO, opened)
    assert add_business_time(ONTARIO, opened, budget) == expected


def test_ontario_budget_counts_the_rest_of_the_opening_day() -> None:
    target = Target.next_business_day()
    assert target.budget(ONTARIO, at(TORONTO, 6, 5, 17)) == 11 * H
    assert target.budget(ONTARIO, at(TORONTO, 6, 6, 10)) == 10 * H


def test_business_days_are_pushed_by_maintenance_not_shortened() -> None:
    late = WeeklyWindow(weekday=0, start=time(17), end=time(18))
    desk = ONTARIO.with_maintenance(late)
    opened = at(TORONTO, 6, 5, 17)
    budget = Target.next_business_day().budget(desk, opened)
    assert budget == 11 * H
    assert add_business_time(desk, opened, budget) == at(TORONTO, 6, 9, 9)


# EasyVista clinics: three criticality levels, on a clinic desk working around the clock.
EASYVISTA = {
    1: SlaPolicy(take_in_charge=Target.hours(1), resolve=Target.hours(24)),
    2: SlaPolicy(take_in_charge=Target.hours(4), resolve=Target.hours(72)),
    3: SlaPolicy(take_in_charge=Target.next_business_day(), resolve=Target(business_days=5)),
}
CLINIC = Calendar("Europe/Paris", WorkingHours.always(), maintenance=(SUNDAY_NIGHT,))


def test_easyvista_levels() -> None:
    opened = at(PARIS, 6, 5, 10)  # a Friday
    created = history((opened, "new"))
    states = {level: due(policy, CLINIC, created, opened) for level, policy in EASYVISTA.items()}
    assert states[1].resolve.due_at == at(PARIS, 6, 6, 10)
    assert states[2].resolve.due_at == at(PARIS, 6, 8, 16)  # the Sunday window is not counted
    assert states[3].resolve.due_at == at(PARIS, 6, 11, 6)  # end of Wednesday + the window
    # Due at the end of Saturday: the window starts just after, so it does not push it.
    assert states[3].take_in_charge.due_at == at(PARIS, 6, 7)
    assert all(state.resolve.status is SlaStatus.OK for state in states.values())


def test_easyvista_five_business_days_on_an_office_calendar() -> None:
    policy = SlaPolicy(take_in_charge=Target.hours(8), resolve=Target(business_days=5))
    opened = at(PARIS, 7, 9, 15)  # Thursday, with Bastille Day the next Tuesday
    state = due(policy, PARIS_OFFICE, history((opened, "new")), opened)
    assert state.resolve.due_at == at(PARIS, 7, 17, 18)
    assert state.take_in_charge.due_at == at(PARIS, 7, 10, 13)


# --- Evaluating a ticket -------------------------------------------------------------------

POLICY = SlaPolicy(take_in_charge=Target.hours(4), resolve=Target.hours(10))
MONDAY = at(PARIS, 6, 1, 8)


def test_fresh_ticket_is_ok() -> None:
    state = due(POLICY, PARIS_OFFICE, history((MONDAY, "new")), MONDAY + H)
    assert state.take_in_charge.due_at == at(PARIS, 6, 1, 12)
    assert state.take_in_charge.status is SlaStatus.OK
    assert state.take_in_charge.used == H
    assert state.take_in_charge.fraction == 0.25
    assert state.resolve.due_at == at(PARIS, 6, 1, 18)
    assert not state.resolve.paused


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(PARIS, 6, 1, 11, 11), SlaStatus.OK),
        (at(PARIS, 6, 1, 11, 12), SlaStatus.AT_RISK),  # 3 h 12 of 4 h = 80 %
        (at(PARIS, 6, 1, 12), SlaStatus.AT_RISK),  # due now, not late yet
        (at(PARIS, 6, 1, 12, 1), SlaStatus.BREACHED),
    ],
)
def test_at_risk_from_eighty_percent_then_breached(now: datetime, expected: SlaStatus) -> None:
    state = due(POLICY, PARIS_OFFICE, history((MONDAY, "new")), now)
    assert state.take_in_charge.status is expected


def test_breached_after_hours_even_without_business_time_passing() -> None:
    state = due(POLICY, PARIS_OFFICE, history((MONDAY, "new")), at(PARIS, 6, 1, 19))
    assert state.resolve.used == 10 * H
    assert state.resolve.status is SlaStatus.BREACHED


def test_taking_in_charge_is_met_by_assignment() -> None:
    timeline = history((MONDAY, "new"), (at(PARIS, 6, 1, 10), "assigned"))
    state = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 2, 9))
    take = state.take_in_charge
    assert take.status is SlaStatus.MET
    assert take.met_at == at(PARIS, 6, 1, 10)
    assert take.used == 2 * H
    assert take.due_at == at(PARIS, 6, 1, 12)
    assert state.resolve.status is SlaStatus.BREACHED


def test_late_assignment_is_breached_not_met() -> None:
    timeline = history((MONDAY, "new"), (at(PARIS, 6, 1, 13), "planned"))
    take = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 1, 14)).take_in_charge
    assert take.status is SlaStatus.BREACHED
    assert take.met_at == at(PARIS, 6, 1, 13)


def test_asking_the_requester_counts_as_taking_in_charge() -> None:
    timeline = history((MONDAY, "new"), (at(PARIS, 6, 1, 9), "pending"))
    state = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 1, 15))
    assert state.take_in_charge.status is SlaStatus.MET
    assert not state.take_in_charge.paused


def test_pending_stops_the_resolution_clock() -> None:
    timeline = history(
        (MONDAY, "new"),
        (at(PARIS, 6, 1, 9), "assigned"),
        (at(PARIS, 6, 1, 10), "pending"),
    )
    while_pending = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 1, 13)).resolve
    assert while_pending.paused
    assert while_pending.used == 2 * H
    assert while_pending.due_at == at(PARIS, 6, 2, 11)  # 8 h left from now
    later = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 1, 15)).resolve
    assert later.due_at == at(PARIS, 6, 2, 13)  # the due time moves while pending
    assert later.status is SlaStatus.OK

    answered = [*timeline, StatusChange(at(PARIS, 6, 1, 15), "assigned")]
    resumed = due(POLICY, PARIS_OFFICE, answered, at(PARIS, 6, 2, 9)).resolve
    assert not resumed.paused
    assert resumed.due_at == at(PARIS, 6, 2, 13)
    assert resumed.used == 6 * H


def test_pending_after_the_deadline_stays_breached() -> None:
    timeline = history((MONDAY, "new"), (at(PARIS, 6, 2, 10), "pending"))
    resolve = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 3, 10)).resolve
    assert resolve.status is SlaStatus.BREACHED
    assert resolve.paused
    assert resolve.due_at == at(PARIS, 6, 1, 18)
    assert resolve.fraction == 1.2


def test_resolution_met_and_kept_when_closed() -> None:
    timeline = history(
        (MONDAY, "new"),
        (at(PARIS, 6, 1, 9), "assigned"),
        (at(PARIS, 6, 1, 15), "resolved"),
        (at(PARIS, 6, 2, 9), "closed"),
    )
    resolve = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 10)).resolve
    assert resolve.status is SlaStatus.MET
    assert resolve.met_at == at(PARIS, 6, 1, 15)
    assert resolve.used == 7 * H
    assert resolve.due_at == at(PARIS, 6, 1, 18)
    assert not resolve.paused


def test_reopened_ticket_resumes_its_resolution_clock() -> None:
    timeline = history(
        (MONDAY, "new"),
        (at(PARIS, 6, 1, 9), "assigned"),
        (at(PARIS, 6, 1, 15), "resolved"),  # 7 h used
        (at(PARIS, 6, 3, 10), "assigned"),  # reopened by the requester's reply
    )
    resolve = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 3, 12)).resolve
    assert resolve.met_at is None
    assert resolve.used == 9 * H
    assert resolve.status is SlaStatus.AT_RISK
    assert resolve.due_at == at(PARIS, 6, 3, 13)
    # Taking in charge is not restarted by a reopen.
    assert due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 3, 12)).take_in_charge.status is (
        SlaStatus.MET
    )

    solved_again = [*timeline, StatusChange(at(PARIS, 6, 3, 12, 30), "resolved")]
    resolve = due(POLICY, PARIS_OFFICE, solved_again, at(PARIS, 6, 4)).resolve
    assert resolve.status is SlaStatus.MET
    assert resolve.met_at == at(PARIS, 6, 3, 12, 30)

    too_late = [*timeline, StatusChange(at(PARIS, 6, 3, 14), "resolved")]
    resolve = due(POLICY, PARIS_OFFICE, too_late, at(PARIS, 6, 4)).resolve
    assert resolve.status is SlaStatus.BREACHED
    assert resolve.met_at == at(PARIS, 6, 3, 14)


def test_reopen_to_new_does_not_restart_taking_in_charge() -> None:
    timeline = history(
        (MONDAY, "new"),
        (at(PARIS, 6, 1, 9), "resolved"),
        (at(PARIS, 6, 2, 9), "new"),
    )
    state = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 5, 9))
    assert state.take_in_charge.status is SlaStatus.MET
    assert state.take_in_charge.met_at == at(PARIS, 6, 1, 9)
    assert state.resolve.status is SlaStatus.BREACHED


def test_state_as_of_an_earlier_instant_ignores_later_history() -> None:
    timeline = history((MONDAY, "new"), (at(PARIS, 6, 1, 11), "assigned"))
    before = due(POLICY, PARIS_OFFICE, timeline, at(PARIS, 6, 1, 10))
    assert before.take_in_charge.status is SlaStatus.OK
    assert before.take_in_charge.met_at is None


def test_ontario_ticket_end_to_end() -> None:
    policy = SlaPolicy(take_in_charge=Target.next_business_day(), resolve=Target.hours(30))
    opened = at(TORONTO, 6, 5, 17)  # Friday; 11 h budget to Monday 18:00
    created = history((opened, "new"))
    assert due(policy, ONTARIO, created, at(TORONTO, 6, 8, 15, 47)).take_in_charge.status is (
        SlaStatus.OK
    )
    assert due(policy, ONTARIO, created, at(TORONTO, 6, 8, 15, 48)).take_in_charge.status is (
        SlaStatus.AT_RISK
    )
    on_time = [*created, StatusChange(at(TORONTO, 6, 8, 17, 30), "assigned")]
    assert due(policy, ONTARIO, on_time, at(TORONTO, 6, 9, 12)).take_in_charge.status is (
        SlaStatus.MET
    )
    late = [*created, StatusChange(at(TORONTO, 6, 9, 8, 5), "assigned")]
    take = due(policy, ONTARIO, late, at(TORONTO, 6, 9, 12)).take_in_charge
    assert take.status is SlaStatus.BREACHED
    assert take.due_at == at(TORONTO, 6, 8, 18)


def test_moscow_ticket_around_unity_day() -> None:
    policy = SlaPolicy(take_in_charge=Target.hours(2), resolve=Target.hours(16))
    opened = at(MOSCOW, 11, 3, 16)
    timeline = history((opened, "new"), (at(MOSCOW, 11, 3, 17), "assigned"))
    state = due(policy, MOSCOW_OFFICE, timeline, at(MOSCOW, 11, 5, 12))
    assert state.take_in_charge.status is SlaStatus.MET
    assert state.resolve.used == 5 * H  # 2 h Tuesday, none on the holiday, 3 h Thursday
    assert state.resolve.due_at == at(MOSCOW, 11, 6, 14) == utc(11, 6, 11)


@pytest.mark.parametrize(
    ("zone", "week_of"),
    [
        ("Europe/Paris", date(2026, 3, 26)),
        ("Europe/Paris", date(2026, 10, 22)),
        ("America/Montreal", date(2026, 3, 5)),
        ("America/Montreal", date(2026, 10, 29)),
        ("Europe/Moscow", date(2026, 11, 1)),
    ],
)
def test_adding_and_measuring_agree_around_the_changes(zone: str, week_of: date) -> None:
    hours = WorkingHours.of(
        {
            **dict.fromkeys(range(5), ((time(8), time(12)), (time(13), time(18)))),
            6: ((time(1), time(4)),),
        }
    )
    calendar = Calendar(
        zone,
        hours,
        frozenset({date(2026, 11, 4)}),
        (SUNDAY_NIGHT, WeeklyWindow(weekday=0, start=time(11), end=time(11, 30))),
    )
    start = datetime.combine(week_of, time(0), tzinfo=ZoneInfo(zone))
    for step in range(0, 24 * 7, 5):
        opened = start + step * H
        pauses = [(opened + 2 * H, opened + 20 * H)]
        for minutes in (1, 90, 600, 1800):
            landed = add_business_time(calendar, opened, timedelta(minutes=minutes), pauses)
            assert business_time_between(calendar, opened, landed, pauses) == timedelta(
                minutes=minutes
            )
