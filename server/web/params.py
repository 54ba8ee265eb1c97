"""Reading request parameters: query strings (list and board filters) with translated errors,
never a 500, and submitted forms."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from server.domain.errors import ValidationFailed
from server.domain.text import N_

_E = TypeVar("_E", bound=StrEnum)
CHOOSE = N_("Choose one of the proposed values.")


class QueryReader:
    """Collects every faulty parameter, then ``done()`` raises them all at once (422)."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def integer(self, raw: str | None, name: str) -> int | None:
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 9:
            self.errors[name] = N_("Enter a whole number.")
            return None
        return int(raw)

    def choice(self, raw: str | None, name: str, enum: type[_E]) -> _E | None:
        if not raw:
            return None
        try:
            return enum(raw)
        except ValueError:
            self.errors[name] = CHOOSE
            return None

    def one_of(self, raw: str, name: str, allowed: tuple[str, ...]) -> str:
        if raw not in allowed:
            self.errors[name] = CHOOSE
            return allowed[0]
        return raw

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def form_dict(form: Any) -> dict[str, str]:
    """A submitted form as plain strings. Last value wins, so a hidden "0" before a checked
    checkbox "1" reads as checked."""
    return {key: str(value) for key, value in form.multi_items()}
