"""Admin changes to technician groups (issue 14): name and description per language, tier,
the team's e-mail address, the "next tier" escalations go to, and members. Each change is one
transaction and is appended to the catalogue history (actor None: the command line)."""

from __future__ import annotations

from typing import Any

from server.db.engine import write_transaction
from server.db.tables import Group, GroupMember, User
from server.domain.actors import Actor
from server.domain.catalogue import DEFAULT_LANGUAGE, OTHER_LANGUAGES, GroupForm
from server.domain.errors import NotFound, ValidationFailed
from server.domain.text import N_
from server.domain.vocabulary import Role
from server.services.catalogue import (
    admin_only,
    name_of,
    record_change,
    set_translations,
    translations,
)


async def save_group(actor: Actor | None, group_id: int | None, form: GroupForm) -> int:
    admin_only(actor)
    async with write_transaction():
        before: dict[str, Any] = {}
        if group_id is not None:
            found = await Group.select().where(Group.id == group_id).first()
            if found is None:
                raise NotFound()
            before = found
        errors: dict[str, str] = {}
        clash = Group.name == form.names[DEFAULT_LANGUAGE]
        if group_id is not None:
            clash = clash & (Group.id != group_id)
        if await Group.exists().where(clash):
            errors["name"] = N_("Another group already has this name.")
        if form.next_tier_id is not None:
            if form.next_tier_id == group_id:
                errors["next_tier_id"] = N_("A group cannot escalate to itself.")
            elif not await Group.exists().where(Group.id == form.next_tier_id):
                errors["next_tier_id"] = N_("Choose one of the proposed values.")
        if errors:
            raise ValidationFailed(errors)
        values = {
            Group.name: form.names[DEFAULT_LANGUAGE],
            Group.description: form.descriptions[DEFAULT_LANGUAGE],
            Group.tier: form.tier,
            Group.email: form.email,
            Group.next_tier: form.next_tier_id,
        }
        if group_id is None:
            row = await Group.insert(
                Group(**{column._meta.name: value for column, value in values.items()})
            ).returning(Group.id)
            group_id = row[0]["id"]
            created = [("created", "", form.names[DEFAULT_LANGUAGE])]
            await record_change("group", group_id, actor, created)
        else:
            await Group.update(values).where(Group.id == group_id)
            changes = []
            for column, value in values.items():
                name = column._meta.name
                old = before.get(name)
                if old == value:
                    continue
                if column is Group.next_tier:
                    changes.append((name, await name_of(Group, old), await name_of(Group, value)))
                else:
                    changes.append((name, old, value))
            await record_change("group", group_id, actor, changes)
        assert group_id is not None
        await set_translations("group", group_id, "name", form.names, actor)
        await set_translations("group", group_id, "description", form.descriptions, actor)
        return group_id


async def members(group_id: int) -> list[dict[str, Any]]:
    return (
        await GroupMember.select(
            GroupMember.user.id.as_alias("id"),
            GroupMember.user.full_name.as_alias("full_name"),
            GroupMember.user.email.as_alias("email"),
        )
        .where(GroupMember.group == group_id)
        .order_by(GroupMember.user.full_name)
    )


async def add_member(actor: Actor | None, group_id: int, user_id: int) -> None:
    admin_only(actor)
    async with write_transaction():
        if not await Group.exists().where(Group.id == group_id):
            raise NotFound()
        user = await User.select(User.full_name, User.role).where(User.id == user_id).first()
        if user is None or user["role"] == Role.REQUESTER.value:
            raise ValidationFailed({"user_id": N_("Only technicians can join a group.")})
        if await GroupMember.exists().where(
            (GroupMember.group == group_id) & (GroupMember.user == user_id)
        ):
            return
        await GroupMember.insert(GroupMember(group=group_id, user=user_id))
        await record_change("group", group_id, actor, [("member", "", user["full_name"])])


async def remove_member(actor: Actor | None, group_id: int, user_id: int) -> None:
    admin_only(actor)
    async with write_transaction():
        if not await Group.exists().where(Group.id == group_id):
            raise NotFound()
        user = await User.select(User.full_name).where(User.id == user_id).first()
        deleted = await GroupMember.delete().where(
            (GroupMember.group == group_id) & (GroupMember.user == user_id)
        ).returning(GroupMember.id)
        if deleted and user is not None:
            await record_change("group", group_id, actor, [("member", user["full_name"], "")])



async def group_values(group_id: int) -> dict[str, str]:
    row = await Group.select().where(Group.id == group_id).first()
    if row is None:
        raise NotFound()
    texts = await translations("group", group_id)
    values = {
        "name": row["name"],
        "description": row["description"],
        "tier": str(row["tier"]),
        "email": row["email"],
        "next_tier_id": str(row["next_tier"] or ""),
    }
    for language in OTHER_LANGUAGES:
        values[f"name_{language}"] = texts.get("name", {}).get(language, "")
        values[f"description_{language}"] = texts.get("description", {}).get(language, "")
    return values
