"""Links between tickets (related, duplicate of, parent / child) and what they show.

Linking changes both tickets: both must be visible to the actor (else NotFound, exactly as a
missing ticket) and managed by them; both get a history line and an event, so both pages,
both timelines and the boards follow at once. The rules (no self-link, no loop, one parent)
are pure: ``server.domain.links``.
"""

from __future__ import annotations

from typing import Any

from server.db import counters
from server.db.engine import write_transaction
from server.db.link_tables import TicketLink
from server.db.prepared import SAMPLE_ID, Prepared, ticket_row, ticket_shares
from server.db.queries import access_of, timeline
from server.db.tables import Group, Ticket
from server.domain.actors import Actor
from server.domain.errors import GuichetError, NotFound, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.forms import NewTicket
from server.domain.links import LinkKind, Relation, link_refusal, relation_of
from server.domain.notifications import Kind
from server.domain.permissions import can_manage, can_view
from server.domain.text import N_
from server.domain.vocabulary import Priority, Source, Status
from server.services import notifications, tickets
from server.services.tickets import _history, _load_managed, _lock_row, _save, ticket_event

# Far beyond any real chain of parents: a guard against a loop written by hand in the database.
_MAX_DEPTH = 100


async def lock_both(first: int, second: int) -> None:
    """Row locks in id order: two people linking the same pair wait instead of deadlocking."""
    for ticket_id in sorted({first, second}):
        await _lock_row(ticket_id)


async def ancestors(ticket_id: int, kind: LinkKind) -> frozenset[int]:
    """Tickets reached from ``ticket_id`` by following ``kind`` links from source to target
    (its parent, the parent's parent, ...)."""
    found: set[int] = set()
    frontier = {ticket_id}
    for _ in range(_MAX_DEPTH):
        rows = await TicketLink.select(TicketLink.target).where(
            TicketLink.source.is_in(sorted(frontier)) & (TicketLink.kind == kind.value)
        )
        frontier = {r["target"] for r in rows} - found
        if not frontier:
            break
        found |= frontier
    return frozenset(found)


async def check_new_link(source_id: int, target_id: int, kind: LinkKind, field: str) -> None:
    """Raise ValidationFailed on ``field`` when the domain refuses this link."""
    exists = await TicketLink.exists().where(
        (TicketLink.source == source_id)
        & (TicketLink.target == target_id)
        & (TicketLink.kind == kind.value)
    )
    has_one = kind is not LinkKind.RELATED and await TicketLink.exists().where(
        (TicketLink.source == source_id) & (TicketLink.kind == kind.value)
    )
    directed = kind is not LinkKind.RELATED
    refusal = link_refusal(
        source_id,
        target_id,
        kind,
        target_ancestors=await ancestors(target_id, kind) if directed else frozenset(),
        source_has_one=has_one,
        exists=exists,
    )
    if refusal:
        raise ValidationFailed({field: refusal})


async def insert_link(actor: Actor, source_id: int, target_id: int, kind: LinkKind) -> None:
    await TicketLink.insert(
        TicketLink(source=source_id, target=target_id, kind=kind.value, created_by=actor.id or None)
    )


async def _history_both(
    actor: Actor, field: str, source_id: int, target_id: int, kind: LinkKind
) -> None:
    """One line on each ticket, each saying what the other is to it."""
    for here, there, as_source in ((source_id, target_id, True), (target_id, source_id, False)):
        await _history(here, actor, field, relation_of(kind, as_source=as_source).value, there)


async def add_link(
    actor: Actor, ticket_id: int, other_id: int, relation: Relation
) -> list[TicketEvent]:
    """Say that ``other_id`` is ``relation`` to ``ticket_id``."""
    async with write_transaction():
        await lock_both(ticket_id, other_id)
        row = await _load_managed(actor, ticket_id)
        other = await _load_managed(actor, other_id) if other_id != ticket_id else row
        source, target, kind = relation.stored(ticket_id, other_id)
        await check_new_link(source, target, kind, "other_id")
        await insert_link(actor, source, target, kind)
        await _history_both(actor, "link_added", source, target, kind)
        return await _bump_both(row, other)


async def remove_link(actor: Actor, ticket_id: int, link_id: int) -> list[TicketEvent]:
    async with write_transaction():
        link = (
            await TicketLink.select()
            .where(
                (TicketLink.id == link_id)
                & ((TicketLink.source == ticket_id) | (TicketLink.target == ticket_id))
            )
            .first()
        )
        if link is None:
            raise NotFound()
        other_id = link["target"] if link["source"] == ticket_id else link["source"]
        await lock_both(ticket_id, other_id)
        row = await _load_managed(actor, ticket_id)
        other = await _load_managed(actor, other_id)
        await TicketLink.delete().where(TicketLink.id == link_id)
        kind = LinkKind(link["kind"])
        await _history_both(actor, "link_removed", link["source"], link["target"], kind)
        return await _bump_both(row, other)


async def _bump_both(row: dict[str, Any], other: dict[str, Any]) -> list[TicketEvent]:
    """Both tickets changed: new versions, and one event each (card facts before/after)."""
    events = []
    for before in (row, other) if other["id"] != row["id"] else (row,):
        await _save(before["id"], before["version"], {})
        events.append(await ticket_event("ticket.updated", before["id"], before))
    return events


# -- what a ticket page shows ------------------------------------------------------------------


# Read by every ticket page: compiled once (``db.prepared``).
_LINKS_OF = Prepared(
    lambda ticket_id: TicketLink.select().where(
        (TicketLink.source == ticket_id) | (TicketLink.target == ticket_id)
    ),
    SAMPLE_ID,
)


async def links_view(actor: Actor, ticket_id: int) -> dict[str, Any]:
    """The links of a ticket as this viewer may see them: a linked ticket they may not see is
    a bare number (no title, no status), and a merged ticket's follow-ups are listed only for
    viewers who may see that ticket. The caller has checked that the viewer sees this one."""
    rows = await _LINKS_OF.rows(ticket_id)
    others = sorted({r["target"] if r["source"] == ticket_id else r["source"] for r in rows})
    facts = await _tickets(others)
    visible = {
        tid: can_view(actor, access_of(row, await ticket_shares(tid))) for tid, row in facts.items()
    }
    items = []
    merged = []
    for r in sorted(rows, key=lambda r: (r["kind"], r["id"])):
        as_source = r["source"] == ticket_id
        other_id = r["target"] if as_source else r["source"]
        relation = relation_of(LinkKind(r["kind"]), as_source=as_source)
        seen = visible.get(other_id, False)
        other = facts.get(other_id, {})
        items.append(
            {
                "id": r["id"],
                "relation": relation.value,
                "label": relation.label,
                "other_id": other_id,
                "visible": seen,
                "title": other.get("title", "") if seen else "",
                "status": other.get("status", "") if seen else "",
            }
        )
        if relation is Relation.DUPLICATED_BY and seen:
            follow_ups = [i for i in await timeline(actor, other_id) if i["kind"] == "follow_up"]
            merged.append({"id": other_id, "title": other["title"], "follow_ups": follow_ups})
    children = [i for i in items if i["relation"] == Relation.PARENT_OF.value]
    return {
        "items": items,
        "merged": merged,
        "children": len(children),
        "relations": list(Relation),
    }


async def _tickets(ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = await Ticket.select(
        Ticket.id,
        Ticket.title,
        Ticket.status,
        Ticket.requester,
        Ticket.establishment,
        Ticket.shared,
        Ticket.assigned_group,
        Ticket.assignee,
    ).where(Ticket.id.is_in(ids))
    return {r["id"]: r for r in rows}


# -- major incidents ---------------------------------------------------------------------------


async def open_children(parent_id: int) -> list[int]:
    rows = await TicketLink.select(TicketLink.source).where(
        (TicketLink.target == parent_id) & (TicketLink.kind == LinkKind.CHILD.value)
    )
    ids = sorted(r["source"] for r in rows)
    if not ids:
        return []
    open_rows = await Ticket.select(Ticket.id).where(
        Ticket.id.is_in(ids) & Ticket.status.not_in([Status.RESOLVED.value, Status.CLOSED.value])
    )
    return sorted(r["id"] for r in open_rows)


async def resolve_children(actor: Actor, parent_id: int, solution: str) -> list[TicketEvent]:
    """After a parent ticket was resolved: resolve each of its open children through the
    same use case as one resolution (its own transaction, rules, history, SLA and the
    requester's notification). A child this actor may not manage, or that the rules refuse,
    stays as it is: the parent's resolution is already committed."""
    events: list[TicketEvent] = []
    for child_id in await open_children(parent_id):
        row = await ticket_row(child_id)
        if row is None:
            continue
        if not can_manage(actor, access_of(row, await ticket_shares(child_id))):
            continue
        try:
            events += await tickets.change_status(
                actor, child_id, Status.RESOLVED, row["version"], solution
            )
        except GuichetError:
            continue
    return events


# -- a follow-on request: a child ticket opened from its parent ---------------------------------


async def open_child(
    actor: Actor, parent_id: int, data: NewTicket, group_id: int | None = None
) -> tuple[int, list[TicketEvent]]:
    """The desk opens a child ticket of ``parent_id`` (the follow-on request to another team,
    in the EasyVista guide's words): same requester, establishment and sharing as the parent,
    handed to ``group_id`` when given. The requester is not sent an acknowledgement of a
    request they did not make; the receiving group hears of it as an assignment."""
    if group_id is not None and not await Group.exists().where(Group.id == group_id):
        raise ValidationFailed({"group_id": N_("Choose one of the proposed values.")})
    async with write_transaction():
        await _lock_row(parent_id)
        parent = await _load_managed(actor, parent_id)
        priority = data.priority or Priority(parent["priority"])
        inserted = await Ticket.insert(
            Ticket(
                title=data.title,
                description=data.description,
                ticket_type=parent["ticket_type"],
                priority=priority.value,
                priority_rank=priority.rank,
                status=Status.NEW.value,
                requester=parent["requester"],
                establishment=parent["establishment"],
                category=parent["category"],
                assigned_group=group_id if group_id is not None else parent["assigned_group"],
                environment=parent["environment"],
                notify=parent["notify"],
                shared=parent["shared"],
                source=Source.WEB.value,
            )
        ).returning(Ticket.id, *counters.KEY_COLUMNS)
        child_id = inserted[0]["id"]
        await counters.apply(None, inserted[0])
        await _history(child_id, actor, "created", "", Status.NEW.value)
        await insert_link(actor, child_id, parent_id, LinkKind.CHILD)
        await _history_both(actor, "link_added", child_id, parent_id, LinkKind.CHILD)
        if group_id is not None:
            await notifications.enqueue(Kind.ASSIGNED, child_id, actor)
        events = [await ticket_event("ticket.created", child_id, None)]
        await _save(parent_id, parent["version"], {})
        events.append(await ticket_event("ticket.updated", parent_id, parent))
    return child_id, events
