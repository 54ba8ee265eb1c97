"""Admin use cases for service levels, calendars, maintenance windows and announcements.

Changing a policy, a calendar or a window changes the due times of open tickets: they are
recomputed right after the change (the stored state is a cache of the pure computation)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from piccolo.table import Table

from server.db.engine import write_transaction
from server.db.sla_tables import (
    Announcement,
    BusinessCalendar,
    EstablishmentCalendar,
    MaintenanceWindow,
    SlaPolicy,
)
from server.db.tables import Ticket
from server.domain.errors import NotFound, ValidationFailed
from server.domain.text import N_
from server.domain.vocabulary import Status
from server.services import sla

TABLES: dict[str, type[Table]] = {
    "policies": SlaPolicy,
    "calendars": BusinessCalendar,
    "windows": MaintenanceWindow,
    "announcements": Announcement,
}
NAME_TAKEN = N_("This name is already used.")
IN_USE = N_("This calendar is still attached to establishments: detach them first.")


async def recompute_open(now: datetime | None = None) -> int:
    """Recompute every open ticket's SLA (after a configuration change)."""
    from server.db.sla import load_config

    config = await load_config()
    open_ids = await Ticket.select(Ticket.id).where(
        Ticket.status.is_in([s.value for s in Status if s.is_open])
    )
    async with write_transaction():
        for row in open_ids:
            await sla.refresh(row["id"], now, config)
    return len(open_ids)


async def save(kind: str, item_id: int | None, values: Mapping[str, Any]) -> int:
    table = TABLES[kind]
    values = dict(values)
    attach = values.pop("establishments", None) if kind == "calendars" else None
    async with write_transaction():
        if kind == "calendars":
            same = BusinessCalendar.select(BusinessCalendar.id).where(
                BusinessCalendar.name == values["name"]
            )
            if item_id is not None:
                same = same.where(BusinessCalendar.id != item_id)
            if await same.first():
                raise ValidationFailed({"name": NAME_TAKEN})
        columns = {table._meta.get_column_by_name(k): v for k, v in values.items()}
        if item_id is None:
            rows = await table.insert(table(**values)).returning(table.id)  # type: ignore[attr-defined]
            item_id = rows[0]["id"]
        else:
            if kind == "announcements":
                # Saved again: pushed again to open pages (published_at cleared).
                columns[Announcement.published_at] = None
                columns[Announcement.version] = Announcement.version + 1
            updated = await table.update(columns).where(table.id == item_id).returning(table.id)  # type: ignore[attr-defined]
            if not updated:
                raise NotFound()
        if attach is not None:
            await EstablishmentCalendar.delete().where(
                (EstablishmentCalendar.calendar == item_id)
                | EstablishmentCalendar.establishment.is_in(attach or [-1])
            )
            for establishment_id in attach:
                await EstablishmentCalendar.insert(
                    EstablishmentCalendar(establishment=establishment_id, calendar=item_id)
                )
    if kind != "announcements":
        await recompute_open()
    assert item_id is not None
    return item_id


async def delete(kind: str, item_id: int) -> None:
    table = TABLES[kind]
    async with write_transaction():
        if kind == "calendars" and await EstablishmentCalendar.exists().where(
            EstablishmentCalendar.calendar == item_id
        ):
            raise ValidationFailed({"delete": IN_USE})
        deleted = await table.delete().where(table.id == item_id).returning(table.id)  # type: ignore[attr-defined]
        if not deleted:
            raise NotFound()
    if kind != "announcements":
        await recompute_open()


async def get(kind: str, item_id: int) -> dict[str, Any]:
    table = TABLES[kind]
    row = await table.select().where(table.id == item_id).first()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound()
    if kind == "calendars":
        links = await EstablishmentCalendar.select(EstablishmentCalendar.establishment).where(
            EstablishmentCalendar.calendar == item_id
        )
        row["establishments"] = [link["establishment"] for link in links]
    return row


async def mark_published(announcement_id: int, now: datetime | None = None) -> bool:
    """Claim the push of a banner: true for exactly one caller (admin save or scheduler)."""
    rows = (
        await Announcement.update({Announcement.published_at: now or datetime.now(UTC)})
        .where((Announcement.id == announcement_id) & Announcement.published_at.is_null())
        .returning(Announcement.id)
    )
    return bool(rows)
