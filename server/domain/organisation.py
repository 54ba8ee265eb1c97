"""Validation of the organisation an admin maintains: establishments and accounts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

from server.domain.errors import ValidationFailed
from server.domain.establishments import creates_cycle
from server.domain.text import N_
from server.domain.vocabulary import Role

_CODE = re.compile(r"^[A-Z0-9]{3}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
PASSWORD_MIN = 10


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True, slots=True)
class EstablishmentForm:
    name: str
    code: str
    parent_id: int | None
    timezone: str


def parse_establishment(
    raw: Mapping[str, str], node_id: int | None, parent_of: Mapping[int, int | None]
) -> EstablishmentForm:
    """``node_id`` is None when creating; ``parent_of`` is the current tree."""
    errors: dict[str, str] = {}
    name = raw.get("name", "").strip()
    if not name:
        errors["name"] = N_("This field is required.")
    elif len(name) > 200:
        errors["name"] = N_("This text is too long.")
    code = raw.get("code", "").strip().upper()
    if not _CODE.match(code):
        errors["code"] = N_("The code is three letters or digits, such as CHA.")
    timezone = raw.get("timezone", "").strip() or "Europe/Paris"
    if timezone not in _zones():
        errors["timezone"] = N_("Choose a time zone such as Europe/Paris or America/Montreal.")
    parent_raw = raw.get("parent_id", "").strip()
    parent_id: int | None = None
    if parent_raw:
        if not parent_raw.isdigit() or int(parent_raw) not in parent_of:
            errors["parent_id"] = N_("Choose one of the proposed values.")
        else:
            parent_id = int(parent_raw)
            if node_id is not None and creates_cycle(node_id, parent_id, parent_of):
                errors["parent_id"] = N_("An establishment cannot be placed under itself.")
    if errors:
        raise ValidationFailed(errors)
    return EstablishmentForm(name=name, code=code, parent_id=parent_id, timezone=timezone)


def parse_email(raw: str, field: str = "email") -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed({field: N_("Enter a valid e-mail address.")})
    return email


def parse_name(raw: str, field: str = "full_name") -> str:
    name = raw.strip()
    if not name:
        raise ValidationFailed({field: N_("This field is required.")})
    if len(name) > 120:
        raise ValidationFailed({field: N_("This text is too long.")})
    return name


def check_password(password: str, confirm: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise ValidationFailed({"password": N_("The password must have at least 10 characters.")})
    if len(password) > 1000:
        raise ValidationFailed({"password": N_("This text is too long.")})
    if password != confirm:
        raise ValidationFailed({"confirm": N_("The two passwords differ.")})


def parse_role(raw: str) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise ValidationFailed({"role": N_("Choose one of the proposed values.")}) from None
