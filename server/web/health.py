"""Liveness for load balancers and compose: is the database reachable?"""

from __future__ import annotations

from litestar import get
from litestar.response import Response

from server.db.engine import ping


@get("/healthz", include_in_schema=False, cache_control=None)
async def healthz() -> Response[dict[str, str]]:
    if await ping():
        return Response(content={"status": "ok", "database": "ok"}, status_code=200)
    return Response(content={"status": "error", "database": "unreachable"}, status_code=503)
