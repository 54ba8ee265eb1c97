"""Prometheus metrics of one Guichet process, in their own registry.

Counters and histograms are updated where things happen; gauges that need the database
(outbox) or the state of running parts (scheduler) are read when ``/metrics`` is scraped.

Under ``guichet serve --workers N`` each worker keeps its values in files of a folder the parent
names (``PROMETHEUS_MULTIPROC_DIR``, see ``multiprocess``) and a scrape, whichever worker
answers it, reads every worker's: counts summed, gauges as each says.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from server.observability.multiprocess import FOLDER_VARIABLE

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
    multiprocess_mode="livesum",  # every worker's open sockets
)
FANOUT_SECONDS = Histogram(
    "guichet_fanout_delay_seconds",
    "From a live message reaching this process to its push on one websocket.",
    registry=REGISTRY,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# Read from the database: the last worker to read it is right for all.
OUTBOX_DEPTH = Gauge(
    "guichet_outbox_pending",
    "Mails waiting in the outbox (all instances).",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
OUTBOX_OLDEST = Gauge(
    "guichet_outbox_oldest_age_seconds",
    "Age of the oldest mail waiting in the outbox; 0 when it is empty.",
    registry=REGISTRY,
    multiprocess_mode="livemostrecent",
)
SCHEDULER_LAG = Gauge(
    "guichet_scheduler_lag_seconds",
    "How late this process's scheduler is: time since its last pass beyond its interval.",
    registry=REGISTRY,
    # Each worker sets its own when it answers a scrape; the latest worker counts.
    multiprocess_mode="livemax",
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


def exposition() -> bytes:
    """What ``/metrics`` answers: this process's registry, or every worker's values."""
    if not os.environ.get(FOLDER_VARIABLE):
        return generate_latest(REGISTRY)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def process_stopped() -> None:
    """A worker leaving: its open sockets and gauges no longer count in the others' scrapes."""
    if os.environ.get(FOLDER_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
