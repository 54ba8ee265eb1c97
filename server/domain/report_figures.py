"""Report arithmetic with no I/O: duration buckets and their percentiles, days in a time zone,
backlog age bands."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from server.domain.day_buckets import offset_changes

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

# Upper bounds of the duration buckets, in minutes (the last bucket has none).
BUCKETS = (5, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 10080, 20160, 43200)
FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
# Backlog age bands, in days: under 1, 1-3, 3-7, 7-30, 30 and more.
AGE_BANDS = (1, 3, 7, 30)


def hour_of(moment: datetime) -> int:
    return (moment - EPOCH) // HOUR


def start_of_hour(hour: int) -> datetime:
    return EPOCH + hour * HOUR


def bucket_of(seconds: float) -> int:
    """The index of the first bucket whose bound is at or above the duration."""
    return bisect_left(BUCKETS, seconds / 60)


def bucket_bound(bucket: int) -> int | None:
    """Minutes: the upper bound of a bucket (None for the last, unbounded one)."""
    return BUCKETS[bucket] if bucket < len(BUCKETS) else None


def percentile_bucket(counts: Mapping[int, int], share: float) -> int | None:
    """The bucket holding the given share (0.5: median, 0.9: 90th percentile) of all
    durations; None when there are none."""
    total = sum(counts.values())
    if not total:
        return None
    rank = share * total
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket
    return max(counts)


def local_day(hour: int, zone: tzinfo) -> date:
    return start_of_hour(hour).astimezone(zone).date()


def offset_segments(start: int, end: int, zone: ZoneInfo) -> list[tuple[int, int]]:
    """The zone's UTC offsets at the start of each hour of [start, end), as (first hour,
    offset in minutes), one entry per offset in force: one, or two or three across summer
    time. An hour belongs to the local day it starts in (:func:`local_day`), so a change in
    the middle of an hour (Lord Howe's half hour) counts from the next one."""
    found: list[tuple[int, int]] = []
    changes = offset_changes(zone, start_of_hour(start), start_of_hour(end))
    for second, offset in changes:
        first = max(start, -(-second // 3600))
        if first >= end:
            break
        if found and found[-1][0] == first:
            found.pop()
        if not found or found[-1][1] != offset // 60:
            found.append((first, offset // 60))
    return found


def local_day_number(hour: int, offset_minutes: int) -> int:
    """Days since 1970-01-01 of the local day an hour starts in, at that UTC offset: what
    :func:`local_day` says, in integer arithmetic the database can run too."""
    return (hour * 60 + offset_minutes) // 1440


def day_of_number(number: int) -> date:
    return EPOCH.date() + timedelta(days=number)


def hours_of_period(first: date, last: date, zone: tzinfo) -> tuple[int, int]:
    """[start, end) in hours for the local days first..last (whole hours: zones off by a
    half hour see their day boundaries rounded to the hour)."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return hour_of(start.astimezone(UTC)), hour_of(end.astimezone(UTC))


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def age_cutoffs(now: datetime) -> list[datetime]:
    """The creation moments at each bound of AGE_BANDS: a ticket created after the first is
    under a day old, and so on."""
    return [now - timedelta(days=days) for days in AGE_BANDS]


def rate(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def band_counts(total: int, newer: list[int]) -> list[int]:
    """Tickets per age band from how many were created after each of ``age_cutoffs``
    (``newer``, as many as AGE_BANDS, each including the next band's) and the ``total``."""
    bounds = [*newer, total]
    return [bounds[0], *(bounds[i] - bounds[i - 1] for i in range(1, len(bounds)))]
