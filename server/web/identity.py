"""Who is calling, and in which language: resolved once per connection.

Browser pages authenticate with the server-side session cookie; the JSON API only with bearer
tokens (so a cookie can never drive the API, and the API needs no CSRF token).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from server import i18n
from server.services import accounts
from server.settings import get_settings, session_cookie_name

API_PREFIX = "/api/"
STATIC_PREFIX = "/static/"
LANG_COOKIE = "guichet_lang"


def _bearer(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class IdentityMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["path"].startswith(STATIC_PREFIX):
            # Static files need no identity: spare the database a session lookup.
            scope["user"] = None
            await next_app(scope, receive, send)
            return
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        if scope["path"].startswith(API_PREFIX):
            account = await accounts.token_account(_bearer(connection))
        else:
            account = await accounts.session_account(
                connection.cookies.get(session_cookie_name(), "")
            )
        scope["user"] = account
        preferred = account.locale if account else connection.cookies.get(LANG_COOKIE, "")
        settings = get_settings()
        i18n.set_locale(
            i18n.negotiate(
                connection.headers.get("accept-language"), preferred or "", settings.default_locale
            )
        )
        i18n.set_timezone((account.zone if account else "") or settings.default_timezone)
        await next_app(scope, receive, send)


def requires_account(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.user is None:
        raise NotAuthorizedException()


def requires_staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    requires_account(connection, _)
    if not connection.user.actor.is_staff:
        # Pages reserved to the desk do not exist for requesters.
        raise NotFoundException()
