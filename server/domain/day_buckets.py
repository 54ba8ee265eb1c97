"""Periods of whole local days as a few aligned blocks, so a read model can count per block
and a report sums a handful of rows whatever the length of its period (the SLA tally).

A ticket is counted once in each of ``LEVELS`` blocks: the block of 1 day, of 2 days, of 4
days... (aligned on day 0) that contains its day. Any run of days is the union of at most
about ``2 * LEVELS`` such blocks, disjoint, so their sums add up exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LEVELS = 10  # blocks of 1 to 512 days
STRIDE = 100_000  # a block id is level * STRIDE + index (day numbers stay far below)
_EPOCH = date(1970, 1, 1)
DAY = timedelta(days=1)


def day_number(moment: datetime, zone: ZoneInfo) -> int:
    """The local day of ``moment`` in ``zone``, counted from 1970-01-01."""
    return (moment.astimezone(zone).date() - _EPOCH).days


def date_number(day: date) -> int:
    return (day - _EPOCH).days


def blocks_of_day(day: int) -> list[int]:
    """The ids of every block containing ``day``, one per level."""
    return [level * STRIDE + (day >> level) for level in range(LEVELS)]


def blocks_covering(first: int, last: int) -> list[int]:
    """Disjoint block ids whose union is exactly the days ``first`` to ``last`` included,
    within the days a block id can name (1970 to 2243: no ticket lies outside)."""
    found, day, end = [], max(first, 0), min(last, STRIDE - 1) + 1
    while day < end:
        level = 0
        while (
            level + 1 < LEVELS and day % (1 << (level + 1)) == 0 and day + (1 << (level + 1)) <= end
        ):
            level += 1
        found.append(level * STRIDE + (day >> level))
        day += 1 << level
    return found


def offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """``zone``'s UTC offset over [start, end] as (from epoch second, offset seconds), the
    first from the beginning of time: what a backfill needs to find local days in SQL."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    at = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    changes = [(-(2**62), offset(at))]
    while at <= end:
        if offset(at + DAY) != changes[-1][1]:
            # Every zone in use changes its offset on a quarter of an hour.
            for quarter in range(1, 97):
                moment = at + timedelta(minutes=15 * quarter)
                if offset(moment) != changes[-1][1]:
                    changes.append((int(moment.timestamp()), offset(moment)))
        at += DAY
    return changes
