"""Intake read models (issue 14): an establishment's intake group, the "to triage" filter."""

from __future__ import annotations

from typing import Any

from piccolo.query.functions.aggregate import Sum

from server.db.establishment_tree import establishment_parents
from server.db.intake_tables import IntakeGroup, TicketIntake
from server.db.prepared import SAMPLE_ID, Prepared
from server.db.tables import FollowUp, Ticket
from server.domain.intake import intake_group_for
from server.domain.vocabulary import Status


async def intake_groups() -> dict[int, int]:
    """Establishment id -> its own intake group (inheritance is resolved by the domain)."""
    rows = await IntakeGroup.select(IntakeGroup.establishment, IntakeGroup.group)
    return {r["establishment"]: r["group"] for r in rows}


async def intake_group_of(establishment_id: int) -> int | None:
    """The group receiving this establishment's tickets that no category routes."""
    return intake_group_for(establishment_id, await establishment_parents(), await intake_groups())


def triage_clause(group_ids: frozenset[int] | tuple[int, ...]) -> Any:
    """Tickets "to triage" for members of ``group_ids``: with one of those groups that is an
    intake group, open, and still new or without a category. Uses the indexes on
    ``assigned_group`` and ``status``."""
    intake = IntakeGroup.select(IntakeGroup.group).where(
        IntakeGroup.group.is_in(sorted(group_ids) or [0])
    )
    return (
        Ticket.assigned_group.is_in(intake)
        & Ticket.status.is_in([s.value for s in Status if s.is_open])
        & ((Ticket.status == Status.NEW.value) | Ticket.category.is_null())
    )


# Read by every ticket page: compiled once (``db.prepared``).
_INTAKE = Prepared(
    lambda ticket_id: (
        TicketIntake.select(
            TicketIntake.filed_by.full_name.as_alias("filed_by_name"),
            TicketIntake.contact_email,
            TicketIntake.phones,
        )
        .where(TicketIntake.ticket == ticket_id)
        .first()
    ),
    SAMPLE_ID,
)
_MINUTES = Prepared(
    lambda ticket_id: (
        FollowUp.select(Sum(FollowUp.minutes, alias="minutes"))
        .where(FollowUp.ticket == ticket_id)
        .first()
    ),
    SAMPLE_ID,
)


async def ticket_intake(ticket: dict[str, Any]) -> dict[str, Any]:
    """How a ticket (a row the viewer may already see) came in: source, who filed it for the
    requester, total time spent, whether the requester follows it by mail, contact details."""
    extra = await _INTAKE.first(ticket["id"]) or {}
    spent = await _MINUTES.first(ticket["id"])
    return {
        "source": ticket["source"],
        "filed_by_name": extra.get("filed_by_name") or "",
        "contact_email": extra.get("contact_email") or "",
        "phones": [p for p in (extra.get("phones") or "").splitlines() if p],
        "minutes": int((spent or {}).get("minutes") or 0),
        "requester_follows": bool(ticket["notify"]),
    }
