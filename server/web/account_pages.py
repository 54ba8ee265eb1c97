"""Pages anyone may open without signing in: request an account, activate an invitation,
reset a forgotten password. None of them tells whether an address has an account."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from server import i18n
from server.domain.errors import GuichetError, ValidationFailed
from server.domain.text import N_
from server.i18n import gettext
from server.realtime.publish import session_ended
from server.services import account_life
from server.web.errors import field_messages, status_of
from server.web.params import form_dict

SENT_IF_KNOWN = N_(
    "If an active account uses this address, a link to choose a new password is on its way."
)
REGISTERED = N_(
    "Your request is recorded. Open the link we sent to your e-mail address to confirm it; an "
    "administrator will then link your account to an establishment."
)
VERIFIED = N_(
    "Your address is confirmed. You can sign in; an administrator will link your account to "
    "an establishment before you can file tickets, and you will be told by e-mail."
)
ACTIVATED = N_("Your password is set: you can sign in.")


def _page(name: str, status: int = 200, **context: Any) -> Template:
    context.setdefault("errors", {})
    context.setdefault("values", {})
    return Template(template_name=f"account/{name}.html", context=context, status_code=status)


@get("/register", include_in_schema=False)
async def register_form() -> Template:
    return _page("register")


@post("/register", include_in_schema=False)
async def register(request: Request) -> Template:
    values = form_dict(await request.form())
    try:
        await account_life.register(
            email=values.get("email", ""),
            full_name=values.get("full_name", ""),
            organisation=values.get("organisation", ""),
            password=values.get("password", ""),
            confirm=values.get("confirm", ""),
            locale=i18n.get_locale(),
        )
    except GuichetError as exc:
        values.pop("password", None)
        values.pop("confirm", None)
        return _page("register", status_of(exc), values=values, errors=field_messages(exc))
    return _page("done", message=gettext(REGISTERED))


@get("/register/verify/{token:str}", include_in_schema=False)
async def verify_form(token: FromPath[str]) -> Template:
    """A page with a button: opening the link (mail scanners fetch links) changes nothing."""
    user = await account_life.token_owner(token, "verify")
    if user is None:
        return _page("invalid", 404)
    return _page("verify", token=token, email=user["email"])


@post("/register/verify/{token:str}", include_in_schema=False)
async def verify(token: FromPath[str]) -> Template:
    try:
        await account_life.verify_email(token)
    except GuichetError:
        return _page("invalid", 404)
    return _page("done", message=gettext(VERIFIED), sign_in=True)


@get("/activate/{token:str}", include_in_schema=False)
async def activate_form(token: FromPath[str]) -> Template:
    user = await account_life.token_owner(token, "activate")
    if user is None:
        return _page("invalid", 404)
    return _page("activate", token=token, values={"full_name": user["full_name"]})


@post("/activate/{token:str}", include_in_schema=False)
async def activate(request: Request, token: FromPath[str]) -> Template:
    values = form_dict(await request.form())
    try:
        await account_life.activate(
            token,
            full_name=values.get("full_name", ""),
            password=values.get("password", ""),
            confirm=values.get("confirm", ""),
        )
    except ValidationFailed as exc:
        return _page("activate", 422, token=token, values=values, errors=field_messages(exc))
    except GuichetError:
        return _page("invalid", 404)
    return _page("done", message=gettext(ACTIVATED), sign_in=True)


@get("/reset", include_in_schema=False)
async def reset_request_form() -> Template:
    return _page("reset_request")


@post("/reset", include_in_schema=False)
async def reset_request(request: Request) -> Template:
    values = form_dict(await request.form())
    link = await account_life.request_reset(values.get("email", "")[:254])
    if link is not None:
        await account_life.send_link(link)
    return _page("done", message=gettext(SENT_IF_KNOWN))


@get("/reset/{token:str}", include_in_schema=False)
async def reset_form(token: FromPath[str]) -> Template:
    if await account_life.token_owner(token, "reset") is None:
        return _page("invalid", 404)
    return _page("reset", token=token)


@post("/reset/{token:str}", include_in_schema=False)
async def reset(request: Request, token: FromPath[str]) -> Template:
    values = form_dict(await request.form())
    try:
        user_id = await account_life.reset_password(
            token, password=values.get("password", ""), confirm=values.get("confirm", "")
        )
    except ValidationFailed as exc:
        return _page("reset", 422, token=token, errors=field_messages(exc))
    except GuichetError:
        return _page("invalid", 404)
    # Every session ended with the old password: so do their open pages, at once.
    await session_ended(request.app, user_id=user_id)
    return _page("done", message=gettext(ACTIVATED), sign_in=True)


ROUTES = [
    register_form,
    register,
    verify_form,
    verify,
    activate_form,
    activate,
    reset_request_form,
    reset_request,
    reset_form,
    reset,
]
