"""Errors raised by domain rules and use cases.

GuichetError
 ├── NotFound           the thing is missing, or the actor may not know it exists
 ├── Forbidden          the actor may see the thing but not do this
 ├── Conflict           the version the actor saw is stale
 ├── InvalidTransition  the transition table has no such move, or a guard refused it
 ├── ValidationFailed   field -> message id
 ├── IdentifiersFound   typed text seems to hold patient identifiers: redact or confirm
 ├── Unacceptable       a file whose content is refused (type, damaged image, boxes)
 └── TooLarge           over a size limit
"""

from __future__ import annotations

from typing import Any

from server.domain.text import N_


class GuichetError(Exception):
    """Base of every expected, user-facing failure."""

    message: str = N_("Error")

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message


class NotFound(GuichetError):
    message = N_("Not found")


class Forbidden(GuichetError):
    message = N_("You may not do this")


class Conflict(GuichetError):
    message = N_("This ticket was changed by someone else meanwhile")


class InvalidTransition(GuichetError):
    message = N_("This status change is not allowed")


class ValidationFailed(GuichetError):
    message = N_("Some fields are not valid")

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__()
        self.errors = errors


class IdentifiersFound(GuichetError):
    message = N_("This text seems to contain patient identifiers.")

    def __init__(self, findings: dict[str, list[Any]]) -> None:
        super().__init__()
        self.findings = findings


class Unacceptable(GuichetError):
    message = N_("This file is not accepted.")


class TooLarge(GuichetError):
    message = N_("This upload is too large.")
