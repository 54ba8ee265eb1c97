"""Query-string parameters (list and board filters) read with translated errors, never a 500:
the page URL and the websocket URL go through the same reader."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

from server.domain.errors import ValidationFailed
from server.domain.text import N_

_E = TypeVar("_E", bound=StrEnum)
CHOOSE = N_("Choose one of the proposed values.")
BAD_DATE = N_("Enter a date as YYYY-MM-DD.")
BAD_PERIOD = N_("The end of the period must come after its start.")


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

    def period(self, q: Mapping[str, str], today: date, default_days: int) -> tuple[date, date]:
        """``from`` and ``to`` (ISO dates, both included); by default the last days to today."""
        days: dict[str, date] = {}
        for name, default in (("from", today - timedelta(days=default_days)), ("to", today)):
            raw = q.get(name, "")
            try:
                days[name] = date.fromisoformat(raw) if raw else default
            except ValueError:
                self.errors[name] = BAD_DATE
                days[name] = default
        if "to" not in self.errors and days["to"] < days["from"]:
            self.errors["to"] = BAD_PERIOD
        return days["from"], days["to"]

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
