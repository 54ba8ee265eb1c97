"""One database connection per HTTP request.

Outermost middleware: the session lookup, the page's queries and any write transaction of
the request share the connection, taken at the first statement and given back as soon as
the response starts (a slow download must not hold a connection; anything that still runs
after that uses a connection per statement). Websockets are long-lived: they take a session
per render instead.
"""

from __future__ import annotations

import logging

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.db.engine import db_session

log = logging.getLogger("guichet.sql")


class DbSessionMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async with db_session(f"{scope['method']} {scope['path']}") as lease:

            async def send_then_release(message: Message) -> None:
                if message["type"] == "http.response.start":
                    await lease.release()
                await send(message)

            await next_app(scope, receive, send_then_release)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s: %d statements", scope["method"], scope["path"], lease.statements)
