"""One card's display data in one statement: the answer to a move.

``board.card`` plus ``board.add_follow_up_counts`` read the same thing in five statements
(row, SLA, three counts), fine for a column of cards read together, heavy for the one card
a move answers with. Here the SLA state is joined and the counts are subqueries; the result
is the same dictionary (``tests/web/test_move_response.py`` compares them).
"""

from __future__ import annotations

from typing import Any

from piccolo.querystring import QueryString

from server.db.link_tables import TicketLink
from server.db.prepared import Prepared
from server.db.sla import shown
from server.db.sla_tables import TicketSla
from server.db.tables import Attachment, Establishment, FollowUp, Ticket, User
from server.domain.actors import Actor
from server.domain.links import LinkKind
from server.domain.permissions import can_see_private_notes

_TICKET_FIELDS = (
    "id", "title", "status", "priority", "priority_rank", "ticket_type", "version",
    "created_at", "closed_at", "requester", "establishment", "shared", "category",
    "assigned_group", "assignee",
)  # fmt: skip
_SLA_FIELDS = (
    "take_due_at", "take_state", "take_met_at", "resolve_due_at", "resolve_state",
    "resolve_met_at", "paused",
)  # fmt: skip


def _card_sql(ticket_id: int, *, private: bool) -> QueryString:
    t, s = Ticket._meta.tablename, TicketSla._meta.tablename
    fields = ", ".join(f't."{name}"' for name in _TICKET_FIELDS)
    sla = ", ".join(f's."{name}" AS "sla_{name}"' for name in _SLA_FIELDS)
    public_only = "" if private else " AND f.private = {}"
    # Only table and column names are interpolated (ours); the values are bound.
    sql = (
        f"SELECT {fields}, e.code AS establishment_code, a.full_name AS assignee_name,"  # noqa: S608
        f" r.full_name AS requester_name, s.ticket AS sla_ticket, {sla},"
        f" (SELECT COUNT(*) FROM {FollowUp._meta.tablename} f"
        f" WHERE f.ticket = t.id{public_only}) AS follow_ups,"
        f" (SELECT COUNT(*) FROM {Attachment._meta.tablename} x"
        f" WHERE x.ticket = t.id) AS attachments,"
        f" (SELECT COUNT(*) FROM {TicketLink._meta.tablename} l"
        " WHERE l.target = t.id AND l.kind = {}) AS children"
        f" FROM {t} t"
        f" LEFT JOIN {Establishment._meta.tablename} e ON e.id = t.establishment"
        f" LEFT JOIN {User._meta.tablename} a ON a.id = t.assignee"
        f" LEFT JOIN {User._meta.tablename} r ON r.id = t.requester"
        f" LEFT JOIN {s} s ON s.ticket = t.id"
        " WHERE t.id = {}"
    )
    values: list[Any] = [] if private else [False]
    return QueryString(sql, *values, LinkKind.CHILD.value, ticket_id)


_ID = 987_654_321
_STAFF_CARD = Prepared(lambda i: _card_sql(i, private=True), _ID)
_PUBLIC_CARD = Prepared(lambda i: _card_sql(i, private=False), _ID)


async def card(viewer: Actor, ticket_id: int) -> dict[str, Any] | None:
    """The card as ``viewer`` sees it (counts of notes they may read); no access check:
    the caller decided visibility."""
    prepared = _STAFF_CARD if can_see_private_notes(viewer) else _PUBLIC_CARD
    row = await prepared.first(ticket_id)
    if row is None:
        return None
    state = None
    if row.pop("sla_ticket") is not None:
        state = {name: row[f"sla_{name}"] for name in _SLA_FIELDS}
        state["ticket"] = ticket_id
        state["paused"] = bool(state["paused"])
    for name in _SLA_FIELDS:
        del row[f"sla_{name}"]
    row["sla"] = shown(row["status"], state)
    return row
