"""Canned replies: the composer's picker, the text a reply inserts, usage counts, and the
staff pages that manage them. Rules live in ``server.domain.canned``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server import i18n
from server.db import queries
from server.db.canned_tables import CannedReply
from server.db.engine import write_transaction
from server.db.tables import Group, User
from server.domain import canned as rules
from server.domain.actors import Actor
from server.domain.canned import CannedDraft, CannedFacts
from server.domain.errors import Forbidden, NotFound
from server.settings import get_settings

_COLUMNS = (
    CannedReply.id,
    CannedReply.title,
    CannedReply.body,
    CannedReply.language,
    CannedReply.reference,
    CannedReply.owner,
    CannedReply.group,
    CannedReply.archived,
    CannedReply.uses,
    CannedReply.updated_at,
)


def _facts(row: dict[str, Any]) -> CannedFacts:
    return CannedFacts(
        id=row["id"],
        language=row["language"],
        reference=row["reference"],
        title=row["title"],
        owner_id=row["owner"],
        group_id=row["group"],
    )


def _usable_where(actor: Actor) -> Any:
    """The SQL mirror of ``rules.can_use`` (live replies only)."""
    mine = CannedReply.owner == actor.id
    if actor.group_ids:
        mine = mine | (
            CannedReply.owner.is_null() & CannedReply.group.is_in(sorted(actor.group_ids))
        )
    return mine & (CannedReply.archived == False)  # noqa: E712


async def for_ticket(actor: Actor, ticket: dict[str, Any]) -> list[dict[str, Any]]:
    """The picker's replies for a ticket the actor sees (its page's row, which names the
    requester's language): one per subject, in the requester's language when there is one,
    else the actor's, else the others."""
    if not actor.is_staff:
        return []
    rows = await CannedReply.select(*_COLUMNS).where(_usable_where(actor))
    by_id = {row["id"]: row for row in rows}
    preference = rules.language_preference(
        ticket["requester_locale"] or "",
        i18n.get_locale(),
        supported=i18n.SUPPORTED,
    )
    usable = [_facts(row) for row in rows if rules.can_use(actor, _facts(row))]
    return [by_id[reply.id] for reply in rules.pick(usable, preference)]


async def expansion(actor: Actor, ticket_id: int, canned_id: int) -> str:
    """The reply's text for this ticket, placeholders filled. NotFound when the ticket is
    invisible or the reply is not the actor's to use."""
    ticket = await queries.visible_ticket(actor, ticket_id)
    row = await CannedReply.select(*_COLUMNS).where(CannedReply.id == canned_id).first()
    if row is None or row["archived"] or not rules.can_use(actor, _facts(row)):
        raise NotFound()
    me = await User.select(User.full_name).where(User.id == actor.id).first()
    values = {
        "requester": ticket["requester_name"],
        "ticket_number": f"#{ticket['id']}",
        "ticket_title": ticket["title"],
        "technician": me["full_name"] if me else "",
        "link": f"{get_settings().base_url}/tickets/{ticket['id']}",
    }
    return rules.expand(row["body"], values)


async def count_uses(actor: Actor, canned_ids: tuple[int, ...]) -> None:
    """One more use for each reply inserted in a sent answer (inside the answer's
    transaction). Ids the actor may not use are ignored: the list comes from the browser."""
    if not canned_ids:
        return
    await CannedReply.update({CannedReply.uses: CannedReply.uses + 1}).where(
        CannedReply.id.is_in(list(canned_ids)) & _usable_where(actor)
    )


# --- Management pages ----------------------------------------------------------------------


async def writable_groups(actor: Actor) -> list[dict[str, Any]]:
    """The groups the actor may write replies for: their own, or all for an admin."""
    query = Group.select(Group.id, Group.name).order_by(Group.name)
    if not actor.is_admin:
        if not actor.group_ids:
            return []
        query = query.where(Group.id.is_in(sorted(actor.group_ids)))
    return await query


async def manageable(actor: Actor, *, archived: bool = False) -> list[dict[str, Any]]:
    """The replies the actor manages, most used first."""
    if not actor.is_staff:
        raise NotFound()
    query = CannedReply.select(
        *_COLUMNS,
        CannedReply.owner.full_name.as_alias("owner_name"),
        CannedReply.group.name.as_alias("group_name"),
    ).where(CannedReply.archived == archived)
    if not actor.is_admin:
        query = query.where(_mine(actor))
    rows = await query.order_by(CannedReply.uses, ascending=False).order_by(CannedReply.title)
    return [row for row in rows if rules.can_manage(actor, _facts(row))]


def _mine(actor: Actor) -> Any:
    mine = CannedReply.owner == actor.id
    if actor.group_ids:
        mine = mine | CannedReply.group.is_in(sorted(actor.group_ids))
    return mine


async def get(actor: Actor, canned_id: int) -> dict[str, Any]:
    """One reply to edit; NotFound unless the actor manages it."""
    row = await CannedReply.select(*_COLUMNS).where(CannedReply.id == canned_id).first()
    if row is None or not rules.can_manage(actor, _facts(row)):
        raise NotFound()
    return row


async def _check_draft(actor: Actor, draft: CannedDraft) -> None:
    if not rules.can_manage(actor, draft):
        raise Forbidden()


async def create(actor: Actor, draft: CannedDraft) -> int:
    await _check_draft(actor, draft)
    async with write_transaction():
        inserted = await CannedReply.insert(
            CannedReply(
                title=draft.title,
                body=draft.body,
                language=draft.language,
                reference=draft.reference,
                owner=draft.owner_id,
                group=draft.group_id,
                created_by=actor.id,
            )
        ).returning(CannedReply.id)
    return inserted[0]["id"]


async def update(actor: Actor, canned_id: int, draft: CannedDraft) -> None:
    await _check_draft(actor, draft)
    async with write_transaction():
        await get(actor, canned_id)
        await CannedReply.update(
            {
                CannedReply.title: draft.title,
                CannedReply.body: draft.body,
                CannedReply.language: draft.language,
                CannedReply.reference: draft.reference,
                CannedReply.owner: draft.owner_id,
                CannedReply.group: draft.group_id,
                CannedReply.updated_at: datetime.now(UTC),
            }
        ).where(CannedReply.id == canned_id)


async def set_archived(actor: Actor, canned_id: int, archived: bool) -> None:
    async with write_transaction():
        await get(actor, canned_id)
        await CannedReply.update(
            {CannedReply.archived: archived, CannedReply.updated_at: datetime.now(UTC)}
        ).where(CannedReply.id == canned_id)
