"""The activity report's local days computed in integer arithmetic (as its SQL does) agree
with the calendar, summer time and half-hour zones included; backlog bands from counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.domain import report_figures as rf

ZONES = (
    "Europe/Paris",
    "Europe/Moscow",
    "America/Toronto",
    "America/St_Johns",  # -3:30, with summer time
    "Asia/Kolkata",  # +5:30
    "Australia/Lord_Howe",  # summer time of half an hour, changing in the middle of an hour
    "Pacific/Chatham",  # +12:45
    "Pacific/Kiritimati",  # +14
    "UTC",
)


def _offset_at(segments: list[tuple[int, int]], hour: int) -> int:
    return [offset for first, offset in segments if first <= hour][-1]


def test_each_hour_of_a_year_falls_in_its_local_day() -> None:
    first, last = date(2025, 12, 20), date(2026, 12, 31)
    for name in ZONES:
        zone = ZoneInfo(name)
        start, end = rf.hours_of_period(first, last, zone)
        segments = rf.offset_segments(start, end, zone)
        assert segments[0][0] == start
        assert [f for f, _ in segments] == sorted({f for f, _ in segments})
        for hour in range(start, end):
            day = rf.day_of_number(rf.local_day_number(hour, _offset_at(segments, hour)))
            assert day == rf.local_day(hour, zone), (name, hour)


def test_summer_time_splits_the_period_where_the_offset_changes() -> None:
    paris = ZoneInfo("Europe/Paris")
    start, end = rf.hours_of_period(date(2026, 3, 20), date(2026, 4, 5), paris)
    # 29 March 2026, 01:00 UTC: +60 -> +120 minutes.
    change = rf.hour_of(datetime(2026, 3, 29, 1, tzinfo=UTC))
    assert rf.offset_segments(start, end, paris) == [(start, 60), (change, 120)]
    # A period without a change has one offset; one of a single hour too.
    assert rf.offset_segments(change, change + 200, paris) == [(change, 120)]
    assert rf.offset_segments(start, start + 1, paris) == [(start, 60)]


def test_backlog_bands_from_counts_of_newer_tickets() -> None:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    cutoffs = rf.age_cutoffs(now)
    assert cutoffs == [now - timedelta(days=d) for d in rf.AGE_BANDS]
    ages = [0.2, 0.9, 1.0, 2.5, 3.5, 6.9, 7.0, 29.9, 30.0, 400.0]
    created = [now - timedelta(days=a) for a in ages]
    newer = [sum(1 for c in created if c > cutoff) for cutoff in cutoffs]
    # Under a day, 1-3, 3-7, 7-30, 30 and more: an age on a bound is in the older band.
    assert rf.band_counts(len(created), newer) == [2, 2, 2, 2, 2]
    assert rf.band_counts(0, [0, 0, 0, 0]) == [0, 0, 0, 0, 0]
