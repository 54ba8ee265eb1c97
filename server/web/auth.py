"""Sign in, sign out, and the language switch."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from server import i18n
from server.domain.errors import GuichetError
from server.domain.text import N_
from server.observability.metrics import count_login_failure
from server.realtime.publish import session_ended
from server.services import accounts, directory
from server.settings import get_settings, session_cookie_name
from server.web import sso
from server.web.identity import LANG_COOKIE


def safe_next(target: str | None, default: str = "/tickets") -> str:
    """Only same-site relative paths: no open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _cookie_args() -> dict[str, Any]:
    return {
        "httponly": True,
        "secure": get_settings().secure_cookies,
        "samesite": "lax",
        "path": "/",
    }


@get("/login", name="login", include_in_schema=False)
async def login_page(request: Request) -> Template | Redirect:
    target = safe_next(request.query_params.get("next"))
    if request.user is not None:
        return Redirect(path=target, status_code=303)
    return Template(
        template_name="login.html", context={"next": target, "error": "", **sso.login_options()}
    )


@post("/login", include_in_schema=False)
async def login(request: Request) -> Response[Any]:
    form = await request.form()
    email = str(form.get("email", ""))
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    address = request.client.host if request.client else "unknown"
    try:
        account = await accounts.authenticate(email, password, address)
    except accounts.TooManyAttempts as refused:
        wait = refused.retry_after
        message = i18n.ngettext(
            "Too many attempts: wait %(num)d second and try again.",
            "Too many attempts: wait %(num)d seconds and try again.",
            wait,
        ) % {"num": wait}
        response = _login_failed(message, email, target, 429, translated=True)
        response.headers["Retry-After"] = str(wait)
        return response
    if account is None and directory.ldap_enabled():
        # Local accounts first: the break-glass admin signs in even when the directory is down.
        try:
            account = await directory.ldap_login(email, password)
        except GuichetError as exc:
            status = 503 if isinstance(exc, directory.DirectoryUnavailable) else 403
            return _login_failed(exc.message, email, target, status)
        if account is not None:
            # The local check counted this as a slip before the directory said yes.
            await accounts.forget_failures(email, address)
    if account is None:
        return _login_failed(N_("Wrong e-mail or password."), email, target, 400)
    if not account.locale:
        # Remember the browser's language so mails sent while away are in it too.
        await accounts.set_locale(account.id, i18n.get_locale())
    return await open_session_response(request, account.id, target)


async def open_session_response(request: Request, user_id: int, target: str) -> Redirect:
    """A new session for this account, and the redirect that hands its cookie over."""
    token = await accounts.open_session(user_id, request.headers.get("user-agent", ""))
    response = Redirect(path=target, status_code=303)
    hours = get_settings().session_hours
    response.set_cookie(session_cookie_name(), token, max_age=hours * 3600, **_cookie_args())
    return response


def _login_failed(
    message: str, email: str, target: str, status: int, translated: bool = False
) -> Template:
    count_login_failure("password")
    return Template(
        template_name="login.html",
        context={
            "next": target,
            "error": message if translated else i18n.gettext(message),
            "email": email,
            **sso.login_options(),
        },
        status_code=status,
    )


@post("/logout", include_in_schema=False)
async def logout(request: Request) -> Redirect:
    token = request.cookies.get(session_cookie_name(), "")
    if token:
        await accounts.close_session(token)
        # This session's open pages stop receiving updates now, on every instance.
        await session_ended(request.app, session=accounts.session_digest(token))
    response = Redirect(path="/login", status_code=303)
    response.delete_cookie(session_cookie_name(), path="/")
    return response


@post("/language", include_in_schema=False)
async def choose_language(request: Request) -> Redirect:
    form = await request.form()
    lang = str(form.get("lang", ""))
    target = safe_next(str(form.get("next", "")), default="/")
    response = Redirect(path=target, status_code=303)
    if lang in i18n.SUPPORTED:
        if request.user is not None:
            await accounts.set_locale(request.user.id, lang)
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, **_cookie_args())
    return response


ROUTES = [login_page, login, logout, choose_language]
