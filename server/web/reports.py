"""Supervisor report: SLA compliance per establishment, group or priority, with a chart
(inline SVG drawn here, no script) and a CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Response, Template

from server import i18n
from server.db import queries, reports
from server.domain.errors import ValidationFailed
from server.domain.sla_rules import Compliance, csv_cell
from server.domain.text import N_
from server.i18n import gettext
from server.views import activity_report
from server.web.errors import field_messages
from server.web.identity import requires_account
from server.web.params import QueryReader
from server.web.rendering import DISPLAY_TZ, label


def requires_supervisor(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    requires_account(connection, _)
    if not connection.user.actor.is_supervisor or not connection.user.active:
        raise NotFoundException()


def _period(request: Request) -> tuple[date, date, str]:
    q = request.query_params
    read = QueryReader()
    by = read.one_of(q.get("by", "establishment"), "by", reports.GROUPINGS)
    first, last = read.period(q, datetime.now(DISPLAY_TZ).date(), 30)
    read.done()
    return first, last, by


def _key_label(by: str, key: str) -> str:
    if not key:
        return gettext(N_("(none)"))
    return label("priority", key) if by == "priority" else key


def chart(rows: list[Compliance], by: str) -> dict[str, Any]:
    """Bar geometry for the template: two bars (taken in charge, resolved in time) per row."""
    bar, gap, left, width = 12, 10, 160, 300
    items = []
    for index, row in enumerate(rows):
        y = index * (2 * bar + gap)
        items.append(
            {
                "label": _key_label(by, row.key),
                "y": y,
                "take": row.take_percent,
                "resolve": row.resolve_percent,
                "take_w": (row.take_percent or 0) * width / 100,
                "resolve_w": (row.resolve_percent or 0) * width / 100,
            }
        )
    return {
        "items": items,
        "bar": bar,
        "left": left,
        "width": width,
        "height": max(1, len(rows)) * (2 * bar + gap),
    }


async def _rows(request: Request) -> tuple[date, date, str, list[Compliance]]:
    first, last, by = _period(request)
    return first, last, by, await reports.compliance(request.user.actor, first, last, by)


@get("/reports/sla", guards=[requires_supervisor], include_in_schema=False)
async def sla_report(request: Request) -> Template:
    try:
        first, last, by, rows = await _rows(request)
        errors: dict[str, str] = {}
    except ValidationFailed as exc:
        errors = field_messages(exc)
        first, last, by, rows = date.today(), date.today(), "establishment", []
    return Template(
        template_name="reports/sla.html",
        context={
            "rows": rows,
            "by": by,
            "first": first,
            "last": last,
            "errors": errors,
            "chart": chart(rows, by),
            "key_label": lambda key: _key_label(by, key),
            "query": request.url.query or "",
        },
        status_code=422 if errors else 200,
    )


@get("/reports/sla.csv", guards=[requires_supervisor], include_in_schema=False)
async def sla_report_csv(request: Request) -> Response[str]:
    first, last, by, rows = await _rows(request)
    # A byte-order mark lets spreadsheets read UTF-8 (Cyrillic headers, accents); the
    # delimiter and decimal mark follow the reader's language.
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=i18n.csv_delimiter())
    writer.writerow(
        [
            gettext(N_("Establishment") if by == "establishment" else N_("Group"))
            if by != "priority"
            else gettext(N_("Priority")),
            gettext(N_("Tickets")),
            gettext(N_("Taken in charge in time")),
            gettext(N_("Taken in charge, measured")),
            gettext(N_("Taken in charge in time (%)")),
            gettext(N_("Resolved in time")),
            gettext(N_("Resolved, measured")),
            gettext(N_("Resolved in time (%)")),
        ]
    )
    for row in rows:
        writer.writerow(
            [
                csv_cell(_key_label(by, row.key)),
                row.tickets,
                row.take_in_time,
                row.take_measured,
                i18n.spreadsheet_number(row.take_percent),
                row.resolve_in_time,
                row.resolve_measured,
                i18n.spreadsheet_number(row.resolve_percent),
            ]
        )
    name = f"sla-{by}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


ROUTES = [sla_report, sla_report_csv]


# --- the activity report -------------------------------------------------------------------

ACTIVITY_COLUMNS = (
    N_("Day"),
    N_("Created"),
    N_("Resolved"),
    N_("Reopened"),
    N_("Time spent (minutes)"),
)


async def _activity(request: Request) -> tuple[Any, dict[str, Any]]:
    zone = i18n.get_timezone()
    choice = await activity_report.read_choice(request.user.actor, request.query_params, zone)
    return choice, await activity_report.report(request.user.actor, choice, zone)


@get("/reports", guards=[requires_supervisor], include_in_schema=False)
async def activity(request: Request) -> Template:
    actor = request.user.actor
    try:
        choice, figures = await _activity(request)
        errors: dict[str, str] = {}
    except ValidationFailed as exc:
        errors = field_messages(exc)
        today = datetime.now(i18n.get_timezone()).date()
        choice = activity_report.Choice(first=today, last=today)
        figures = await activity_report.report(actor, choice, i18n.get_timezone())
    return Template(
        template_name="reports/activity.html",
        context={
            "choice": choice,
            "errors": errors,
            "chart": activity_report.chart(figures["days"]),
            "day_rows": activity_report.day_rows(figures["days"]),
            "duration_label": activity_report.duration_label,
            "day_label": activity_report.day_label,
            "places": await activity_report.places(actor),
            "groups": await queries.groups(),
            "categories": await queries.categories(),
            "technicians": await queries.technicians(),
            "query": request.url.query or "",
            **figures,
        },
        status_code=422 if errors else 200,
    )


@get("/reports.csv", guards=[requires_supervisor], include_in_schema=False)
async def activity_csv(request: Request) -> Response[str]:
    choice, figures = await _activity(request)
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheets then read UTF-8 (accents, Cyrillic headers)
    writer = csv.writer(out, delimiter=i18n.csv_delimiter())
    writer.writerow([gettext(name) for name in ACTIVITY_COLUMNS])
    for day in figures["days"]:
        writer.writerow(
            [
                day["day"].isoformat(),
                day["created"],
                day["resolved"],
                day["reopened"],
                day["minutes"],
            ]
        )
    name = f"activity-{choice.first.isoformat()}-{choice.last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


ROUTES += [activity, activity_csv]
