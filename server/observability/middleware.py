"""Request ids, request latency and websocket counts, for every HTTP request and socket."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.observability import inflight
from server.observability.context import REQUEST_ID, request_id_from
from server.observability.metrics import REQUEST_SECONDS, WEBSOCKETS

log = logging.getLogger("guichet.http")
KNOWN_VIEWS = {"board", "ticket", "list", "page"}


class ObservabilityMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = dict(scope["headers"])
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        token = REQUEST_ID.set(request_id)
        try:
            if scope["type"] == ScopeType.WEBSOCKET:
                await self._socket(scope, receive, send, next_app)
            else:
                await self._http(scope, receive, send, next_app, request_id)
        finally:
            REQUEST_ID.reset(token)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, request_id: str
    ) -> None:
        started = time.perf_counter()
        status = [500]
        answering = [False]
        inflight.request_started()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                answering[0] = True
                inflight.request_answered()
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            if not answering[0]:  # failed or cancelled before answering
                inflight.request_answered()
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            # Static files are not work: neither timed nor logged.
            if not route.startswith("/static/"):
                self._record(scope["method"], route, status[0], elapsed)

    @staticmethod
    def _record(method: str, route: str, status: int, elapsed: float) -> None:
        REQUEST_SECONDS.labels(route, method, str(status)).observe(elapsed)
        log.info(
            "%s %s %s %.1f ms",
            method,
            route,
            status,
            elapsed * 1000,
            extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 1)},
        )

    async def _socket(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        view = (query.get("view") or [""])[0]
        gauge = WEBSOCKETS.labels(view if view in KNOWN_VIEWS else "other")
        accepted = [False]

        async def send_tracking(message: Message) -> None:
            if message["type"] == "websocket.accept" and not accepted[0]:
                accepted[0] = True
                gauge.inc()
            await send(message)

        try:
            await next_app(scope, receive, send_tracking)
        finally:
            if accepted[0]:
                gauge.dec()
