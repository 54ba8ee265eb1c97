"""Validation of what people type, independent of HTML forms or JSON.

Each ``parse_*`` takes raw strings (as a form or a JSON body gives them) and returns a typed
value or raises ValidationFailed with one message id per faulty field. SQLite does not enforce
lengths, so they are enforced here for both engines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from server.domain.errors import ValidationFailed
from server.domain.text import N_
from server.domain.vocabulary import Environment, Priority, Source, Status, TicketType

TITLE_MAX = 200
TEXT_MAX = 50_000
NAME_MAX = 120
URL_MAX = 500
MINUTES_MAX = 10_000

_PHONE = re.compile(r"^\+?[0-9 ().\-]{4,25}$")
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class NewTicket:
    title: str
    description: str
    type: TicketType
    priority: Priority | None
    category_id: int | None
    environment: Environment
    contact_name: str
    contact_phone: str
    service_url: str
    notify: bool
    shared: bool
    source: Source = Source.WEB
    request_type_id: int | None = None  # within the category (server.domain.routing)


@dataclass(frozen=True, slots=True)
class NewFollowUp:
    text: str
    private: bool
    minutes: int


class FieldCollector:
    """Collects the faults of one form or file row (field -> message id); ``done`` raises
    them all at once."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def text(self, name: str, max_len: int, *, required: bool = False) -> str:
        value = self.raw.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.errors[name] = N_("This value must be text.")
            return ""
        value = value.strip()
        if required and not value:
            self.errors[name] = N_("This field is required.")
        elif len(value) > max_len:
            self.errors[name] = N_("This text is too long.")
        return value

    def choice(self, name: str, enum: type[_E], default: _E | None) -> _E | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        try:
            return enum(value)
        except ValueError:
            self.errors[name] = N_("Choose one of the proposed values.")
            return default

    def integer(self, name: str, *, low: int, high: int) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            self.errors[name] = N_("Enter a whole number.")
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.errors[name] = N_("Enter a whole number.")
            return None
        if not low <= number <= high:
            self.errors[name] = N_("This number is out of range.")
            return None
        return number

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "on", "yes")

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def parse_new_ticket(raw: Mapping[str, Any]) -> NewTicket:
    f = FieldCollector(raw)
    title = f.text("title", required=True, max_len=TITLE_MAX)
    if title and len(title) < 3:
        f.errors["title"] = N_("The title is too short.")
    description = f.text("description", required=True, max_len=TEXT_MAX)
    ticket_type = f.choice("type", TicketType, TicketType.INCIDENT)
    priority = f.choice("priority", Priority, None)
    category_id = f.integer("category_id", low=1, high=2**31 - 1)
    request_type_id = f.integer("request_type_id", low=1, high=2**31 - 1)
    environment = f.choice("environment", Environment, Environment.PRODUCTION)
    contact_name = f.text("contact_name", required=False, max_len=NAME_MAX)
    contact_phone = f.text("contact_phone", required=False, max_len=30)
    if contact_phone and not _PHONE.match(contact_phone):
        f.errors["contact_phone"] = N_("Enter a valid phone number.")
    service_url = f.text("service_url", required=False, max_len=URL_MAX)
    if service_url:
        parts = urlsplit(service_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            f.errors["service_url"] = N_("Enter an address starting with http:// or https://.")
    notify = f.flag("notify", True)
    shared = f.flag("shared", True)
    f.done()
    assert ticket_type is not None and environment is not None
    return NewTicket(
        title=title,
        description=description,
        type=ticket_type,
        priority=priority,
        category_id=category_id,
        environment=environment,
        contact_name=contact_name,
        contact_phone=contact_phone,
        service_url=service_url,
        notify=notify,
        shared=shared,
        request_type_id=request_type_id,
    )


def parse_follow_up(raw: Mapping[str, Any], *, may_be_private: bool) -> NewFollowUp:
    f = FieldCollector(raw)
    text = f.text("text", required=True, max_len=TEXT_MAX)
    private = f.flag("private", False) and may_be_private
    minutes = f.integer("minutes", low=0, high=MINUTES_MAX) or 0
    f.done()
    return NewFollowUp(text=text, private=private, minutes=minutes)


def parse_status(raw: Mapping[str, Any]) -> tuple[Status, int, str]:
    """A status change: target, the version the actor saw, and an optional solution."""
    f = FieldCollector(raw)
    target = f.choice("status", Status, None)
    if target is None and "status" not in f.errors:
        f.errors["status"] = N_("This field is required.")
    version = f.integer("version", low=0, high=2**31 - 1)
    if version is None and "version" not in f.errors:
        f.errors["version"] = N_("This field is required.")
    solution = f.text("solution", required=False, max_len=TEXT_MAX)
    f.done()
    assert target is not None and version is not None
    return target, version, solution


def parse_choice(raw: Mapping[str, Any], name: str, enum: type[_E]) -> _E:
    f = FieldCollector(raw)
    value = f.choice(name, enum, None)
    if value is None and name not in f.errors:
        f.errors[name] = N_("This field is required.")
    f.done()
    assert value is not None
    return value


def parse_optional_id(raw: Mapping[str, Any], name: str) -> int | None:
    f = FieldCollector(raw)
    value = f.integer(name, low=1, high=2**31 - 1)
    f.done()
    return value
