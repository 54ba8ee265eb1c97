"""Intake read models (issue 14): an establishment's intake group, the "to triage" filter."""

from __future__ import annotations

from typing import Any

from piccolo.querystring import QueryString

from server.db.establishment_tree import establishment_parents
from server.db.intake_tables import IntakeGroup, TicketIntake
from server.db.tables import FollowUp, Ticket, User
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


def intake_columns() -> list[QueryString]:
    """How a ticket came in and the time spent on it, as columns of the ticket page's own
    statement (``queries.visible_ticket_page``): each a lookup by key, no statement of its
    own. Text and numbers only (SQLite types a subquery's value by its own)."""
    intake = TicketIntake._meta.tablename
    people = User._meta.tablename
    follow_ups = FollowUp._meta.tablename
    ticket = Ticket._meta.tablename
    # Built from table names only (hence the S608 exemptions).
    return [
        QueryString(
            f"(SELECT p.full_name FROM {intake} i JOIN {people} p ON p.id = i.filed_by"  # noqa: S608
            f' WHERE i.ticket = "{ticket}".id)'
        ).as_alias("intake_filed_by_name"),
        QueryString(
            f'(SELECT i.contact_email FROM {intake} i WHERE i.ticket = "{ticket}".id)'  # noqa: S608
        ).as_alias("intake_contact_email"),
        QueryString(
            f'(SELECT i.phones FROM {intake} i WHERE i.ticket = "{ticket}".id)'  # noqa: S608
        ).as_alias("intake_phones"),
        QueryString(
            f'(SELECT SUM(f.minutes) FROM {follow_ups} f WHERE f.ticket = "{ticket}".id)'  # noqa: S608
        ).as_alias("minutes_spent"),
    ]


def ticket_intake(ticket: dict[str, Any]) -> dict[str, Any]:
    """How a ticket came in: source, who filed it for the requester, total time spent,
    whether the requester follows it by mail, contact details; from the ticket page's row
    (``intake_columns``)."""
    return {
        "source": ticket["source"],
        "filed_by_name": ticket["intake_filed_by_name"] or "",
        "contact_email": ticket["intake_contact_email"] or "",
        "phones": [p for p in (ticket["intake_phones"] or "").splitlines() if p],
        "minutes": int(ticket["minutes_spent"] or 0),
        "requester_follows": bool(ticket["notify"]),
    }
