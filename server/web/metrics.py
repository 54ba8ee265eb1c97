"""``/metrics`` for Prometheus: a bearer token from the settings, or loopback clients only."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from litestar import Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.response import Response
from prometheus_client import CONTENT_TYPE_LATEST

from server.db.tables import Outbox
from server.observability.metrics import (
    OUTBOX_DEPTH,
    OUTBOX_OLDEST,
    SCHEDULER_LAG,
    exposition,
    scheduler_lag,
)
from server.settings import get_settings

LOOPBACK = {"127.0.0.1", "::1"}


def _allowed(request: Request) -> bool:
    token = get_settings().metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
    # Without a token: only this machine, and not through a proxy (which would make every
    # client look local).
    client = request.client.host if request.client else ""
    proxied = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    return client in LOOPBACK and not proxied


async def _refresh(request: Request) -> None:
    pending = Outbox.sent_at.is_null()
    OUTBOX_DEPTH.set(await Outbox.count().where(pending))
    oldest = (
        await Outbox.select(Outbox.created_at)
        .where(pending)
        .order_by(Outbox.created_at)
        .first()
    )
    age = (datetime.now(UTC) - oldest["created_at"]).total_seconds() if oldest else 0.0
    OUTBOX_OLDEST.set(max(0.0, age))
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        SCHEDULER_LAG.set(scheduler_lag(scheduler.task_name, scheduler.interval))


@get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response[bytes]:
    if not _allowed(request):
        raise PermissionDeniedException()
    await _refresh(request)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
