"""Pure rules around the SLA arithmetic: reading calendar settings typed by admins, choosing a
ticket's policy, which maintenance windows and announcements apply, what the automatic jobs
should do, and report figures. No I/O, explicit ``now``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.sla import (
    Calendar,
    MaintenanceWindow,
    OneOffWindow,
    SlaPolicy,
    Target,
    WeeklyWindow,
    WorkingHours,
)
from server.domain.text import N_
from server.domain.vocabulary import Priority

WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
BAD_TIME = N_("Write times as HH:MM, e.g. 08:00-12:00, 13:30-17:00.")
BAD_ZONE = N_("Unknown time zone (use a name such as Europe/Paris or America/Montreal).")
BAD_DATE = N_("Write one date per line as YYYY-MM-DD.")


class SettingError(ValueError):
    """A setting typed by an admin is not valid; ``message`` is a message id."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_time(raw: str) -> time:
    raw = raw.strip()
    try:
        hours, minutes = raw.split(":")
        if len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
            raise ValueError(raw)
        if int(hours) == 24 and int(minutes) == 0:
            return time(0)  # 24:00 is midnight at the end of the day
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise SettingError(BAD_TIME) from exc


def parse_day(raw: str) -> list[tuple[str, str]]:
    """'08:00-12:00, 13:00-17:00' -> [('08:00', '12:00'), ('13:00', '17:00')]; '' = day off."""
    spans = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part.count("-") != 1:
            raise SettingError(BAD_TIME)
        start, end = (p.strip() for p in part.split("-"))
        parse_time(start), parse_time(end)
        spans.append((start, end))
    return spans


def working_hours(week: Sequence[Sequence[Sequence[str]]]) -> WorkingHours:
    try:
        return WorkingHours(
            tuple(tuple((parse_time(start), parse_time(end)) for start, end in day) for day in week)
        )
    except SettingError:
        raise
    except ValueError as exc:
        raise SettingError(BAD_TIME) from exc


def format_day(spans: Sequence[Sequence[str]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in spans)


def parse_zone(raw: str) -> str:
    raw = raw.strip()
    try:
        if not raw or raw.startswith("/") or ".." in raw:
            raise ValueError(raw)
        ZoneInfo(raw)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise SettingError(BAD_ZONE) from exc
    return raw


def parse_holidays(raw: str) -> list[date]:
    days = []
    for line in raw.replace(",", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            days.append(date.fromisoformat(line))
        except ValueError as exc:
            raise SettingError(BAD_DATE) from exc
    return sorted(set(days))


def calendar_of(
    timezone: str, hours_json: str, holidays: str, windows: Iterable[MaintenanceWindow] = ()
) -> Calendar:
    return Calendar(
        timezone=timezone,
        hours=working_hours(json.loads(hours_json or "[[],[],[],[],[],[],[]]")),
        holidays=frozenset(parse_holidays(holidays)),
        maintenance=tuple(windows),
    )


def fallback_calendar(timezone: str) -> Calendar:
    """Without any calendar attached up the tree, the clock runs around the clock."""
    return Calendar(timezone=timezone, hours=WorkingHours.always())


def window_of(row: dict) -> MaintenanceWindow | None:  # type: ignore[type-arg]
    """A stored window as a domain value (None if it is incomplete)."""
    if row["kind"] == "once":
        if row["starts_at"] is None or row["ends_at"] is None:
            return None
        return OneOffWindow(row["starts_at"], row["ends_at"])
    if row["weekday"] is None:
        return None
    return WeeklyWindow(row["weekday"], parse_time(row["start_time"]), parse_time(row["end_time"]))


def applies(scope_id: int | None, chain: Sequence[int]) -> bool:
    """A setting for ``scope_id`` (None: everyone) applies to something whose chain of
    ancestors (itself first) is ``chain``."""
    return scope_id is None or scope_id in chain


def target_of(minutes: int | None, business_days: int | None) -> Target:
    if business_days:
        return Target(business_days=business_days)
    return Target(duration=timedelta(minutes=minutes or 0))


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    id: int
    policy: SlaPolicy


def choose_policy(
    rows: Iterable[dict],  # type: ignore[type-arg]
    priority: str,
    category_chain: Sequence[int],
    ticket_type: str,
) -> dict | None:  # type: ignore[type-arg]
    """The most specific active policy for the ticket. Candidates match its priority (or any
    priority) and, when they name one, its type and its category (a policy for a category
    covers its subcategories). The closest category wins, then a named type, then a named
    priority, then the oldest policy."""
    best: tuple[int, int, int] | None = None
    chosen = None
    for row in rows:
        if not row["active"] or row["priority"] not in ("", priority):
            continue
        if row["ticket_type"] and row["ticket_type"] != ticket_type:
            continue
        if row["category"] is not None:
            if row["category"] not in category_chain:
                continue
            closeness = len(category_chain) - list(category_chain).index(row["category"])
        else:
            closeness = 0
        rank = (closeness, 1 if row["ticket_type"] else 0, 1 if row["priority"] else 0, -row["id"])
        if best is None or rank > best:
            best, chosen = rank, row
    return chosen


def policy_value(row: dict) -> SlaPolicy:  # type: ignore[type-arg]
    return SlaPolicy(
        take_in_charge=target_of(row["take_minutes"], row["take_business_days"]),
        resolve=target_of(row["resolve_minutes"], row["resolve_business_days"]),
    )


def raised(priority: str) -> str:
    """One step more urgent (very high stays very high)."""
    order = list(Priority)
    index = order.index(Priority(priority))
    return order[max(0, index - 1)].value


def ancestors(item_id: int | None, parents: dict[int, int | None]) -> list[int]:
    """``item_id`` then its parent, grandparent... (cycles cut)."""
    chain: list[int] = []
    while item_id is not None and item_id not in chain:
        chain.append(item_id)
        item_id = parents.get(item_id)
    return chain


def auto_close_due(resolved_at: datetime | None, now: datetime, after: timedelta) -> bool:
    return resolved_at is not None and resolved_at + after <= now


def reminder_due(
    pending_since: datetime | None, reminded_for: datetime | None, now: datetime, after: timedelta
) -> bool:
    """One reminder per pending period, once it has lasted ``after``."""
    if pending_since is None or pending_since + after > now:
        return False
    return reminded_for is None or reminded_for < pending_since


def ids_of(raw: str) -> frozenset[int]:
    return frozenset(int(p) for p in raw.split(",") if p.strip().isdigit())


def announcement_shown(
    establishments: frozenset[int],
    viewer_chain: Sequence[int],
    viewer_is_staff: bool,
    display_from: datetime,
    ends_at: datetime,
    now: datetime,
) -> bool:
    """Shown from its display time until its end, to the desk and to people of the targeted
    establishments (or their children); for everyone when no establishment is targeted."""
    if not display_from <= now < ends_at:
        return False
    if not establishments or viewer_is_staff:
        return True
    return any(e in establishments for e in viewer_chain)


CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A spreadsheet must not run a cell as a formula: such cells get a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def measured(state: str) -> str:
    """The state a report counts: met or breached, else "" (the target is still running)."""
    return state if state in ("met", "breached") else ""


@dataclass(slots=True)
class Compliance:
    """Counts for one row of the report."""

    key: str
    tickets: int = 0
    take_measured: int = 0
    take_in_time: int = 0
    resolve_measured: int = 0
    resolve_in_time: int = 0

    def add(self, take_state: str, resolve_state: str, n: int = 1) -> None:
        """``n`` tickets with these states (only met and breached targets are measured)."""
        self.tickets += n
        if measured(take_state):
            self.take_measured += n
            self.take_in_time += n if take_state == "met" else 0
        if measured(resolve_state):
            self.resolve_measured += n
            self.resolve_in_time += n if resolve_state == "met" else 0

    @staticmethod
    def percent(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def take_percent(self) -> float | None:
        return self.percent(self.take_in_time, self.take_measured)

    @property
    def resolve_percent(self) -> float | None:
        return self.percent(self.resolve_in_time, self.resolve_measured)
