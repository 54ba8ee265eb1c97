"""Admin pages: SLA policies, business calendars, maintenance windows, announcements.

One list page and one generic form per kind; the form is described by a list of fields so
the four kinds share a template. Plain posts, redirect after success, 422 with every error
(and the typed values) otherwise."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server.db import queries
from server.db.engine import write_transaction
from server.db.sla_tables import Announcement, BusinessCalendar, MaintenanceWindow, SlaPolicy
from server.domain import sla_forms, sla_rules
from server.domain.catalogue import parse_translations
from server.domain.errors import ValidationFailed
from server.domain.text import N_
from server.domain.vocabulary import Priority, TicketType
from server.i18n import gettext
from server.realtime.publish import publish_message
from server.services import catalogue, sla_admin
from server.web.admin import requires_admin
from server.web.errors import field_messages
from server.web.params import form_dict
from server.web.rendering import DISPLAY_TZ, label

KINDS = ("policies", "calendars", "windows", "announcements")
TITLES = {
    "policies": N_("Service level policy"),
    "calendars": N_("Business calendar"),
    "windows": N_("Maintenance window"),
    "announcements": N_("Announcement"),
}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFoundException()
    return kind


# Announcement texts kept per language (issue 16), with their length limits.
ANNOUNCEMENT_TEXTS = {"title": 200, "body": 5000}


def _field(name: str, text: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
    return {"name": name, "label": text, "type": kind, "options": [], "help": "", **extra}


async def _fields(kind: str) -> list[dict[str, Any]]:
    categories = [(str(c["id"]), c["path"]) for c in await queries.categories()]
    establishments = [
        (str(e["id"]), f"{e['code']} · {e['name']}") for e in await queries.establishments()
    ]
    groups = [(str(g["id"]), g["name"]) for g in await queries.groups()]
    if kind == "policies":
        return [
            _field("name", N_("Name")),
            _field(
                "priority",
                N_("Priority (empty: any)"),
                "select",
                options=[(p.value, label("priority", p.value)) for p in Priority],
            ),
            _field(
                "category",
                N_("Only for this category (and its subcategories)"),
                "select",
                options=categories,
            ),
            _field(
                "ticket_type",
                N_("Only for this type"),
                "select",
                options=[(t.value, label("type", t.value)) for t in TicketType],
            ),
            _field("take_hours", N_("Take in charge within (business hours)"), "number"),
            _field("take_days", N_("or by the end of the n-th next business day"), "number"),
            _field("resolve_hours", N_("Resolve within (business hours)"), "number"),
            _field("resolve_days", N_("or by the end of the n-th next business day"), "number"),
            _field("active", N_("Active"), "checkbox"),
            _field(
                "breach_notify", N_("On breach: notify the group and the supervisors"), "checkbox"
            ),
            _field(
                "breach_raise_priority", N_("On breach: raise the priority one step"), "checkbox"
            ),
            _field("breach_group", N_("On breach: move to this group"), "select", options=groups),
            _field(
                "idle_hours",
                N_("Nothing done within this many hours: escalate to the next tier"),
                "number",
            ),
        ]
    if kind == "calendars":
        days = [
            _field(
                f"day_{d}",
                sla_rules.WEEKDAYS[d],
                help=N_("e.g. 08:00-12:00, 13:30-17:00; empty: day off"),
            )
            for d in range(7)
        ]
        return [
            _field("name", N_("Name")),
            _field("timezone", N_("Time zone")),
            *days,
            _field("holidays", N_("Holidays (one date per line, YYYY-MM-DD)"), "textarea"),
            _field(
                "establishments",
                N_("Establishments using it (their children inherit it)"),
                "multiselect",
                options=establishments,
            ),
        ]
    if kind == "windows":
        return [
            _field("name", N_("Name")),
            _field(
                "kind",
                N_("Recurrence"),
                "select",
                required=True,
                options=[("weekly", gettext(N_("Every week"))), ("once", gettext(N_("Once")))],
            ),
            _field(
                "weekday",
                N_("Day (weekly)"),
                "select",
                options=[(str(d), gettext(w)) for d, w in enumerate(sla_rules.WEEKDAYS)],
            ),
            _field("start_time", N_("From (HH:MM, weekly)")),
            _field("end_time", N_("To (HH:MM, weekly)")),
            _field("starts_at", N_("Start (once)"), "datetime-local"),
            _field("ends_at", N_("End (once)"), "datetime-local"),
            _field(
                "establishment",
                N_("Only for this establishment (and its children)"),
                "select",
                options=establishments,
            ),
            _field(
                "category", N_("Only for this service / category"), "select", options=categories
            ),
        ]
    return [
        _field(
            "kind",
            N_("Kind"),
            "select",
            required=True,
            options=[(k, gettext(sla_forms.KIND_LABELS[k])) for k in sla_forms.KINDS],
        ),
        _field("title", N_("Title")),
        _field("title_en", N_("Title in English (empty: the French one)")),
        _field("title_ru", N_("Title in Russian (empty: the French one)")),
        _field("body", N_("Details"), "textarea"),
        _field("body_en", N_("Details in English"), "textarea"),
        _field("body_ru", N_("Details in Russian"), "textarea"),
        _field("display_from", N_("Show the banner from"), "datetime-local"),
        _field("starts_at", N_("Window start"), "datetime-local"),
        _field("ends_at", N_("Window end"), "datetime-local"),
        _field(
            "establishments",
            N_("Only for these establishments (empty: everyone)"),
            "multiselect",
            options=establishments,
        ),
        _field(
            "categories", N_("Services / categories concerned"), "multiselect", options=categories
        ),
    ]


def _local(value: datetime | None) -> str:
    return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%dT%H:%M") if value else ""


def _form_values(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the strings the form shows."""
    values: dict[str, Any] = {k: ("" if v is None else str(v)) for k, v in row.items()}
    if kind == "policies":
        for prefix in ("take", "resolve"):
            minutes = row[f"{prefix}_minutes"]
            values[f"{prefix}_hours"] = f"{minutes / 60:g}" if minutes else ""
            values[f"{prefix}_days"] = str(row[f"{prefix}_business_days"] or "")
        for flag in ("active", "breach_notify", "breach_raise_priority"):
            values[flag] = row[flag]
    elif kind == "calendars":
        week = json.loads(row["hours"])
        for day in range(7):
            values[f"day_{day}"] = sla_rules.format_day(week[day])
        values["establishments"] = [str(e) for e in row.get("establishments", [])]
    elif kind == "windows":
        values["starts_at"], values["ends_at"] = _local(row["starts_at"]), _local(row["ends_at"])
    else:
        for name in ("display_from", "starts_at", "ends_at"):
            values[name] = _local(row[name])
        values["establishments"] = (
            row["establishment_ids"].split(",") if row["establishment_ids"] else []
        )
        values["categories"] = row["category_ids"].split(",") if row["category_ids"] else []
    return values


DEFAULTS: dict[str, dict[str, Any]] = {
    "policies": {"active": True, "breach_notify": True},
    "calendars": {"timezone": "Europe/Paris", **{f"day_{d}": "08:00-18:00" for d in range(5)}},
    "windows": {"kind": "weekly", "weekday": "6", "start_time": "00:00", "end_time": "06:00"},
    "announcements": {"kind": "maintenance"},
}


async def _form(
    kind: str,
    item_id: int | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Template:
    return Template(
        template_name="admin/sla_form.html",
        context={
            "kind": kind,
            "title": TITLES[kind],
            "item_id": item_id,
            "fields": await _fields(kind),
            "values": values,
            "errors": errors,
        },
        status_code=status,
    )


@get("/admin/sla", guards=[requires_admin], include_in_schema=False)
async def sla_index() -> Template:
    from server.db.sla_tables import EstablishmentCalendar

    links = await EstablishmentCalendar.select(
        EstablishmentCalendar.calendar, EstablishmentCalendar.establishment.code.as_alias("code")
    )
    attached: dict[int, list[str]] = {}
    for link in links:
        attached.setdefault(link["calendar"], []).append(link["code"])
    return Template(
        template_name="admin/sla_index.html",
        context={
            "policies": await SlaPolicy.select(
                *SlaPolicy.all_columns(),
                SlaPolicy.category.name.as_alias("category_name"),
                SlaPolicy.breach_group.name.as_alias("group_name"),
            )
            .order_by(SlaPolicy.priority)
            .order_by(SlaPolicy.id),
            "calendars": await BusinessCalendar.select().order_by(BusinessCalendar.name),
            "attached": attached,
            "windows": await MaintenanceWindow.select(
                *MaintenanceWindow.all_columns(),
                MaintenanceWindow.establishment.code.as_alias("establishment_code"),
                MaintenanceWindow.category.name.as_alias("category_name"),
            ).order_by(MaintenanceWindow.name),
            "announcements": await Announcement.select().order_by(
                Announcement.starts_at, ascending=False
            ),
            "weekdays": sla_rules.WEEKDAYS,
            "kind_labels": sla_forms.KIND_LABELS,
            "hours": lambda raw: [sla_rules.format_day(d) for d in json.loads(raw)],
        },
    )


@get("/admin/sla/{kind:str}/new", guards=[requires_admin], include_in_schema=False)
async def new_form(kind: FromPath[str]) -> Template:
    return await _form(_kind(kind), None, dict(DEFAULTS[_kind(kind)]), {})


@get("/admin/sla/{kind:str}/{item_id:int}", guards=[requires_admin], include_in_schema=False)
async def edit_form(kind: FromPath[str], item_id: FromPath[int]) -> Template:
    row = await sla_admin.get(_kind(kind), item_id)
    values = _form_values(kind, row)
    if kind == "announcements":
        for field, texts in (await catalogue.translations("announcement", item_id)).items():
            values.update({f"{field}_{lang}": text for lang, text in texts.items()})
    return await _form(kind, item_id, values, {})


async def _typed(request: Request) -> dict[str, Any]:
    """What was typed, as the form shows it again after an error."""
    form = await request.form()
    typed: dict[str, Any] = form_dict(form)
    for name in ("establishments", "categories"):
        typed[name] = [str(v) for v in form.getall(name, [])]
    return typed


async def _parse(kind: str, typed: dict[str, Any]) -> dict[str, Any]:
    categories = {c["id"] for c in await queries.categories()}
    establishments = {e["id"] for e in await queries.establishments()}
    groups = {g["id"] for g in await queries.groups()}
    if kind == "policies":
        return sla_forms.parse_policy(typed, categories, groups)
    if kind == "calendars":
        return sla_forms.parse_calendar(typed, establishments, typed["establishments"])
    if kind == "windows":
        return sla_forms.parse_window(typed, establishments, categories, DISPLAY_TZ)
    return sla_forms.parse_announcement(
        typed,
        establishments,
        categories,
        typed["establishments"],
        typed["categories"],
        DISPLAY_TZ,
    )


async def _save(request: Request, kind: str, item_id: int | None) -> Template | Redirect:
    typed = await _typed(request)
    try:
        values = await _parse(kind, typed)
        translated = (
            parse_translations(typed, ANNOUNCEMENT_TEXTS) if kind == "announcements" else {}
        )
        async with write_transaction():  # the row and its translations, or nothing
            saved = await sla_admin.save(kind, item_id, values)
            for field, texts in translated.items():
                await catalogue.translate("announcement", saved, field, texts, request.user.actor)
    except ValidationFailed as exc:
        errors = field_messages(exc)
        return await _form(kind, item_id, typed, errors, status=422)
    if kind == "announcements":
        await publish_banner(request.app, saved)
    return Redirect(path=f"/admin/sla#{kind}", status_code=303)


async def publish_banner(app: Any, announcement_id: int) -> None:
    """Push a banner whose display time has come to every open page (once)."""
    row = await Announcement.select().where(Announcement.id == announcement_id).first()
    now = datetime.now(UTC)
    shown = row is not None and row["display_from"] <= now < row["ends_at"]
    if shown and await sla_admin.mark_published(announcement_id, now):
        await publish_message(app, {"kind": "announcement", "id": announcement_id})


@post("/admin/sla/{kind:str}/new", guards=[requires_admin], include_in_schema=False)
async def create(request: Request, kind: FromPath[str]) -> Template | Redirect:
    return await _save(request, _kind(kind), None)


@post("/admin/sla/{kind:str}/{item_id:int}", guards=[requires_admin], include_in_schema=False)
async def update(
    request: Request, kind: FromPath[str], item_id: FromPath[int]
) -> Template | Redirect:
    await sla_admin.get(_kind(kind), item_id)
    return await _save(request, kind, item_id)


@post(
    "/admin/sla/{kind:str}/{item_id:int}/delete", guards=[requires_admin], include_in_schema=False
)
async def delete(
    request: Request, kind: FromPath[str], item_id: FromPath[int]
) -> Template | Redirect:
    try:
        await sla_admin.delete(_kind(kind), item_id)
    except ValidationFailed as exc:
        row = await sla_admin.get(kind, item_id)
        errors = field_messages(exc)
        return await _form(kind, item_id, _form_values(kind, row), errors, status=422)
    if kind == "announcements":
        await publish_message(request.app, {"kind": "announcement", "id": item_id})
    return Redirect(path=f"/admin/sla#{kind}", status_code=303)


ROUTES = [sla_index, new_form, edit_form, create, update, delete]
