"""People through the API: the desk looks up the requesters it serves; admins list, invite
and update accounts with the same use cases as /admin/users. For anyone else these routes do
not exist (404, as the admin pages). Conventions as in server.web.api_support."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from server.db.queries import contains, escape_like
from server.db.tables import User
from server.domain.errors import NotFound, ValidationFailed
from server.domain.organisation import parse_role
from server.domain.permissions import can_administer, can_look_up_person
from server.domain.text import N_
from server.domain.vocabulary import Role
from server.realtime.publish import publish_message, reach_changed
from server.services import account_life, accounts
from server.web.api_support import (
    READ_ERRORS,
    decode_cursor,
    error_responses,
    next_link,
    read_limit,
)
from server.web.identity import requires_account, requires_staff
from server.web.params import DbInt


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    requires_account(connection, _)
    if not can_administer(connection.user.actor):
        raise NotFoundException()


class PersonOut(msgspec.Struct):
    id: int
    email: str
    full_name: str
    role: Role
    establishment_id: int | None
    establishment: str | None
    active: bool


class PeoplePage(msgspec.Struct):
    items: list[PersonOut]
    next: str | None


class PersonCreate(msgspec.Struct, kw_only=True):
    email: str
    full_name: str
    role: str = Role.REQUESTER.value
    establishment_id: DbInt | None = None


class PersonUpdate(msgspec.Struct, kw_only=True):
    """Fields left out stay as they are; ``establishment_id`` null unlinks."""

    email: str | None = None
    role: str | None = None
    establishment_id: DbInt | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | None = None


_COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.active,
    User.establishment,
    User.establishment.code.as_alias("establishment_code"),
)


def _out(row: dict[str, Any]) -> PersonOut:
    return PersonOut(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        establishment_id=row["establishment"],
        establishment=row["establishment_code"],
        active=row["active"],
    )


async def _person(request: Request, user_id: int) -> PersonOut:
    row = await User.select(*_COLUMNS).where(User.id == user_id).first()
    actor = request.user.actor
    if row is None or not can_look_up_person(actor, Role(row["role"]), row["establishment"]):
        raise NotFound()
    return _out(row)


class PeopleApi(Controller):
    path = "/api/v1/people"
    guards = [requires_staff]
    tags = ["people"]
    security = [{"BearerToken": []}]

    @get("/", operation_id="ListPeople", responses=READ_ERRORS)
    async def list_people(self, request: Request) -> PeoplePage:
        """Accounts the caller may look up, by id (newest first). ``q`` matches name or
        e-mail; ``role`` and ``establishment`` (an id) filter; ``limit``, ``cursor``."""
        actor = request.user.actor
        q = request.query_params
        query = User.select(*_COLUMNS)
        if not can_administer(actor):
            query = query.where(
                (User.role == Role.REQUESTER.value)
                & User.establishment.is_in(sorted(actor.establishment_ids) or [0])
            )
        text = escape_like(q.get("q", "")[:200])
        if text:
            query = query.where(
                contains(User.full_name, f"%{text}%") | contains(User.email, f"%{text}%")
            )
        if q.get("role"):
            query = query.where(User.role == parse_role(q["role"]).value)
        if q.get("establishment"):
            raw = q["establishment"]
            if not raw.isdigit() or len(raw) > 9:
                raise ValidationFailed({"establishment": N_("Enter a whole number.")})
            query = query.where(User.establishment == int(raw))
        before = decode_cursor(q.get("cursor"))
        if before is not None:
            query = query.where(User.id < before)
        limit = read_limit(q.get("limit"))
        rows = await query.order_by(User.id, ascending=False).limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        following = next_link(request.url.path, q, rows[-1]["id"]) if more and rows else None
        return PeoplePage(items=[_out(r) for r in rows], next=following)

    @get("/{user_id:int}", operation_id="GetPerson", responses=READ_ERRORS)
    async def get_person(self, request: Request, user_id: FromPath[int]) -> PersonOut:
        return await _person(request, user_id)

    @post(
        "/",
        operation_id="InvitePerson",
        status_code=HTTP_201_CREATED,
        responses=error_responses(400, 401, 403, 404, 422),
        guards=[requires_admin],
    )
    async def invite(self, request: Request, data: JSONBody[PersonCreate]) -> PersonOut:
        """Admins: create the account and send its activation link (as /admin/users)."""
        admin = request.user.actor
        link = await account_life.invite(
            admin,
            email=data.email,
            full_name=data.full_name,
            role=parse_role(data.role),
            establishment_id=data.establishment_id,
        )
        await account_life.send_link(link)
        return await _person(request, link.user_id)

    @post(
        "/{user_id:int}",
        operation_id="UpdatePerson",
        status_code=200,
        responses=error_responses(400, 401, 403, 404, 422),
        guards=[requires_admin],
    )
    async def update(
        self, request: Request, user_id: FromPath[int], data: JSONBody[PersonUpdate]
    ) -> PersonOut:
        """Admins: change e-mail, role, establishment or whether the account is active."""
        admin = request.user.actor
        await _person(request, user_id)
        if data.email is not None:
            await account_life.change_email(admin, user_id, data.email)
        if data.role is not None:
            await account_life.change_role(admin, user_id, parse_role(data.role))
        if data.establishment_id is not msgspec.UNSET:
            await account_life.link_to_establishment(admin, user_id, data.establishment_id)
        if data.active is not None:
            if user_id == admin.id and not data.active:
                raise ValidationFailed({"active": N_("You cannot deactivate your own account.")})
            await accounts.set_active(user_id, data.active)
            if not data.active:
                await publish_message(request.app, {"kind": "user.deactivated", "user_id": user_id})
        if data.role is not None or data.establishment_id is not msgspec.UNSET:
            # Open pages reconnect at once and are checked again with the new reach.
            await reach_changed(request.app, [user_id])
        return await _person(request, user_id)
