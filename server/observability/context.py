"""The id of the request being served, visible to everything it calls (use cases, events,
log lines) without being passed around."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("guichet_request_id", default="")

# What we accept from a proxy's X-Request-ID: short, printable, no spaces (it lands in logs).
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:@-]{1,128}")


def request_id_from(header: str) -> str:
    """The proxy's id when it is sensible, else a fresh one."""
    return header if _ACCEPTABLE.fullmatch(header) else uuid.uuid4().hex


def current_request_id() -> str:
    return REQUEST_ID.get()
