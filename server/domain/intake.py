"""Intake rules (issue 14): which group receives a ticket nothing else routes, and the
contact details staff type when they file a ticket for someone. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from server.domain.errors import ValidationFailed
from server.domain.establishments import ancestors
from server.domain.organisation import parse_email
from server.domain.text import N_

# The characters a phone number may hold, with an extension ("poste 1234", "x12") allowed.
_PHONE = re.compile(r"^\+?[0-9 ().\-]{4,25}(?:\s*(?:x|ext\.?|poste|доб\.?)\s*[0-9]{1,6})?$", re.I)
MAX_PHONES = 5


def intake_group_for(
    establishment_id: int,
    parent_of: Mapping[int, int | None],
    intake_of: Mapping[int, int],
) -> int | None:
    """The intake group of an establishment: its own, else the nearest ancestor's."""
    for node in (establishment_id, *ancestors(establishment_id, parent_of)):
        if node in intake_of:
            return intake_of[node]
    return None


@dataclass(frozen=True, slots=True)
class Requester:
    """Who a ticket is for when staff file it: the ticket lands in their establishment."""

    id: int
    establishment_id: int


@dataclass(frozen=True, slots=True)
class ContactDetails:
    email: str = ""
    phones: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.email and not self.phones


def parse_phones(raw: str) -> tuple[str, ...]:
    """Several numbers, one per line or separated by commas or semicolons."""
    numbers = [p.strip() for p in re.split(r"[\n,;]", raw) if p.strip()]
    if len(numbers) > MAX_PHONES:
        raise ValidationFailed({"phones": N_("Give at most five phone numbers.")})
    for number in numbers:
        if not _PHONE.match(number):
            raise ValidationFailed({"phones": N_("Enter a valid phone number.")})
    return tuple(dict.fromkeys(numbers))


def parse_contact_details(raw: Mapping[str, str]) -> ContactDetails:
    errors: dict[str, str] = {}
    email = ""
    phones: tuple[str, ...] = ()
    if raw.get("contact_email", "").strip():
        try:
            email = parse_email(raw["contact_email"], "contact_email")
        except ValidationFailed as exc:
            errors.update(exc.errors)
    try:
        phones = parse_phones(raw.get("phones", ""))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return ContactDetails(email=email, phones=phones)
