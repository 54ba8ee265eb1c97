"""Report arithmetic with no I/O: duration buckets and their percentiles, days in a time zone,
backlog age bands."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo

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


def hours_of_period(first: date, last: date, zone: tzinfo) -> tuple[int, int]:
    """[start, end) in hours for the local days first..last (whole hours: zones off by a
    half hour see their day boundaries rounded to the hour)."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return hour_of(start.astimezone(UTC)), hour_of(end.astimezone(UTC))


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def age_band(created_at: datetime, now: datetime) -> int:
    """0 for under a day, then one band per bound of AGE_BANDS passed."""
    return bisect_right(AGE_BANDS, (now - created_at).total_seconds() / 86400)


def rate(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def band_counts(created: Iterable[datetime], now: datetime) -> list[int]:
    counts = [0] * (len(AGE_BANDS) + 1)
    for moment in created:
        counts[age_band(moment, now)] += 1
    return counts
