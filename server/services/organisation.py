"""Admin changes to the organisation: establishments, what groups serve, supervisors'
scopes, group membership. Each change is one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.db import queries
from server.db.engine import write_transaction
from server.db.tables import (
    Establishment,
    Group,
    GroupEstablishment,
    GroupMember,
    SupervisorScope,
    User,
)
from server.domain.actors import Actor
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.organisation import parse_establishment
from server.domain.permissions import can_administer
from server.domain.text import N_
from server.domain.vocabulary import Role


def _admin_only(actor: Actor) -> None:
    if not can_administer(actor):
        raise Forbidden()


async def tree() -> dict[int, int | None]:
    rows = await Establishment.select(Establishment.id, Establishment.parent)
    return {r["id"]: r["parent"] for r in rows}


async def establishments_as_tree() -> list[dict[str, Any]]:
    """Every establishment, parents before children, each with its depth (for indenting);
    read from the configuration cache (establishments bump its generation)."""
    rows = await queries.establishments()
    children: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row)
    ordered: list[dict[str, Any]] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in children.get(parent, []):
            ordered.append({**row, "depth": depth})
            walk(row["id"], depth + 1)

    walk(None, 0)
    return ordered


async def save_establishment(actor: Actor, node_id: int | None, raw: Mapping[str, str]) -> int:
    _admin_only(actor)
    async with write_transaction():
        parent_of = await tree()
        if node_id is not None and node_id not in parent_of:
            raise NotFound()
        form = parse_establishment(raw, node_id, parent_of)
        clash = Establishment.code == form.code
        if node_id is not None:
            clash = clash & (Establishment.id != node_id)
        if await Establishment.exists().where(clash):
            raise ValidationFailed({"code": N_("Another establishment already uses this code.")})
        values = {
            Establishment.name: form.name,
            Establishment.code: form.code,
            Establishment.parent: form.parent_id,
            Establishment.timezone: form.timezone,
        }
        if node_id is None:
            row = await Establishment.insert(
                Establishment(
                    name=form.name, code=form.code, parent=form.parent_id, timezone=form.timezone
                )
            ).returning(Establishment.id)
            return row[0]["id"]
        await Establishment.update(values).where(Establishment.id == node_id)
        return node_id


async def set_establishment_active(actor: Actor, node_id: int, active: bool) -> None:
    """A deactivated establishment keeps its tickets and history; its people can no longer
    be linked to it and it leaves the pickers."""
    _admin_only(actor)
    async with write_transaction():
        if not await Establishment.exists().where(Establishment.id == node_id):
            raise NotFound()
        await Establishment.update({Establishment.active: active}).where(
            Establishment.id == node_id
        )


async def _known(ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = await Establishment.select(Establishment.id).where(Establishment.id.is_in(wanted))
    if len(rows) != len(wanted):
        raise ValidationFailed({"establishments": N_("Choose one of the proposed values.")})
    return wanted


async def set_group_reach(actor: Actor, group_id: int, establishment_ids: Iterable[int]) -> None:
    _admin_only(actor)
    async with write_transaction():
        if not await Group.exists().where(Group.id == group_id):
            raise NotFound()
        wanted = await _known(establishment_ids)
        await GroupEstablishment.delete().where(GroupEstablishment.group == group_id)
        if wanted:
            await GroupEstablishment.insert(
                *[GroupEstablishment(group=group_id, establishment=e) for e in wanted]
            )


async def group_reach(group_id: int) -> list[int]:
    rows = await GroupEstablishment.select(GroupEstablishment.establishment).where(
        GroupEstablishment.group == group_id
    )
    return sorted(r["establishment"] for r in rows)


async def groups_with_reach() -> list[dict[str, Any]]:
    groups = await Group.select().order_by(Group.tier).order_by(Group.name)
    served = await GroupEstablishment.select(
        GroupEstablishment.group, GroupEstablishment.establishment.code.as_alias("code")
    )
    members = await GroupMember.select(GroupMember.group)
    for g in groups:
        g["codes"] = sorted(s["code"] for s in served if s["group"] == g["id"])
        g["members"] = sum(1 for m in members if m["group"] == g["id"])
    return groups


async def set_scope(actor: Actor, user_id: int, establishment_ids: Iterable[int]) -> None:
    _admin_only(actor)
    async with write_transaction():
        row = await User.select(User.role).where(User.id == user_id).first()
        if row is None:
            raise NotFound()
        wanted = await _known(establishment_ids)
        if wanted and row["role"] not in (Role.SUPERVISOR.value, Role.ADMIN.value):
            raise ValidationFailed(
                {"establishments": N_("Only supervisors have a scope of establishments.")}
            )
        await SupervisorScope.delete().where(SupervisorScope.user == user_id)
        if wanted:
            await SupervisorScope.insert(
                *[SupervisorScope(user=user_id, establishment=e) for e in wanted]
            )


async def scope_of(user_id: int) -> list[int]:
    rows = await SupervisorScope.select(SupervisorScope.establishment).where(
        SupervisorScope.user == user_id
    )
    return sorted(r["establishment"] for r in rows)


async def set_membership(actor: Actor, user_id: int, group_ids: Iterable[int]) -> None:
    _admin_only(actor)
    async with write_transaction():
        row = await User.select(User.role).where(User.id == user_id).first()
        if row is None:
            raise NotFound()
        wanted = sorted(set(group_ids))
        if wanted:
            found = await Group.select(Group.id).where(Group.id.is_in(wanted))
            if len(found) != len(wanted):
                raise ValidationFailed({"groups": N_("Choose one of the proposed values.")})
            if row["role"] == Role.REQUESTER.value:
                raise ValidationFailed({"groups": N_("Only the desk belongs to groups.")})
        await GroupMember.delete().where(GroupMember.user == user_id)
        if wanted:
            await GroupMember.insert(*[GroupMember(group=g, user=user_id) for g in wanted])


async def membership_of(user_id: int) -> list[int]:
    rows = await GroupMember.select(GroupMember.group).where(GroupMember.user == user_id)
    return sorted(r["group"] for r in rows)


async def members_of(group_id: int) -> list[int]:
    rows = await GroupMember.select(GroupMember.user).where(GroupMember.group == group_id)
    return [row["user"] for row in rows]
