"""Prometheus metrics of one Guichet process, in their own registry.

Counters and histograms are updated where things happen; gauges that need the database
(outbox) or the state of running parts (scheduler) are read when ``/metrics`` is scraped.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "guichet_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKETS = Gauge(
    "guichet_websocket_connections",
    "Open live-update websockets, by view (board, ticket, list, page).",
    ["view"],
    registry=REGISTRY,
)
FANOUT_SECONDS = Histogram(
    "guichet_fanout_delay_seconds",
    "From a live message reaching this process to its push on one websocket.",
    registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_DEPTH = Gauge(
    "guichet_outbox_pending", "Mails waiting in the outbox (all instances).", registry=REGISTRY
)
OUTBOX_OLDEST = Gauge(
    "guichet_outbox_oldest_age_seconds",
    "Age of the oldest mail waiting in the outbox; 0 when it is empty.",
    registry=REGISTRY,
)
SCHEDULER_LAG = Gauge(
    "guichet_scheduler_lag_seconds",
    "How late this process's scheduler is: time since its last pass beyond its interval.",
    registry=REGISTRY,
)
LOGIN_FAILURES = Counter(
    "guichet_login_failures",
    "Refused sign-ins, by way (password, oidc).",
    ["method"],
    registry=REGISTRY,
)

# Loop name -> monotonic time of its last completed pass.
_last_pass: dict[str, float] = {}


def count_login_failure(method: str) -> None:
    LOGIN_FAILURES.labels(method=method).inc()


def background_pass_done(loop: str) -> None:
    _last_pass[loop] = time.monotonic()


def scheduler_lag(loop: str, interval: float) -> float:
    """Seconds beyond the expected interval since the last pass (0 when on time or off)."""
    if interval <= 0 or loop not in _last_pass:
        return 0.0
    return max(0.0, time.monotonic() - _last_pass[loop] - interval)
