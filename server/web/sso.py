"""Single sign-on pages: OpenID Connect login, and what the login page offers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict
from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Response, Template

from server import i18n
from server.domain.errors import GuichetError
from server.domain.text import N_
from server.observability.metrics import count_login_failure
from server.services import directory, oidc
from server.settings import get_settings

FLOW_COOKIE = "guichet_oidc"
FLOW_SECONDS = 600


def login_options() -> dict[str, Any]:
    """Login page context: whether directory usernames are accepted, the SSO button."""
    settings = get_settings()
    return {
        "directory_login": bool(settings.ldap.url),
        "oidc_label": settings.oidc.label if settings.oidc.issuer else "",
    }


def _flow_key() -> bytes:
    return hmac.new(get_settings().secret_key.encode(), b"oidc-flow", hashlib.sha256).digest()


def _seal(flow: oidc.Flow) -> str:
    body = base64.urlsafe_b64encode(json.dumps(asdict(flow)).encode()).decode()
    signature = hmac.new(_flow_key(), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


def _unseal(raw: str) -> oidc.Flow | None:
    body, _, signature = raw.rpartition(".")
    expected = hmac.new(_flow_key(), body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(signature, expected):
        return None
    try:
        return oidc.Flow(**json.loads(base64.urlsafe_b64decode(body)))
    except (ValueError, TypeError):
        return None


def _redirect_uri() -> str:
    return f"{get_settings().base_url}/login/oidc/callback"


@get("/login/oidc", name="oidc_login", include_in_schema=False)
async def oidc_login(request: Request) -> Response[Any]:
    from server.web.auth import safe_next  # auth imports this module: import late

    cfg = get_settings().oidc
    if not cfg.issuer:
        raise NotFoundException()
    target = safe_next(request.query_params.get("next"))
    try:
        provider = await oidc.discover(cfg)
    except GuichetError as exc:
        return _failed(exc, target, 503)
    url, flow = oidc.start(cfg, provider, _redirect_uri(), target)
    response = Redirect(path=url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        _seal(flow),
        max_age=FLOW_SECONDS,
        path="/login/oidc",
        httponly=True,
        secure=get_settings().secure_cookies,
        # Lax: the provider sends the browser back with a top-level GET.
        samesite="lax",
    )
    return response


@get("/login/oidc/callback", name="oidc_callback", include_in_schema=False)
async def oidc_callback(request: Request) -> Response[Any]:
    from server.web.auth import open_session_response  # auth imports this module

    settings = get_settings()
    if not settings.oidc.issuer:
        raise NotFoundException()
    flow = _unseal(request.cookies.get(FLOW_COOKIE, ""))
    params = request.query_params
    target = flow.next if flow else "/tickets"
    try:
        if flow is None or params.get("error"):
            raise oidc.OidcRefused()
        provider = await oidc.discover(settings.oidc)
        identity = await oidc.finish(
            settings.oidc,
            provider,
            flow,
            code=params.get("code", ""),
            state=params.get("state", ""),
            redirect_uri=_redirect_uri(),
        )
        account = await directory.provision(identity, settings)
    except GuichetError as exc:
        status = 503 if isinstance(exc, oidc.OidcUnavailable) else 400
        if isinstance(exc, directory.DirectoryAccountConflict):
            status = 403
        return _failed(exc, target, status)
    if account is None:  # deactivated in Guichet
        return _failed(oidc.OidcRefused(N_("This account is deactivated.")), target, 403)
    response = await open_session_response(request, account.id, target)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response


def _failed(exc: GuichetError, target: str, status: int) -> Template:
    count_login_failure("oidc")
    response = Template(
        template_name="login.html",
        context={"next": target, "error": i18n.gettext(exc.message), **login_options()},
        status_code=status,
    )
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response


ROUTES = [oidc_login, oidc_callback]
