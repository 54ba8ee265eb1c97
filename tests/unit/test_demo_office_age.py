"""The demo's open tickets are aged in office time, so the desk it shows (how many tickets are
past their service levels) does not depend on the day and hour it is loaded."""

from datetime import UTC, datetime, timedelta

import pytest

from server.demo import PARIS, _office_ago


def _office_minutes(start: datetime, end: datetime) -> int:
    """Monday-Friday 08:00-18:00 in Paris between the two moments, minute by minute."""
    count, moment = 0, start
    while moment < end:
        local = moment.astimezone(PARIS)
        count += local.weekday() < 5 and 8 <= local.hour < 18
        moment += timedelta(minutes=1)
    return count


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 30, 7, 30, tzinfo=UTC),  # Monday, before the office opens
        datetime(2026, 12, 2, 11, 0, tzinfo=UTC),  # Wednesday noon
        datetime(2026, 12, 4, 20, 0, tzinfo=UTC),  # Friday evening
        datetime(2026, 12, 6, 22, 0, tzinfo=UTC),  # Sunday night
        datetime(2026, 3, 30, 9, 0, tzinfo=UTC),  # the Monday after the clocks change
    ],
)
def test_the_same_age_holds_the_same_office_time_whatever_the_moment(now: datetime) -> None:
    for hours in (1, 20, 60, 96):
        created = _office_ago(now, timedelta(hours=hours))
        assert created < now
        # To the minute (the walk keeps seconds, this count takes whole minutes).
        assert abs(_office_minutes(created, now) - hours * 60 * 50 / 168) <= 1
