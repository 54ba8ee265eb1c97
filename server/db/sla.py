"""SLA read model: the configuration a computation needs, and the stored state of tickets
for lists, cards and pages (one extra query per page, never a recomputation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from piccolo.querystring import QueryString

from server.db.config_cache import cached
from server.db.establishment_tree import establishment_parents
from server.db.prepared import SAMPLE_ID, Prepared, PreparedIn
from server.db.sla_tables import (
    BusinessCalendar,
    EstablishmentCalendar,
    MaintenanceWindow,
    SlaPolicy,
    TicketSla,
)
from server.db.tables import Category, Establishment, HistoryEntry
from server.domain import sla_rules
from server.domain.sla import Calendar, StatusChange


@dataclass(slots=True)
class SlaConfig:
    """Everything but the ticket: loaded once for a batch of computations."""

    policies: list[dict[str, Any]]
    category_parents: dict[int, int | None]
    establishment_parents: dict[int, int | None]
    establishment_zones: dict[int, str]
    calendar_of_establishment: dict[int, int]
    calendars: dict[int, dict[str, Any]]
    windows: list[dict[str, Any]]
    _built: dict[tuple[int | None, tuple[int, ...]], Calendar] = field(default_factory=dict)

    def calendar(self, establishment_id: int, category_id: int | None) -> Calendar:
        """The establishment's calendar (inherited up the tree, else around the clock in its
        time zone) with the maintenance windows of its establishments and categories."""
        chain = sla_rules.ancestors(establishment_id, self.establishment_parents)
        categories = tuple(sla_rules.ancestors(category_id, self.category_parents))
        key = (establishment_id, categories)
        if key in self._built:
            return self._built[key]
        windows = []
        for row in self.windows:
            if sla_rules.applies(row["establishment"], chain) and (
                row["category"] is None or row["category"] in categories
            ):
                window = sla_rules.window_of(row)
                if window is not None:
                    windows.append(window)
        calendar_id = next(
            (
                self.calendar_of_establishment[e]
                for e in chain
                if e in self.calendar_of_establishment
            ),
            None,
        )
        if calendar_id is not None:
            cal = self.calendars[calendar_id]
            built = sla_rules.calendar_of(cal["timezone"], cal["hours"], cal["holidays"], windows)
        else:
            zone = self.establishment_zones.get(establishment_id, "Europe/Paris")
            built = sla_rules.fallback_calendar(zone).with_maintenance(*windows)
        self._built[key] = built
        return built

    def policy(self, priority: str, category_id: int | None, ticket_type: str) -> Any:
        chain = sla_rules.ancestors(category_id, self.category_parents)
        return sla_rules.choose_policy(self.policies, priority, chain, ticket_type)


async def load_config() -> SlaConfig:
    """The SLA configuration, reloaded only after it changed (``db.config_cache``)."""
    return await cached("sla", _read_config)


async def _read_config() -> SlaConfig:
    categories = await Category.select(Category.id, Category.parent)
    establishments = await Establishment.select(
        Establishment.id, Establishment.parent, Establishment.timezone
    )
    links = await EstablishmentCalendar.select(
        EstablishmentCalendar.establishment, EstablishmentCalendar.calendar
    )
    return SlaConfig(
        policies=await SlaPolicy.select(),
        category_parents={r["id"]: r["parent"] for r in categories},
        establishment_parents={r["id"]: r["parent"] for r in establishments},
        establishment_zones={r["id"]: r["timezone"] for r in establishments},
        calendar_of_establishment={r["establishment"]: r["calendar"] for r in links},
        calendars={r["id"]: r for r in await BusinessCalendar.select()},
        windows=await MaintenanceWindow.select(),
    )


async def status_history(ticket_id: int, created_at: datetime) -> list[StatusChange]:
    """The ticket's status timeline from its append-only history: creation, then each change."""
    rows = (
        await HistoryEntry.select(HistoryEntry.new_value, HistoryEntry.created_at)
        .where((HistoryEntry.ticket == ticket_id) & (HistoryEntry.field == "status"))
        .order_by(HistoryEntry.created_at)
        .order_by(HistoryEntry.id)
    )
    changes = [StatusChange(created_at, "new")]
    for row in rows:
        # Entries are written after the ticket row: never let one precede the creation.
        changes.append(StatusChange(max(row["created_at"], changes[-1].at), row["new_value"]))
    return changes


# The next unmet due time of a ticket, for ORDER BY in ticket lists (no recomputation).
_NEXT_DUE = (
    "(SELECT CASE WHEN s.take_met_at IS NULL AND s.take_due_at < s.resolve_due_at"
    " THEN s.take_due_at WHEN s.resolve_met_at IS NULL THEN s.resolve_due_at END"
    ' FROM ticket_sla s WHERE s.ticket = "ticket"."id")'
)
DUE_SORT = [
    # Tickets without a running clock last, on both engines (NULL ordering differs).
    (QueryString(f"CASE WHEN {_NEXT_DUE} IS NULL THEN 1 ELSE 0 END"), True),
    (QueryString(_NEXT_DUE), True),
]

SLA_COLUMNS = (
    TicketSla.ticket,
    TicketSla.take_due_at,
    TicketSla.take_state,
    TicketSla.take_met_at,
    TicketSla.resolve_due_at,
    TicketSla.resolve_state,
    TicketSla.resolve_met_at,
    TicketSla.paused,
)


_SLA_OF = PreparedIn(lambda ids: TicketSla.select(*SLA_COLUMNS).where(TicketSla.ticket.is_in(ids)))


async def attach_sla(rows: Sequence[dict[str, Any]]) -> None:
    """Add ``row["sla"]`` (or None) to ticket rows the caller already chose to show."""
    if not rows:
        return
    found = await _SLA_OF.rows([r["id"] for r in rows])
    by_ticket = {r["ticket"]: r for r in found}
    for row in rows:
        row["sla"] = shown(row["status"], by_ticket.get(row["id"]))


def shown(status: str, state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The one target worth showing: taking in charge while new, else resolution."""
    if state is None:
        return None
    if status == "new" and state["take_state"] not in ("", "met"):
        target = "take"
    elif state["resolve_state"]:
        target = "resolve"
    else:
        return None
    return {
        "target": target,
        "due_at": state[f"{target}_due_at"],
        "state": state[f"{target}_state"],
        "met_at": state[f"{target}_met_at"],
        "paused": state["paused"] and state[f"{target}_met_at"] is None,
        "take_state": state["take_state"],
        "take_due_at": state["take_due_at"],
        "resolve_state": state["resolve_state"],
        "resolve_due_at": state["resolve_due_at"],
    }


_TICKET_SLA = Prepared(
    lambda ticket_id: TicketSla.select(*SLA_COLUMNS).where(TicketSla.ticket == ticket_id).first(),
    SAMPLE_ID,
)


async def ticket_sla(ticket_id: int) -> dict[str, Any] | None:
    """Both targets of one ticket, for its page (the caller checked visibility)."""
    state = await _TICKET_SLA.first(ticket_id)
    if state is None:
        return None
    return {
        target: {
            "target": target,
            "due_at": state[f"{target}_due_at"],
            "state": state[f"{target}_state"],
            "met_at": state[f"{target}_met_at"],
            "paused": state["paused"] and state[f"{target}_met_at"] is None,
        }
        for target in ("take", "resolve")
    }


def _unended_announcements(now: datetime) -> Any:
    from server.db.sla_tables import Announcement

    return (
        Announcement.select()
        .where(Announcement.ends_at > now)
        .order_by(Announcement.starts_at)
    )


_UNENDED_ANNOUNCEMENTS = Prepared(_unended_announcements, datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC))


async def _announcements() -> list[dict[str, Any]]:
    """The announcements not over when read, kept until the configuration changes (the
    announcement table bumps its stamp): read by every page, changed a few times a month.
    The clock decides at each page which of them are shown."""
    return await cached(
        "announcements", lambda: _UNENDED_ANNOUNCEMENTS.rows(datetime.now(UTC))
    )


async def banners_for(
    establishment_id: int | None, is_staff: bool, now: datetime
) -> list[dict[str, Any]]:
    """Announcements to show this viewer now (display time reached, window not over)."""
    rows = [
        dict(row)  # the caller's copy: names and translations are added below
        for row in await _announcements()
        if row["display_from"] <= now < row["ends_at"]
    ]
    if not rows:
        return []
    chain: list[int] = []
    if establishment_id is not None and any(r["establishment_ids"] for r in rows):
        chain = sla_rules.ancestors(establishment_id, await establishment_parents())
    shown = []
    for row in rows:
        targets = sla_rules.ids_of(row["establishment_ids"])
        if sla_rules.announcement_shown(
            targets, chain, is_staff, row["display_from"], row["ends_at"], now
        ):
            shown.append(row)
    if shown:
        names = {c["id"]: c["name"] for c in await Category.select(Category.id, Category.name)}
        for row in shown:
            row["service_ids"] = [i for i in sla_rules.ids_of(row["category_ids"]) if i in names]
            row["services"] = [names[i] for i in row["service_ids"]]
        # Title, body and services in the reader's language (issue 16).
        from server import i18n
        from server.db.catalogue import localise_announcements

        await localise_announcements(shown, i18n.get_locale())
    return shown
