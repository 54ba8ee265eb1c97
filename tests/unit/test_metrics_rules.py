"""Metric arithmetic that needs no server."""

import time

from server.observability import metrics


def test_scheduler_lag_counts_only_time_beyond_the_interval() -> None:
    assert metrics.scheduler_lag("never-ran", 30) == 0.0
    metrics._last_pass["lagging"] = time.monotonic() - 100
    assert 69 <= metrics.scheduler_lag("lagging", 30) <= 80
    assert metrics.scheduler_lag("lagging", 3600) == 0.0
    assert metrics.scheduler_lag("lagging", 0) == 0.0  # scheduler off
