"""Conventions shared by every /api/v1 module.

Errors: every refusal is ``{"error": "<translated message>", "fields": {name: message}}``
(``fields`` only when named fields are at fault) with the status below; the OpenAPI document
lists each with this body (``ErrorBody``) through ``ERROR_RESPONSES``.

- 400 the body or a parameter does not parse; 401 no or bad bearer token
- 403 the caller may see the thing but not do this; 404 missing, or invisible to the caller
  (identical bodies); 409 stale ``version`` in the body; 412 ``If-Match`` is stale;
  422 refused by a rule (fields, transitions, identifiers); 428 a write without any version.

Versions: ticket reads carry ``ETag: "<version>"``. Writes that change a ticket take the
version the caller saw, preferably as ``If-Match: "<version>"`` (412 when stale), or, for
compatibility with the first clients, as ``version`` in the JSON body (409 when stale). With
neither the answer is 428. Follow-ups and attachments need no version: they are never refused
because someone else wrote meanwhile (as in the UI).

Pagination: lists answer ``{"items": [...], "next": "<url or null>"}``; ``next`` carries an
opaque ``cursor`` (keyset over ids, newest first), ``limit`` bounds a page (1..100).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from server.domain.errors import Conflict, ValidationFailed
from server.domain.text import N_

_C = TypeVar("_C")


class ErrorBody(msgspec.Struct, omit_defaults=True):
    error: str
    fields: dict[str, str] | None = None


def _spec(status: int) -> ResponseSpec:
    # OpenAPI texts are for developers: English, not translated.
    if status == 400:
        return ResponseSpec(ErrorBody, description="The body or a parameter does not parse.")
    if status == 401:
        return ResponseSpec(ErrorBody, description="No bearer token, or not a valid one.")
    if status == 403:
        return ResponseSpec(ErrorBody, description="The caller may see this but not do it.")
    if status == 404:
        return ResponseSpec(ErrorBody, description="Missing, or not visible to the caller.")
    if status == 409:
        return ResponseSpec(ErrorBody, description="The version given in the body is stale.")
    if status == 412:
        return ResponseSpec(ErrorBody, description="The If-Match version is stale.")
    if status == 422:
        return ResponseSpec(ErrorBody, description="Refused by a rule; fields names the fields.")
    return ResponseSpec(ErrorBody, description="A write without If-Match nor version.")


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {status: _spec(status) for status in statuses}


def documented(errors: dict[int, ResponseSpec]) -> Callable[[type[_C]], type[_C]]:
    """Class decorator: every route of the controller documents ``errors`` (Litestar 2 has
    no controller-level ``responses``); a route's own entries win."""

    def apply(controller: type[_C]) -> type[_C]:
        for value in vars(controller).values():
            if isinstance(value, HTTPRouteHandler):
                value.responses = {**errors, **(value.responses or {})}
        return controller

    return apply


# Every ticket route may answer these; writes add 409/412/428.
READ_ERRORS = error_responses(400, 401, 403, 404, 422)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 412, 422, 428)


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(raw: str | None) -> int | None:
    """``"12"``, ``W/"12"`` or ``12`` -> 12; absent -> None; anything else is a 400."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 9:
        raise ValidationFailed({"If-Match": N_("This value is not valid.")})
    return int(text)


class Expected(msgspec.Struct, frozen=True):
    version: int
    from_header: bool


def expected_version(if_match: str | None, body_version: int | None) -> Expected:
    """The version a write is based on: If-Match first, then the body's; 428 with neither."""
    header = parse_if_match(if_match)
    if header is not None:
        return Expected(header, True)
    if body_version is not None:
        return Expected(body_version, False)
    raise HTTPException(status_code=428)


@asynccontextmanager
async def stale_as(expected: Expected) -> AsyncIterator[None]:
    """A stale If-Match is a 412 (HTTP's precondition); a stale body version stays a 409."""
    try:
        yield
    except Conflict:
        if expected.from_header:
            raise HTTPException(status_code=412) from None
        raise


LIMIT_DEFAULT = 25
LIMIT_MAX = 100


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    kind, _sep, value = text.partition(":")
    if kind != "id" or not value.isdigit() or len(value) > 10:
        raise ValidationFailed({"cursor": N_("This value is not valid.")})
    return int(value)


def read_limit(raw: str | None) -> int:
    if not raw:
        return LIMIT_DEFAULT
    if not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= LIMIT_MAX:
        raise ValidationFailed({"limit": N_("Enter a whole number.")})
    return int(raw)


def next_link(path: str, query: Any, last_id: int) -> str:
    """The same query, with the cursor after ``last_id``."""
    pairs = [(k, v) for k, v in query.multi_items() if k != "cursor"]
    pairs.append(("cursor", encode_cursor(last_id)))
    return f"{path}?{urlencode(pairs)}"
