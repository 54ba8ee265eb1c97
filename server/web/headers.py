"""Security headers on every response.

Pages and fragments may show health data: they are never cached. Scripts come only from our
own origin (htmx runs with eval disabled), and nothing may frame Guichet.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.add("X-Content-Type-Options", "nosniff")
                headers.add("Referrer-Policy", "same-origin")
                headers.add("X-Frame-Options", "DENY")
                if "content-security-policy" not in headers:
                    headers.add("Content-Security-Policy", CSP)
                if not is_static and "cache-control" not in headers:
                    headers.add("Cache-Control", "no-store")
            await send(message)

        await next_app(scope, receive, send_with_headers)
