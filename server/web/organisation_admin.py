"""Admin pages for the organisation: establishments, groups and what they serve, people
(invitations, pending accounts, e-mail, role, establishment, groups, scopes, deactivation).

Plain forms, post/redirect/get; a refused change re-renders its page with the reasons (422)
and what was typed. These pages are a 404 for everyone but active admins.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from server.db import queries
from server.db.tables import Establishment, Group, User
from server.domain.catalogue import parse_group
from server.domain.errors import GuichetError, NotFound, ValidationFailed
from server.domain.organisation import parse_role
from server.domain.text import N_
from server.domain.vocabulary import Role
from server.realtime.publish import publish_message, reach_changed
from server.services import account_life, accounts, catalogue, intake, organisation, teams
from server.web.admin import requires_admin
from server.web.errors import field_messages, status_of
from server.web.params import form_dict

ADMIN = {"guards": [requires_admin], "include_in_schema": False}
# Changes to a person that change which tickets they see.
REACH = ("role", "establishment", "groups", "scope")


def _ids(form: Any, name: str) -> list[int]:
    raw = [str(v) for v in form.getall(name, [])]
    if any(not v.isdigit() or len(v) > 9 for v in raw):
        raise ValidationFailed({name: N_("Choose one of the proposed values.")})
    return [int(v) for v in raw]


def _optional_id(values: dict[str, str], name: str) -> int | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ValidationFailed({name: N_("Choose one of the proposed values.")})
    return int(raw)


@get("/admin", **ADMIN)
async def admin_home() -> Template:
    pending = await accounts.pending_count()
    return Template(template_name="admin/index.html", context={"pending": pending})


# Establishments -------------------------------------------------------------------------


async def _establishments_page(
    status: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> Template:
    return Template(
        template_name="admin/establishments.html",
        context={
            "rows": await organisation.establishments_as_tree(),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


@get("/admin/establishments", **ADMIN)
async def establishments() -> Template:
    return await _establishments_page()


@post("/admin/establishments", **ADMIN)
async def create_establishment(request: Request) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await organisation.save_establishment(request.user.actor, None, values)
    except GuichetError as exc:
        return await _establishments_page(status_of(exc), field_messages(exc), values)
    return Redirect(path="/admin/establishments", status_code=303)


async def _establishment_page(
    node_id: int,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Template:
    row = await Establishment.select().where(Establishment.id == node_id).first()
    if row is None:
        raise NotFoundException()
    return Template(
        template_name="admin/establishment.html",
        context={
            "row": row,
            "rows": await organisation.establishments_as_tree(),
            "errors": errors or {},
            "values": values
            or {
                "name": row["name"],
                "code": row["code"],
                "timezone": row["timezone"],
                "parent_id": str(row["parent"] or ""),
                "intake_group_id": str(await intake.own_intake_group(node_id) or ""),
            },
            "groups": await Group.select(Group.id, Group.name).order_by(Group.name),
            "inherited_intake": await intake.inherited_intake_name(node_id),
        },
        status_code=status,
    )


@get("/admin/establishments/{node_id:int}", **ADMIN)
async def establishment(node_id: FromPath[int]) -> Template:
    return await _establishment_page(node_id)


@post("/admin/establishments/{node_id:int}", **ADMIN)
async def update_establishment(request: Request, node_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await organisation.save_establishment(request.user.actor, node_id, values)
        if "intake_group_id" in values:
            raw = values["intake_group_id"]
            if raw and not (raw.isdigit() and len(raw) < 10):
                choose = N_("Choose one of the proposed values.")
                raise ValidationFailed({"intake_group_id": choose})
            await intake.set_intake_group(request.user.actor, node_id, int(raw) if raw else None)
    except GuichetError as exc:
        return await _establishment_page(node_id, status_of(exc), field_messages(exc), values)
    return Redirect(path="/admin/establishments", status_code=303)


@post("/admin/establishments/{node_id:int}/active", **ADMIN)
async def establishment_active(request: Request, node_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    await organisation.set_establishment_active(
        request.user.actor, node_id, values.get("active") == "1"
    )
    return Redirect(path=f"/admin/establishments/{node_id}", status_code=303)


# Groups ---------------------------------------------------------------------------------


async def _groups_page(
    status: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> Template:
    return Template(
        template_name="admin/groups.html",
        context={
            "groups": await organisation.groups_with_reach(),
            "all_groups": await queries.groups(),
            "errors": errors or {},
            "values": values or {"tier": "1"},
        },
        status_code=status,
    )


@get("/admin/groups", **ADMIN)
async def groups() -> Template:
    return await _groups_page()


@post("/admin/groups", **ADMIN)
async def create_group(request: Request) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        group_id = await teams.save_group(request.user.actor, None, parse_group(values))
    except GuichetError as exc:
        return await _groups_page(status_of(exc), field_messages(exc), values)
    return Redirect(path=f"/admin/groups/{group_id}", status_code=303)


async def _group_page(
    group_id: int,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Template:
    group = await Group.select().where(Group.id == group_id).first()
    if group is None:
        raise NotFoundException()
    members = await teams.members(group_id)
    member_ids = {m["id"] for m in members}
    return Template(
        template_name="admin/group.html",
        context={
            "group": group,
            "rows": await organisation.establishments_as_tree(),
            "served": await organisation.group_reach(group_id),
            "errors": errors or {},
            "values": values or await teams.group_values(group_id),
            "all_groups": [g for g in await queries.groups() if g["id"] != group_id],
            "members": members,
            "candidates": [t for t in await queries.technicians() if t["id"] not in member_ids],
            "history": await catalogue.history("group", group_id),
        },
        status_code=status,
    )


@get("/admin/groups/{group_id:int}", **ADMIN)
async def group(group_id: FromPath[int]) -> Template:
    return await _group_page(group_id)


@post("/admin/groups/{group_id:int}", **ADMIN)
async def update_group(request: Request, group_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        await teams.save_group(request.user.actor, group_id, parse_group(values))
    except NotFound:
        raise NotFoundException() from None
    except GuichetError as exc:
        return await _group_page(group_id, status_of(exc), field_messages(exc), values)
    return Redirect(path=f"/admin/groups/{group_id}", status_code=303)


@post("/admin/groups/{group_id:int}/members", **ADMIN)
async def add_group_member(request: Request, group_id: FromPath[int]) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        user_id = _optional_id(values, "user_id")
        if user_id is None:
            raise ValidationFailed({"user_id": N_("Choose one of the proposed values.")})
        await teams.add_member(request.user.actor, group_id, user_id)
    except NotFound:
        raise NotFoundException() from None
    except GuichetError as exc:
        return await _group_page(group_id, status_of(exc), field_messages(exc))
    # The new member's open pages reconnect and see the group's tickets.
    await reach_changed(request.app, [user_id])
    return Redirect(path=f"/admin/groups/{group_id}", status_code=303)


@post("/admin/groups/{group_id:int}/members/{user_id:int}/remove", **ADMIN)
async def remove_group_member(
    request: Request, group_id: FromPath[int], user_id: FromPath[int]
) -> Response[Any]:
    try:
        await teams.remove_member(request.user.actor, group_id, user_id)
    except NotFound:
        raise NotFoundException() from None
    await reach_changed(request.app, [user_id])
    return Redirect(path=f"/admin/groups/{group_id}", status_code=303)


@post("/admin/groups/{group_id:int}/reach", **ADMIN)
async def group_reach(request: Request, group_id: FromPath[int]) -> Response[Any]:
    form = await request.form()
    try:
        await organisation.set_group_reach(
            request.user.actor, group_id, _ids(form, "establishments")
        )
    except GuichetError as exc:
        return await _group_page(group_id, status_of(exc), field_messages(exc))
    await reach_changed(request.app, await organisation.members_of(group_id))
    return Redirect(path="/admin/groups", status_code=303)


# People ---------------------------------------------------------------------------------


async def _users_page(
    request: Request,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str = "",
) -> Template:
    pending_only = request.query_params.get("pending") == "1"
    query = User.select(
        User.id,
        User.email,
        User.full_name,
        User.role,
        User.active,
        User.organisation,
        User.establishment.code.as_alias("establishment_code"),
    ).order_by(User.full_name)
    if pending_only:
        # Accounts whose address is not verified yet are not pending (issue 14).
        query = query.where(
            User.establishment.is_null()
            & (User.role == Role.REQUESTER.value)
            & (User.active == True)  # noqa: E712
        )
    return Template(
        template_name="admin/users.html",
        context={
            "users": await query,
            "pending_only": pending_only,
            "rows": await organisation.establishments_as_tree(),
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
        },
        status_code=status,
    )


@get("/admin/users", **ADMIN)
async def users(request: Request) -> Template:
    return await _users_page(request)


@post("/admin/users", **ADMIN)
async def invite_user(request: Request) -> Response[Any]:
    values = form_dict(await request.form())
    try:
        link = await account_life.invite(
            request.user.actor,
            email=values.get("email", ""),
            full_name=values.get("full_name", ""),
            role=parse_role(values.get("role", "")),
            establishment_id=_optional_id(values, "establishment_id"),
        )
    except GuichetError as exc:
        return await _users_page(request, status_of(exc), field_messages(exc), values)
    sent = await account_life.send_link(link)
    return Redirect(
        path=f"/admin/users/{link.user_id}?sent={'1' if sent else '0'}", status_code=303
    )


async def _user_page(
    request: Request, user_id: int, status: int = 200, errors: dict[str, str] | None = None
) -> Template:
    user = await User.select().where(User.id == user_id).first()
    if user is None:
        raise NotFoundException()
    sent = request.query_params.get("sent")
    return Template(
        template_name="admin/user.html",
        context={
            "user": user,
            "rows": await organisation.establishments_as_tree(),
            "groups": await organisation.groups_with_reach(),
            "member_of": await organisation.membership_of(user_id),
            "scope": await organisation.scope_of(user_id),
            "errors": errors or {},
            "sent": sent,
        },
        status_code=status,
    )


@get("/admin/users/{user_id:int}", **ADMIN)
async def user_page(request: Request, user_id: FromPath[int]) -> Template:
    return await _user_page(request, user_id)


@post("/admin/users/{user_id:int}/{what:str}", **ADMIN)
async def change_user(
    request: Request, user_id: FromPath[int], what: FromPath[str]
) -> Response[Any]:
    """One form per aspect of the account: email, role, establishment, groups, scope,
    active, invite (a new activation link)."""
    form = await request.form()
    values = form_dict(form)
    admin = request.user.actor
    sent = ""
    try:
        if what == "email":
            await account_life.change_email(admin, user_id, values.get("email", ""))
        elif what == "role":
            await account_life.change_role(admin, user_id, parse_role(values.get("role", "")))
        elif what == "establishment":
            await account_life.link_to_establishment(
                admin, user_id, _optional_id(values, "establishment_id")
            )
        elif what == "groups":
            await organisation.set_membership(admin, user_id, _ids(form, "groups"))
        elif what == "scope":
            await organisation.set_scope(admin, user_id, _ids(form, "establishments"))
        elif what == "active":
            active = values.get("active") == "1"
            if user_id == admin.id and not active:
                raise ValidationFailed({"active": N_("You cannot deactivate your own account.")})
            await accounts.set_active(user_id, active)
            if not active:
                # Open pages of this person go dark at once, on every instance.
                await publish_message(request.app, {"kind": "user.deactivated", "user_id": user_id})
        elif what == "invite":
            sent = (
                "1"
                if await account_life.send_link(await account_life.reinvite(admin, user_id))
                else "0"
            )
        else:
            raise NotFoundException()
    except GuichetError as exc:
        return await _user_page(request, user_id, status_of(exc), field_messages(exc))
    if what in REACH:
        # Open pages reconnect at once and are checked again with the new reach.
        await reach_changed(request.app, [user_id])
    suffix = f"?sent={sent}" if sent else ""
    return Redirect(path=f"/admin/users/{user_id}{suffix}", status_code=303)


ROUTES = [
    admin_home,
    establishments,
    create_establishment,
    establishment,
    update_establishment,
    establishment_active,
    groups,
    create_group,
    group,
    update_group,
    add_group_member,
    remove_group_member,
    group_reach,
    users,
    invite_user,
    user_page,
    change_user,
]
