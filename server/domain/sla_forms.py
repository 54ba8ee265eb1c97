"""Validation of the admin forms for service levels, calendars, maintenance windows and
announcements. Each parser returns the values to store or raises ValidationFailed with a
message id per field (every faulty field at once)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from server.domain import sla_rules
from server.domain.errors import ValidationFailed
from server.domain.text import N_
from server.domain.vocabulary import Priority, TicketType

REQUIRED = N_("This field is required.")
CHOOSE = N_("Choose one of the proposed values.")
NUMBER = N_("Enter a positive number.")
ONE_TARGET = N_("Give either a number of business hours or a number of business days.")
WHEN = N_("Enter a date and time.")
ORDER = N_("The end must come after the start.")
DISPLAY_ORDER = N_("The banner must show before the window starts or when it starts.")
TOO_LONG = N_("This text is too long.")
OVERLAP = N_("Working intervals must be in order, not overlap, and end after they start.")
KINDS = ("maintenance", "outage")
KIND_LABELS = {"maintenance": N_("Planned maintenance"), "outage": N_("Ongoing outage")}


class _Reader:
    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def text(self, name: str, required: bool = True, limit: int = 120) -> str:
        value = self.form.get(name, "").strip()
        if required and not value:
            self.errors[name] = REQUIRED
        elif len(value) > limit:
            self.errors[name] = TOO_LONG
        return value

    def number(self, name: str, whole: bool = False) -> float | None:
        raw = self.form.get(name, "").strip().replace(",", ".")
        if not raw:
            return None
        try:
            value = float(raw)
            if value <= 0 or value > 100_000 or (whole and value != int(value)):
                raise ValueError(raw)
        except ValueError:
            self.errors[name] = NUMBER
            return None
        return value

    def choice(self, name: str, allowed: set[str], required: bool = False) -> str:
        value = self.form.get(name, "").strip()
        if not value:
            if required:
                self.errors[name] = REQUIRED
            return ""
        if value not in allowed:
            self.errors[name] = CHOOSE
            return ""
        return value

    def ref(self, name: str, allowed: set[int]) -> int | None:
        value = self.form.get(name, "").strip()
        if not value:
            return None
        if not value.isdigit() or int(value) not in allowed:
            self.errors[name] = CHOOSE
            return None
        return int(value)

    def refs(self, values: list[str], name: str, allowed: set[int]) -> list[int]:
        chosen = []
        for value in values:
            if not value.isdigit() or int(value) not in allowed:
                self.errors[name] = CHOOSE
                return []
            chosen.append(int(value))
        return sorted(set(chosen))

    def flag(self, name: str) -> bool:
        return self.form.get(name, "") in ("1", "on", "true")

    def instant(self, name: str, zone: ZoneInfo, required: bool = True) -> datetime | None:
        raw = self.form.get(name, "").strip()
        if not raw:
            if required:
                self.errors[name] = WHEN
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = WHEN
            return None
        return value if value.tzinfo else value.replace(tzinfo=zone)

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def _target(read: _Reader, prefix: str) -> tuple[int | None, int | None]:
    hours = read.number(f"{prefix}_hours")
    days = read.number(f"{prefix}_days", whole=True)
    if (hours is None) == (days is None) and f"{prefix}_hours" not in read.errors:
        read.errors[f"{prefix}_hours"] = ONE_TARGET
        return None, None
    return (round(hours * 60) if hours else None), (int(days) if days else None)


def parse_policy(
    form: Mapping[str, str], categories: set[int], groups: set[int]
) -> dict[str, object]:
    read = _Reader(form)
    values: dict[str, object] = {
        "name": read.text("name"),
        "priority": read.choice("priority", {p.value for p in Priority}),
        "category": read.ref("category", categories),
        "ticket_type": read.choice("ticket_type", {t.value for t in TicketType}),
        "active": read.flag("active"),
        "breach_notify": read.flag("breach_notify"),
        "breach_raise_priority": read.flag("breach_raise_priority"),
        "breach_group": read.ref("breach_group", groups),
    }
    idle = read.number("idle_hours", whole=True)
    values["idle_hours"] = int(idle) if idle else None
    values["take_minutes"], values["take_business_days"] = _target(read, "take")
    values["resolve_minutes"], values["resolve_business_days"] = _target(read, "resolve")
    read.done()
    return values


def parse_calendar(
    form: Mapping[str, str], establishments: set[int], chosen: list[str]
) -> dict[str, object]:
    read = _Reader(form)
    values: dict[str, object] = {"name": read.text("name")}
    try:
        values["timezone"] = sla_rules.parse_zone(form.get("timezone", ""))
    except sla_rules.SettingError as exc:
        read.errors["timezone"] = exc.message
    week = []
    for day in range(7):
        try:
            week.append(sla_rules.parse_day(form.get(f"day_{day}", "")))
        except sla_rules.SettingError as exc:
            read.errors[f"day_{day}"] = exc.message
            week.append([])
    if not any(f"day_{d}" in read.errors for d in range(7)):
        try:
            sla_rules.working_hours(week)
        except sla_rules.SettingError:
            read.errors["day_0"] = OVERLAP
    values["hours"] = json.dumps(week)
    try:
        days = sla_rules.parse_holidays(form.get("holidays", ""))
        values["holidays"] = "\n".join(d.isoformat() for d in days)
    except sla_rules.SettingError as exc:
        read.errors["holidays"] = exc.message
    values["establishments"] = read.refs(chosen, "establishments", establishments)
    read.done()
    return values


def parse_window(
    form: Mapping[str, str], establishments: set[int], categories: set[int], zone: ZoneInfo
) -> dict[str, object]:
    read = _Reader(form)
    kind = read.choice("kind", {"weekly", "once"}, required=True)
    values: dict[str, object] = {
        "name": read.text("name"),
        "kind": kind,
        "establishment": read.ref("establishment", establishments),
        "category": read.ref("category", categories),
        "weekday": None,
        "start_time": "",
        "end_time": "",
        "starts_at": None,
        "ends_at": None,
    }
    if kind == "weekly":
        weekday = read.choice("weekday", {str(d) for d in range(7)}, required=True)
        values["weekday"] = int(weekday) if weekday else None
        for name in ("start_time", "end_time"):
            try:
                sla_rules.parse_time(form.get(name, ""))
                values[name] = form.get(name, "").strip()
            except sla_rules.SettingError as exc:
                read.errors[name] = exc.message
    elif kind == "once":
        start, end = read.instant("starts_at", zone), read.instant("ends_at", zone)
        if start and end and end <= start:
            read.errors["ends_at"] = ORDER
        values["starts_at"], values["ends_at"] = start, end
    read.done()
    return values


def parse_announcement(
    form: Mapping[str, str],
    establishments: set[int],
    categories: set[int],
    chosen_establishments: list[str],
    chosen_categories: list[str],
    zone: ZoneInfo,
) -> dict[str, object]:
    read = _Reader(form)
    values: dict[str, object] = {
        "kind": read.choice("kind", set(KINDS), required=True),
        "title": read.text("title", limit=200),
        "body": read.text("body", required=False, limit=2000),
    }
    display = read.instant("display_from", zone)
    start = read.instant("starts_at", zone)
    end = read.instant("ends_at", zone)
    if start and end and end <= start:
        read.errors["ends_at"] = ORDER
    if display and start and display > start:
        read.errors["display_from"] = DISPLAY_ORDER
    values.update(display_from=display, starts_at=start, ends_at=end)
    ests = read.refs(chosen_establishments, "establishments", establishments)
    cats = read.refs(chosen_categories, "categories", categories)
    values["establishment_ids"] = ",".join(map(str, ests))
    values["category_ids"] = ",".join(map(str, cats))
    read.done()
    return values
