"""Blocks of days: any period is an exact, disjoint union of a few blocks, and a day is in
exactly one of them when it is in the period (the SLA tally sums those blocks)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from server.domain.day_buckets import (
    LEVELS,
    STRIDE,
    blocks_covering,
    blocks_of_day,
    date_number,
    day_number,
    offset_changes,
)

PARIS = ZoneInfo("Europe/Paris")


def _days(block: int) -> range:
    level, index = divmod(block, STRIDE)
    return range(index << level, (index + 1) << level)


def test_a_period_is_the_disjoint_union_of_its_blocks() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        first = rng.randrange(18_000, 25_000)
        last = first + rng.choice([0, 1, 6, 29, 30, 92, 365, 1500])
        blocks = blocks_covering(first, last)
        covered = [day for block in blocks for day in _days(block)]
        assert sorted(covered) == list(range(first, last + 1))
        assert len(blocks) <= 2 * LEVELS + (last - first) // (1 << (LEVELS - 1))
        for day in (first - 1, first, last, last + 1, rng.randrange(first, last + 1)):
            inside = first <= day <= last
            assert len(set(blocks) & set(blocks_of_day(day))) == (1 if inside else 0)


def test_a_month_reads_a_handful_of_blocks() -> None:
    first = date_number(date(2026, 11, 1))
    assert len(blocks_covering(first, date_number(date(2026, 11, 30)))) <= 8


def test_local_days_follow_the_zone() -> None:
    # 23:30 UTC on 28 March 2026 is already the 29th in Paris (UTC+1).
    assert day_number(datetime(2026, 3, 28, 23, 30, tzinfo=UTC), PARIS) == date_number(
        date(2026, 3, 29)
    )
    assert day_number(datetime(2026, 3, 28, 22, 30, tzinfo=UTC), PARIS) == date_number(
        date(2026, 3, 28)
    )


def test_offset_changes_are_the_daylight_saving_instants() -> None:
    changes = offset_changes(
        PARIS, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
    )
    assert changes[1:] == [
        (int(datetime(2026, 3, 29, 1, tzinfo=UTC).timestamp()), 7200),
        (int(datetime(2026, 10, 25, 1, tzinfo=UTC).timestamp()), 3600),
    ]
    assert changes[0][1] == 3600


def test_periods_beyond_the_named_days_are_cut_to_them() -> None:
    assert blocks_covering(-40, 3) == blocks_covering(0, 3)
    assert blocks_covering(STRIDE - 3, STRIDE + 50) == blocks_covering(STRIDE - 3, STRIDE - 1)
    covered = [day for block in blocks_covering(-(10**6), 10**6) for day in _days(block)]
    assert covered == list(range(STRIDE))
