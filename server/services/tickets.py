"""Ticket use cases. Each runs in one write transaction and returns the events it caused.

Concurrency: changes carry the version the actor saw; the UPDATE only matches that version,
so of two people changing the same ticket at once exactly one wins and the other gets Conflict.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.db import counters, report_tally
from server.db.engine import write_transaction
from server.db.intake import intake_group_of
from server.db.prepared import (
    SAMPLE_ID,
    Prepared,
    PreparedInsert,
    ticket_row,
    ticket_shares,
    versioned_ticket_update,
)
from server.db.queries import access_of, category
from server.db.tables import Category, FollowUp, Group, HistoryEntry, Ticket, User
from server.domain.actors import Actor
from server.domain.board import CardFacts
from server.domain.composer import Answer
from server.domain.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.forms import NewFollowUp, NewTicket
from server.domain.intake import Requester
from server.domain.lifecycle import Move, TicketFacts, check_move, reopen_target
from server.domain.notifications import Kind, kind_for_move
from server.domain.permissions import (
    TicketAccess,
    can_comment,
    can_manage,
    can_set_shared,
    can_view,
)
from server.domain.text import N_
from server.domain.vocabulary import Priority, Role, Status, TicketType
from server.services import canned, catalogue, notifications, sla
from server.services.group_mail import group_name_and_address, tell_group_address


def _now() -> datetime:
    return datetime.now(UTC)


def _facts(row: dict[str, Any]) -> TicketFacts:
    return TicketFacts(
        status=Status(row["status"]), requester_id=row["requester"], assignee_id=row["assignee"]
    )


def card_facts(row: dict[str, Any], shared_with: frozenset[int] = frozenset()) -> CardFacts:
    return CardFacts(
        id=row["id"],
        status=Status(row["status"]),
        priority_rank=row["priority_rank"],
        created_at=row["created_at"],
        closed_at=row["closed_at"],
        establishment_id=row["establishment"],
        requester_id=row["requester"],
        shared=row["shared"],
        category_id=row["category"],
        group_id=row["assigned_group"],
        assignee_id=row["assignee"],
        title=row["title"],
        shared_with=shared_with,
    )


async def ticket_event(
    kind: str,
    ticket_id: int,
    before: dict[str, Any] | None,
    *,
    refresh_sla: bool = True,
    after: dict[str, Any] | None = None,
    shares: frozenset[int] | None = None,
) -> TicketEvent:
    """The one event of a use case, with the card facts before and after (read in the
    same transaction, so they are exactly what was committed). Every use case ends here, so
    this is also where the ticket's SLA due times are recomputed, in the same transaction.

    ``after`` (the row as it stands after the change) and ``shares`` (the people it is
    shared with now) spare a read when the use case already has them in this transaction."""
    after = after or await ticket_row(ticket_id)
    assert after is not None
    if refresh_sla:
        await sla.refresh(ticket_id, ticket=after)
    if shares is None:
        shares = await ticket_shares(ticket_id)
    before_shares = shares if before is None else before.get("_shared_with", shares)
    return TicketEvent(
        kind=kind,
        ticket_id=ticket_id,
        version=after["version"],
        before=card_facts(before, before_shares).as_message() if before else None,
        after=card_facts(after, shares).as_message(),
        notified=tuple(sorted(notifications.take_notified())),
    )


async def _load(actor: Actor, ticket_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The ticket as the actor may see it (404 otherwise); ``lock``: see ``ticket_row``."""
    row = await ticket_row(ticket_id, lock=lock)
    if row is None:
        raise NotFound()
    # Read once per use case: access checks and the event's "before" facts reuse it.
    row["_shared_with"] = await ticket_shares(ticket_id)
    if not can_view(actor, _access(row)):
        raise NotFound()
    return row


def _access(row: dict[str, Any]) -> TicketAccess:
    return access_of(row, row["_shared_with"])


async def _load_managed(actor: Actor, ticket_id: int) -> dict[str, Any]:
    row = await _load(actor, ticket_id)
    if not can_manage(actor, _access(row)):
        raise Forbidden()
    return row


_WHOLE_ROW = tuple(Ticket.all_columns())


async def _save(
    ticket_id: int,
    expected_version: int,
    values: dict[Any, Any],
    row: dict[str, Any] | None = None,
) -> int:
    """Apply ``values`` if the ticket is still at ``expected_version``; return the new version
    (see ``_save_row``)."""
    return (await _save_row(ticket_id, expected_version, values, row))["version"]


async def _save_row(
    ticket_id: int,
    expected_version: int,
    values: dict[Any, Any],
    row: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply ``values`` if the ticket is still at ``expected_version``; return the whole row
    after (as ``ticket_row`` reads it: the change's notices and event need no read of their
    own). The one place ticket rows change after creation: counters follow here.

    ``row``: the ticket as read at ``expected_version`` in this transaction. Every change of
    a counted field bumps the version, so when the UPDATE matches, the counted fields were
    those of ``row``: no need to read them again."""
    if row is None or not counters.changes_keys(values):
        before = await counters.keys_before(ticket_id, values)
    else:
        assert row["version"] == expected_version
        before = {name: row[name] for name in counters.KEY_NAMES}
    now = _now()
    rows = await versioned_ticket_update(values, ticket_id, expected_version, now, _WHOLE_ROW)
    if not rows:
        raise Conflict()
    if before is not None:
        await counters.apply(before, rows[0])
        await report_tally.on_change(before, rows[0], now)
    return rows[0]


async def _lock_row(ticket_id: int) -> None:
    """Wait for the ticket's row: on PostgreSQL a row lock held to commit; SQLite's IMMEDIATE
    write transaction already admits one writer at a time."""
    if Ticket._meta.db.engine_type == "postgres":
        await Ticket.raw("SELECT id FROM ticket WHERE id = {} FOR UPDATE", ticket_id)


# One history line, compiled once: building a Piccolo insert (a table instance, its foreign
# keys) cost more Python than the statement takes to run, on every change.
_HISTORY_LINE = Prepared(
    lambda ticket, actor, field, old, new, note, at: HistoryEntry.insert(
        HistoryEntry(
            ticket=ticket,
            actor=actor,
            field=field,
            old_value=old,
            new_value=new,
            note=note,
            created_at=at,
        )
    ),
    987_654_321,
    987_654_322,
    "\x00field",
    "\x00old",
    "\x00new",
    "\x00note",
    datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC),
)


async def _history(
    ticket_id: int, actor: Actor | None, field: str, old: Any, new: Any, note: str = ""
) -> None:
    await _HISTORY_LINE.rows(
        ticket_id,
        actor.id if actor and actor.id else None,
        field,
        "" if old is None else str(old)[:500],
        "" if new is None else str(new)[:500],
        note,
        _now(),
    )


async def _history_lines(
    ticket_id: int, actor: Actor | None, lines: list[tuple[str, Any, Any]]
) -> None:
    """Several history lines of one change in one statement, in order."""
    actor_id = actor.id if actor and actor.id else None
    now = _now()
    await _HISTORY_LINES.run(
        [
            (
                ticket_id,
                actor_id,
                field,
                "" if old is None else str(old)[:500],
                "" if new is None else str(new)[:500],
                "",
                now,
            )
            for field, old, new in lines
        ]
    )


_HISTORY_LINES = PreparedInsert(
    HistoryEntry, ("ticket", "actor", "field", "old_value", "new_value", "note", "created_at")
)
# A new ticket, every column as Piccolo's insert would write it, compiled once (the table
# instance and its insert cost more Python than the statement). Given back: the whole row,
# as ``ticket_row`` would read it, for the counters, the tallies, the notices and the event.
_TICKET_COLUMNS = (
    "title", "description", "ticket_type", "priority", "priority_rank", "status", "requester",
    "establishment", "category", "assigned_group", "assignee", "contact_name", "contact_phone",
    "environment", "service_url", "notify", "shared", "solution", "version", "source",
    "dedup_key", "request_type", "created_at", "updated_at", "resolved_at", "closed_at",
)  # fmt: skip
_NEW_TICKET = PreparedInsert(Ticket, _TICKET_COLUMNS, returning=("id", *_TICKET_COLUMNS))


async def _name_of(table: type[User] | type[Group] | type[Category], row_id: int | None) -> str:
    if row_id is None:
        return ""
    column = table.full_name if table is User else table.name
    row = await table.select(column).where(table.id == row_id).first()
    return next(iter(row.values())) if row else ""


async def open_ticket(
    actor: Actor, data: NewTicket, *, requester: Requester | None = None
) -> tuple[int, list[TicketEvent]]:
    """``requester``: staff file the ticket for someone (checked by services.intake); the
    ticket is then theirs, in their establishment."""
    if not actor.active:
        raise Forbidden()
    if requester is None:
        if actor.establishment_id is None:
            raise Forbidden(N_("Your account is not linked to an establishment yet."))
        requester = Requester(id=actor.id, establishment_id=actor.establishment_id)
    if data.category_id is not None and await category(data.category_id) is None:
        raise ValidationFailed({"category_id": N_("Choose one of the proposed values.")})
    # By category, then request type (server.domain.routing).
    priority, group_id, request_type_id = await catalogue.route_new_ticket(
        data.category_id, data.request_type_id, data.priority, data.source
    )
    # Every ticket reaches a team: what no category routes goes to the intake group.
    group_id = group_id or await intake_group_of(requester.establishment_id)
    async with write_transaction():
        now = _now()
        inserted = await _NEW_TICKET.one(
            {
                "title": data.title,
                "description": data.description,
                "ticket_type": data.type.value,
                "priority": priority.value,
                "priority_rank": priority.rank,
                "status": Status.NEW.value,
                "requester": requester.id,
                "establishment": requester.establishment_id,
                "category": data.category_id,
                "assigned_group": group_id,
                "assignee": None,
                "contact_name": data.contact_name,
                "contact_phone": data.contact_phone,
                "environment": data.environment.value,
                "service_url": data.service_url,
                "notify": data.notify,
                "shared": data.shared,
                "solution": "",
                "version": 1,
                "source": data.source.value,
                "dedup_key": None,
                "request_type": request_type_id,
                "created_at": now,
                "updated_at": now,
                "resolved_at": None,
                "closed_at": None,
            }
        )
        ticket_id = inserted["id"]
        await counters.apply(None, inserted)
        await report_tally.on_open(inserted)
        created = [("created", "", Status.NEW.value)]
        # Named in the history and told by mail: read once.
        group = None if group_id is None else await group_name_and_address(group_id)
        if group_id is not None:
            created.append(("group", "", group["name"] if group else ""))
        await _history_lines(ticket_id, actor, created)
        # The requester's acknowledgement, and the receiving group's notice (issue 14).
        # Read once for the notices and the event; a new ticket is shared with nobody yet.
        after, shares = inserted, frozenset[int]()
        await notifications.enqueue_kinds(
            (Kind.CREATED, Kind.GROUP_NEW),
            ticket_id,
            actor,
            ticket=after,
            shares=shares,
            new_ticket=True,
        )
        if group is not None:
            await tell_group_address(ticket_id, group_id, group=group)
        event = await ticket_event("ticket.created", ticket_id, None, after=after, shares=shares)
    return ticket_id, [event]


async def change_status(
    actor: Actor, ticket_id: int, target: Status, version: int, solution: str = ""
) -> list[TicketEvent]:
    async with write_transaction():
        row = await _load(actor, ticket_id)
        if row["version"] != version:
            raise Conflict()
        events = await _move_and_tell(actor, ticket_id, row, row, target, solution)
    return events + await _after_resolution(actor, ticket_id, target, solution)


async def _move_and_tell(
    actor: Actor,
    ticket_id: int,
    before: dict[str, Any],
    row: dict[str, Any],
    target: Status,
    solution: str,
) -> list[TicketEvent]:
    """Inside the change's transaction: check and apply the move to ``row`` (``before`` as it
    was when the change began, which differs when the move first took the ticket), queue the
    notices of the move and return its event."""
    transition = check_move(_facts(row), actor, Move(target=target, solution=solution))
    after = await _apply_move(actor, row, target, transition.name, solution)
    shares = before["_shared_with"]
    await notifications.enqueue(
        kind_for_move(Status(before["status"]), target),
        ticket_id,
        actor,
        ticket=after,
        shares=shares,
    )
    return [await ticket_event("ticket.moved", ticket_id, before, after=after, shares=shares)]


async def _after_resolution(
    actor: Actor, ticket_id: int, target: Status, solution: str
) -> list[TicketEvent]:
    """A resolved parent (a major incident) resolves its open children, each in its own
    transaction once the parent's is committed."""
    if target is not Status.RESOLVED:
        return []
    from server.services.links import resolve_children  # links builds on this module

    return await resolve_children(actor, ticket_id, solution)


async def _apply_move(
    actor: Actor, row: dict[str, Any], target: Status, name: str, solution: str = ""
) -> dict[str, Any]:
    """Move ``row`` to ``target``, with its history line; the row after."""
    values: dict[Any, Any] = {Ticket.status: target.value}
    if target is Status.RESOLVED:
        values[Ticket.solution] = solution.strip()
        values[Ticket.resolved_at] = _now()
    elif target is Status.CLOSED:
        values[Ticket.closed_at] = _now()
    if name in ("reopen", "reopen_closed"):
        values[Ticket.resolved_at] = None
        values[Ticket.closed_at] = None
    after = await _save_row(row["id"], row["version"], values, row)
    note = solution.strip() if target is Status.RESOLVED else ""
    await _history(row["id"], actor, "status", row["status"], target.value, note)
    return after


async def take(actor: Actor, ticket_id: int, version: int) -> list[TicketEvent]:
    """The technician assigns the ticket to themself; a new ticket goes in progress."""
    async with write_transaction():
        row = await _load_managed(actor, ticket_id)
        if row["version"] != version:
            raise Conflict()
        if row["status"] in (Status.RESOLVED, Status.CLOSED):
            raise InvalidTransition(N_("A resolved or closed ticket cannot be taken."))
        values: dict[Any, Any] = {Ticket.assignee: actor.id}
        moves_to_assigned = row["status"] == Status.NEW
        if moves_to_assigned:
            values[Ticket.status] = Status.ASSIGNED.value
        after = await _save_row(ticket_id, version, values, row)
        old_name = await _name_of(User, row["assignee"])
        await _history(ticket_id, actor, "assignee", old_name, await _name_of(User, actor.id))
        if moves_to_assigned:
            await _history(ticket_id, actor, "status", Status.NEW.value, Status.ASSIGNED.value)
        shares = row["_shared_with"]
        await notifications.enqueue(Kind.ASSIGNED, ticket_id, actor, ticket=after, shares=shares)
        return [await ticket_event("ticket.moved", ticket_id, row, after=after, shares=shares)]


async def assign(
    actor: Actor,
    ticket_id: int,
    version: int,
    *,
    assignee_id: int | None,
    group_id: int | None,
) -> list[TicketEvent]:
    """Set the technician and/or group in charge (None clears it)."""
    async with write_transaction():
        row = await _load_managed(actor, ticket_id)
        if assignee_id is not None:
            tech = await User.select(User.role, User.active).where(User.id == assignee_id).first()
            if tech is None or not tech["active"] or tech["role"] == Role.REQUESTER:
                raise ValidationFailed({"assignee_id": N_("Choose an active technician.")})
        if group_id is not None and not await Group.exists().where(Group.id == group_id):
            raise ValidationFailed({"group_id": N_("Choose one of the proposed values.")})
        if row["version"] != version:
            raise Conflict()
        if row["status"] == Status.CLOSED:
            raise InvalidTransition(N_("This ticket is closed."))
        values: dict[Any, Any] = {}
        changes: list[tuple[str, str, str]] = []
        if assignee_id != row["assignee"]:
            values[Ticket.assignee] = assignee_id
            old, new = await _name_of(User, row["assignee"]), await _name_of(User, assignee_id)
            changes.append(("assignee", old, new))
        if group_id != row["assigned_group"]:
            values[Ticket.assigned_group] = group_id
            old, new = (
                await _name_of(Group, row["assigned_group"]),
                await _name_of(Group, group_id),
            )
            changes.append(("group", old, new))
        status = Status(row["status"])
        if assignee_id is not None and status is Status.NEW:
            values[Ticket.status] = Status.ASSIGNED.value
            changes.append(("status", status.value, Status.ASSIGNED.value))
        elif assignee_id is None and status in (Status.ASSIGNED, Status.PLANNED):
            # Nobody in charge any more: back to the backlog.
            values[Ticket.status] = Status.NEW.value
            changes.append(("status", status.value, Status.NEW.value))
        if not values:
            return []
        await _save(ticket_id, version, values, row)
        for field, old, new in changes:
            await _history(ticket_id, actor, field, old, new)
        changed = {field for field, _old, _new in changes}
        handed_over = ("assignee" in changed and assignee_id is not None) or (
            "group" in changed and group_id is not None
        )
        if handed_over:
            await notifications.enqueue(Kind.ASSIGNED, ticket_id, actor)
        elif "status" in changed:
            await notifications.enqueue(Kind.STATUS_CHANGED, ticket_id, actor)
        if "group" in changed:
            await tell_group_address(ticket_id, group_id)  # the team's own address too
        return [await ticket_event("ticket.moved", ticket_id, row)]


async def update_fields(
    actor: Actor,
    ticket_id: int,
    version: int,
    *,
    priority: Priority | None = None,
    category_id: int | None = None,
    ticket_type: TicketType | None = None,
) -> list[TicketEvent]:
    """Change priority, category or type; each change is logged."""
    async with write_transaction():
        row = await _load_managed(actor, ticket_id)
        if category_id is not None and await category(category_id) is None:
            raise ValidationFailed({"category_id": N_("Choose one of the proposed values.")})
        if row["version"] != version:
            raise Conflict()
        if row["status"] == Status.CLOSED:
            raise InvalidTransition(N_("This ticket is closed."))
        values: dict[Any, Any] = {}
        changes: list[tuple[str, str, str]] = []
        if priority is not None and priority.value != row["priority"]:
            values[Ticket.priority] = priority.value
            values[Ticket.priority_rank] = priority.rank
            changes.append(("priority", row["priority"], priority.value))
        if ticket_type is not None and ticket_type.value != row["ticket_type"]:
            values[Ticket.ticket_type] = ticket_type.value
            changes.append(("type", row["ticket_type"], ticket_type.value))
        if category_id is not None and category_id != row["category"]:
            values[Ticket.category] = category_id
            old, new = (
                await _name_of(Category, row["category"]),
                await _name_of(Category, category_id),
            )
            changes.append(("category", old, new))
        if not values:
            return []
        await _save(ticket_id, version, values, row)
        for field, old, new in changes:
            await _history(ticket_id, actor, field, old, new)
        return [await ticket_event("ticket.updated", ticket_id, row)]


STAFF_ROLES = [r.value for r in Role if r.is_staff]


async def _count_follow_up(
    actor: Actor, row: dict[str, Any], data: NewFollowUp, follow_up: dict[str, Any]
) -> None:
    """Time spent, and whether this is the desk's first public answer (for reports)."""
    minutes = data.minutes if actor.is_staff else 0
    first = False
    if actor.is_staff and not data.private and actor.id != row["requester"]:
        earlier = await FollowUp.exists().where(
            (FollowUp.ticket == row["id"])
            & (FollowUp.private == False)  # noqa: E712
            & FollowUp.author.role.is_in(STAFF_ROLES)
            & (FollowUp.id != follow_up["id"])
        )
        first = not earlier
    if minutes or first:
        await report_tally.on_follow_up(row, actor.id, minutes, first, follow_up["created_at"])


async def _insert_follow_up(
    actor: Actor, row: dict[str, Any], data: NewFollowUp
) -> dict[str, Any]:
    """The follow-up row (id, created_at), counted for the reports; minutes are the desk's."""
    inserted = await _NEW_FOLLOW_UP.one(
        {
            "ticket": row["id"],
            "author": actor.id,
            "text": data.text,
            "private": data.private,
            "minutes": data.minutes if actor.is_staff else 0,
            "created_at": _now(),
        }
    )
    await _count_follow_up(actor, row, data, inserted)
    return inserted


_NEW_FOLLOW_UP = PreparedInsert(
    FollowUp,
    ("ticket", "author", "text", "private", "minutes", "created_at"),
    returning=("id", "created_at"),
)


async def add_follow_up(
    actor: Actor, ticket_id: int, data: NewFollowUp
) -> tuple[int, list[TicketEvent]]:
    """Add a follow-up. A requester's reply on a resolved ticket reopens it.

    A follow-up carries no version: it is never refused because someone else wrote at the
    same moment. Concurrent ones queue on the ticket's row lock, then each reads the row
    as committed and bumps its version."""
    async with write_transaction():
        row = await _load(actor, ticket_id, lock=True)
        access = _access(row)
        if not can_comment(actor, access):
            raise Forbidden()
        if data.private and not can_manage(actor, access):
            raise Forbidden()
        if row["status"] == Status.CLOSED:
            raise InvalidTransition(N_("This ticket is closed: open a new ticket instead."))
        inserted = await _insert_follow_up(actor, row, data)
        after = await _save_row(ticket_id, row["version"], {})
        kind = "ticket.followup"
        reply_reopens = (
            row["status"] == Status.RESOLVED and actor.id == row["requester"] and not data.private
        )
        if reply_reopens:
            current = {**row, "version": after["version"]}
            target = reopen_target(_facts(current))
            transition = check_move(_facts(current), actor, Move(target=target, by_reply=True))
            after = await _apply_move(actor, current, target, transition.name)
            kind = "ticket.moved"
        # One mail per reply, even when it reopens the ticket: it shows the new status.
        shares = row["_shared_with"]
        await notifications.enqueue(
            Kind.FOLLOW_UP,
            ticket_id,
            actor,
            follow_up_id=inserted["id"],
            private=data.private,
            ticket=after,
            shares=shares,
        )
        event = await ticket_event(kind, ticket_id, row, after=after, shares=shares)
    return inserted["id"], [event]


async def set_shared(actor: Actor, ticket_id: int, version: int, shared: bool) -> list[TicketEvent]:
    async with write_transaction():
        row = await _load(actor, ticket_id)
        if not can_set_shared(actor, _access(row)):
            raise Forbidden()
        if row["version"] != version:
            raise Conflict()
        if row["shared"] == shared:
            return []
        await _save(ticket_id, version, {Ticket.shared: shared}, row)
        await _history(ticket_id, actor, "shared", str(row["shared"]), str(shared))
        return [await ticket_event("ticket.updated", ticket_id, row)]


async def move(
    actor: Actor, ticket_id: int, target: Status, version: int, solution: str = ""
) -> list[TicketEvent]:
    """A card dropped in another column. Dropping an unassigned ticket into "in progress"
    takes it, as a technician would expect on a kanban board."""
    async with write_transaction():
        before = await _load(actor, ticket_id)
        if before["version"] != version:
            raise Conflict()
        row = before
        takes_it = (
            target in (Status.ASSIGNED, Status.PLANNED)
            and row["assignee"] is None
            and can_manage(actor, _access(row))
        )
        if takes_it:
            check_move(_facts({**row, "assignee": actor.id}), actor, Move(target, solution))
            await _save(ticket_id, version, {Ticket.assignee: actor.id}, row)
            await _history(ticket_id, actor, "assignee", "", await _name_of(User, actor.id))
            row = {**row, "assignee": actor.id, "version": version + 1}
        events = await _move_and_tell(actor, ticket_id, before, row, target, solution)
    return events + await _after_resolution(actor, ticket_id, target, solution)


REDACTED = "[REDACTED]"


async def redact_stored_text(
    actor: Actor, ticket_id: int, version: int, target: str, hide: str, config: Any
) -> list[TicketEvent]:
    """Staff remove patient data written earlier: every exact occurrence of ``hide`` and every
    identifier the detector finds. The original text is not kept anywhere; the history says
    that a redaction happened, not what was removed."""
    from server.domain.phi import detect, redact

    def scrub(text: str) -> str:
        cleaned = redact(text, detect(text, config))
        return cleaned.replace(hide, REDACTED) if hide.strip() else cleaned

    async with write_transaction():
        row = await _load_managed(actor, ticket_id)
        if row["version"] != version:
            raise Conflict()
        if target in ("title", "description"):
            column = Ticket.title if target == "title" else Ticket.description
            new_text = scrub(row[target])
            if new_text == row[target]:
                raise ValidationFailed({"hide": N_("There is nothing to redact in this text.")})
            await _save(ticket_id, version, {column: new_text})
            label = target
        elif target.startswith("follow_up:") and target[10:].isdigit():
            follow_up = (
                await FollowUp.select(FollowUp.id, FollowUp.text)
                .where((FollowUp.id == int(target[10:])) & (FollowUp.ticket == ticket_id))
                .first()
            )
            if follow_up is None:
                raise NotFound()
            new_text = scrub(follow_up["text"])
            if new_text == follow_up["text"]:
                raise ValidationFailed({"hide": N_("There is nothing to redact in this text.")})
            await FollowUp.update({FollowUp.text: new_text}).where(FollowUp.id == follow_up["id"])
            await _save(ticket_id, version, {})
            label = "follow_up"
        else:
            raise ValidationFailed({"target": N_("Choose one of the proposed values.")})
        await _history(ticket_id, actor, "redaction", "", label)
        return [await ticket_event("ticket.updated", ticket_id, row)]


# Escalation moves a ticket between groups; the direction is named by the tiers involved.
ESCALATION_FIELDS = ("escalation", "deescalation", "transfer")


_NEXT_TIER = Prepared(
    lambda group_id: Group.select(Group.next_tier).where(Group.id == group_id).first(), SAMPLE_ID
)


async def next_tier_of(group_id: int) -> int | None:
    row = await _NEXT_TIER.first(group_id)
    return row["next_tier"] if row else None


async def escalate(
    actor: Actor, ticket_id: int, version: int, *, group_id: int, reason: str
) -> list[TicketEvent]:
    """Hand the ticket to another group with a required reason. Nobody in the receiving
    group has it yet, so it goes back to that group's backlog (unassigned, "new")."""
    reason = reason.strip()
    async with write_transaction():
        row = await _load_managed(actor, ticket_id)
        errors: dict[str, str] = {}
        if not group_id and row["assigned_group"] is not None:
            # No group chosen: the current group's "next tier" (issue 14), when it names one.
            group_id = await next_tier_of(row["assigned_group"]) or 0
        target = (
            await Group.select(Group.id, Group.name, Group.tier).where(Group.id == group_id).first()
        )
        if target is None:
            errors["group_id"] = N_("Choose one of the proposed values.")
        elif target["id"] == row["assigned_group"]:
            errors["group_id"] = N_("The ticket is already with this group.")
        if not reason:
            errors["reason"] = N_("Say why the ticket changes group.")
        elif len(reason) > 2000:
            errors["reason"] = N_("This text is too long.")
        if errors:
            raise ValidationFailed(errors)
        assert target is not None
        if row["version"] != version:
            raise Conflict()
        if not Status(row["status"]).is_open:
            raise InvalidTransition(N_("A resolved or closed ticket cannot change group."))
        current = None
        if row["assigned_group"] is not None:
            current = (
                await Group.select(Group.name, Group.tier)
                .where(Group.id == row["assigned_group"])
                .first()
            )
        if current is None or target["tier"] > current["tier"]:
            field = "escalation"
        elif target["tier"] < current["tier"]:
            field = "deescalation"
        else:
            field = "transfer"
        values: dict[Any, Any] = {Ticket.assigned_group: target["id"], Ticket.assignee: None}
        status = Status(row["status"])
        if status is not Status.NEW:
            values[Ticket.status] = Status.NEW.value
        await _save(ticket_id, version, values, row)
        await _history(
            ticket_id, actor, field, current["name"] if current else "", target["name"], reason
        )
        if row["assignee"] is not None:
            await _history(ticket_id, actor, "assignee", await _name_of(User, row["assignee"]), "")
        if status is not Status.NEW:
            await _history(ticket_id, actor, "status", status.value, Status.NEW.value)
        await notifications.enqueue(Kind.ESCALATED, ticket_id, actor)
        await tell_group_address(ticket_id, target["id"])
        return [await ticket_event("ticket.moved", ticket_id, row)]


async def answer(
    actor: Actor, ticket_id: int, data: Answer
) -> tuple[int | None, list[TicketEvent]]:
    """The composer's one submit: a reply or private note and/or a status change, in one
    transaction. Every check runs before the first write, so a refusal saves nothing.

    The version the actor saw is checked once, and only when the status changes (a reply,
    like ``add_follow_up``, never conflicts). Returns the follow-up id (None without text)."""
    async with write_transaction():
        row = await _load(actor, ticket_id, lock=True)
        access = _access(row)
        if not can_comment(actor, access):
            raise Forbidden()
        if data.private and not can_manage(actor, access):
            raise Forbidden()
        status = Status(row["status"])
        target = data.target if data.target is not status else None
        if target is not None:
            if data.version != row["version"]:
                raise Conflict()
            if target is Status.RESOLVED and not data.solution.strip():
                raise ValidationFailed(
                    {"solution": N_("A solution is required to resolve a ticket.")}
                )
            try:
                check_move(_facts(row), actor, Move(target=target, solution=data.solution))
            except InvalidTransition as exc:
                raise ValidationFailed({"status": exc.message}) from exc
        elif status is Status.CLOSED:
            raise InvalidTransition(N_("This ticket is closed: open a new ticket instead."))

        follow_up_id = None
        kind = "ticket.followup"
        if data.has_text:
            inserted = await _insert_follow_up(
                actor, row, NewFollowUp(data.text, data.private, data.minutes)
            )
            follow_up_id = inserted["id"]
            current = {**row, "version": await _save(ticket_id, row["version"], {})}
            reply_reopens = (
                target is None
                and status is Status.RESOLVED
                and actor.id == row["requester"]
                and not data.private
            )
            if reply_reopens:
                target = reopen_target(_facts(current))
                transition = check_move(_facts(current), actor, Move(target=target, by_reply=True))
                await _apply_move(actor, current, target, transition.name)
                target = None  # the reply's own mail tells of the reopening
                kind = "ticket.moved"
            await canned.count_uses(actor, data.canned_ids)
        else:
            current = row
        if target is not None:
            transition = check_move(
                _facts(current), actor, Move(target=target, solution=data.solution)
            )
            await _apply_move(actor, current, target, transition.name, data.solution)
            kind = "ticket.moved"
        # Every change is written: the row is read once for the notices and the event.
        after, shares = await ticket_row(ticket_id), row["_shared_with"]
        if target is not None:
            move_kind = kind_for_move(status, target)
            # A public reply's mail already shows the new status; resolving and closing
            # have their own mail (with the solution, or the closing notice).
            if data.private or not data.has_text or move_kind in (Kind.RESOLVED, Kind.CLOSED):
                await notifications.enqueue(
                    move_kind, ticket_id, actor, ticket=after, shares=shares
                )
        if follow_up_id is not None:
            await notifications.enqueue(
                Kind.FOLLOW_UP,
                ticket_id,
                actor,
                follow_up_id=follow_up_id,
                private=data.private,
                ticket=after,
                shares=shares,
            )
        events = [await ticket_event(kind, ticket_id, row, after=after, shares=shares)]
    # After the commit, as change_status does: a resolved major incident resolves its children.
    if target is not None:
        events += await _after_resolution(actor, ticket_id, target, data.solution)
    return follow_up_id, events
