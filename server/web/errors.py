"""Turn failures into translated 4xx responses: an HTML page, or JSON under /api.

A ticket the viewer may not see raises the same NotFound as a missing one, so both produce
this module's identical 404.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from server.domain.errors import (
    Conflict,
    Forbidden,
    GuichetError,
    IdentifiersFound,
    InvalidTransition,
    NotFound,
    TooLarge,
    Unacceptable,
    ValidationFailed,
)
from server.domain.text import N_
from server.i18n import gettext, negotiate, set_locale
from server.web.database_faults import Fault, classify
from server.web.identity import API_PREFIX
from server.web.rendering import label

log = logging.getLogger("guichet")

STATUS_OF: dict[type[GuichetError], int] = {
    NotFound: HTTP_404_NOT_FOUND,
    Forbidden: HTTP_403_FORBIDDEN,
    Conflict: HTTP_409_CONFLICT,
    InvalidTransition: HTTP_422_UNPROCESSABLE_ENTITY,
    ValidationFailed: HTTP_422_UNPROCESSABLE_ENTITY,
    IdentifiersFound: HTTP_422_UNPROCESSABLE_ENTITY,
    Unacceptable: HTTP_422_UNPROCESSABLE_ENTITY,
    TooLarge: HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}

GENERIC_MESSAGES = {
    400: N_("The request is not valid."),
    401: N_("Please sign in."),
    403: N_("You may not do this"),
    404: N_("Not found"),
    405: N_("This action is not available here."),
    409: N_("This ticket was changed by someone else meanwhile"),
    412: N_("This ticket was changed meanwhile: read it again, then retry."),
    413: N_("This upload is too large."),
    428: N_("Say which version you are changing (If-Match header or version)."),
    429: N_("Too many attempts: wait a minute and try again."),
    500: N_("Something went wrong on our side. Nothing you saved was lost; try again."),
    503: N_(
        "The service is briefly unavailable. Nothing you saved was lost; "
        "try again in a few seconds."
    ),
}
# What a client should wait before trying again while the database cannot be reached.
RETRY_AFTER_SECONDS = 5
# While the database is away every request fails the same way: one warning per this many
# seconds says so, instead of a traceback per request.
OUTAGE_LOG_SECONDS = 60.0
_last_outage_warning = [float("-inf")]


def status_of(error: GuichetError) -> int:
    for kind, status in STATUS_OF.items():
        if isinstance(error, kind):
            return status
    return 400


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _unrouted(request: Request) -> None:
    """An unknown URL never reached the identity middleware: anonymous, browser language."""
    if "user" not in request.scope:
        request.scope["user"] = None  # type: ignore[typeddict-unknown-key]
        set_locale(negotiate(request.headers.get("accept-language")))


def _respond(
    request: Request, status: int, message: str, fields: dict[str, str] | None = None
) -> Response[Any]:
    if is_api(request):
        body: dict[str, Any] = {"error": message}
        if fields:
            body["fields"] = fields
        return Response(content=body, status_code=status)
    fragment = bool(request.headers.get("hx-request"))
    return Template(
        template_name="_error.html" if fragment else "error.html",
        context={"status": status, "message": message, "fields": fields or {}},
        status_code=status,
    )


def field_messages(exc: GuichetError) -> dict[str, str]:
    """The refusal's messages in the reader's language, per form field; a refusal that names
    no field (not found, forbidden, conflict...) goes under ``__all__``."""
    if isinstance(exc, ValidationFailed):
        return {name: gettext(message) for name, message in exc.errors.items()}
    return {"__all__": gettext(exc.message)}


def guichet_error(request: Request, exc: GuichetError) -> Response[Any]:
    fields = None
    if isinstance(exc, ValidationFailed):
        fields = field_messages(exc)
    elif isinstance(exc, IdentifiersFound):
        # Say what kind of identifier was found where; the caller resends with phi=redact|send.
        fields = {
            name: ", ".join(sorted({label("phi", f.kind.value) for f in found}))
            for name, found in exc.findings.items()
        }
    return _respond(request, status_of(exc), gettext(exc.message), fields)


def not_authorized(request: Request, exc: NotAuthorizedException) -> Response[Any]:
    if is_api(request):
        response = _respond(request, HTTP_401_UNAUTHORIZED, gettext(GENERIC_MESSAGES[401]))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    target = "/login?next=" + quote(request.url.path, safe="/")
    if request.headers.get("hx-request"):
        return Response(content="", status_code=204, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


def validation_error(request: Request, exc: ValidationException) -> Response[Any]:
    _unrouted(request)
    fields: dict[str, str] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict) and item.get("key"):
            fields[str(item["key"])] = gettext(N_("This value is not valid."))
    return _respond(request, 400, gettext(GENERIC_MESSAGES[400]), fields)


def http_error(request: Request, exc: HTTPException) -> Response[Any]:
    _unrouted(request)
    status = exc.status_code
    message = GENERIC_MESSAGES.get(status) or GENERIC_MESSAGES[400 if status < 500 else 500]
    response = _respond(request, status, gettext(message))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def database_unavailable(request: Request, exc: BaseException) -> Response[Any]:
    """The database cannot be reached: a translated "try again" with Retry-After (503),
    like /healthz says, and one warning line per outage rather than a traceback per request."""
    now = time.monotonic()
    if now - _last_outage_warning[0] >= OUTAGE_LOG_SECONDS:
        _last_outage_warning[0] = now
        log.warning(
            "database unreachable (%s: %s): answering 503 until it is back",
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
        )
    response = _respond(request, HTTP_503_SERVICE_UNAVAILABLE, gettext(GENERIC_MESSAGES[503]))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def unexpected_error(request: Request, exc: Exception) -> Response[Any]:
    _unrouted(request)
    fault = classify(exc)
    if fault is Fault.UNAVAILABLE:
        return database_unavailable(request, exc)
    if fault is Fault.UNSTORABLE_TEXT:
        # A NUL or similar character PostgreSQL cannot store in text: bad input, not a bug.
        return _respond(request, 400, gettext(GENERIC_MESSAGES[400]))
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _respond(request, HTTP_500_INTERNAL_SERVER_ERROR, gettext(GENERIC_MESSAGES[500]))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    GuichetError: guichet_error,
    NotAuthorizedException: not_authorized,
    ValidationException: validation_error,
    NotFoundException: http_error,
    PermissionDeniedException: http_error,
    HTTPException: http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: unexpected_error,
}
