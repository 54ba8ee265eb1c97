"""Builders for test data, named after what they mean in the domain."""

from __future__ import annotations

import itertools
from typing import Any

from litestar.testing import AsyncTestClient

from server.db.tables import (
    Category,
    Establishment,
    Group,
    GroupEstablishment,
    GroupMember,
    SupervisorScope,
)
from server.domain.actors import Actor
from server.domain.forms import parse_new_ticket
from server.domain.vocabulary import Priority, Role
from server.services import accounts, tickets

PASSWORD = "correct horse battery"
_codes = itertools.count(1)


async def establishment(
    name: str = "CHU Test", code: str | None = None, parent: int | None = None
) -> int:
    code = code or f"E{next(_codes):02d}"[:3]
    row = await Establishment.insert(Establishment(name=name, code=code, parent=parent)).returning(
        Establishment.id
    )
    return row[0]["id"]


async def user(
    email: str,
    role: Role = Role.REQUESTER,
    establishment_id: int | None = None,
    name: str = "Test User",
) -> Actor:
    user_id = await accounts.create_user(
        email=email,
        full_name=name,
        password=PASSWORD,
        role=role,
        establishment_id=establishment_id,
    )
    return await reload(user_id)


async def reload(user_id: int) -> Actor:
    """The actor as a request would see it, reach (groups, served establishments) included."""
    actor = await accounts.actor_of(user_id)
    assert actor is not None
    return actor


async def group(
    name: str = "Support N1",
    tier: int = 1,
    members: tuple[int, ...] = (),
    serves: tuple[int, ...] = (),
) -> int:
    row = await Group.insert(Group(name=name, tier=tier)).returning(Group.id)
    for member in members:
        await GroupMember.insert(GroupMember(group=row[0]["id"], user=member))
    for establishment_id in serves:
        await GroupEstablishment.insert(
            GroupEstablishment(group=row[0]["id"], establishment=establishment_id)
        )
    return row[0]["id"]


async def scope(user_id: int, *establishment_ids: int) -> None:
    for establishment_id in establishment_ids:
        await SupervisorScope.insert(SupervisorScope(user=user_id, establishment=establishment_id))


async def category(
    name: str = "Incident de production",
    priority: Priority = Priority.HIGH,
    group_id: int | None = None,
) -> int:
    row = await Category.insert(
        Category(name=name, default_priority=priority.value, default_group=group_id)
    ).returning(Category.id)
    return row[0]["id"]


async def ticket(actor: Actor, **fields: Any) -> int:
    raw = {"title": "Imprimante hors ligne", "description": "Plus rien ne sort.", **fields}
    ticket_id, _ = await tickets.open_ticket(actor, parse_new_ticket(raw))
    return ticket_id


class World:
    """Two establishments, a requester in each, a colleague, a technician and a supervisor."""

    est_a: int
    est_b: int
    requester_a: Actor
    colleague_a: Actor
    requester_b: Actor
    tech: Actor
    supervisor: Actor
    group_id: int
    category_id: int


async def world() -> World:
    w = World()
    w.est_a = await establishment("CHU Anselme", "CHA")
    w.est_b = await establishment("Clinique des Bouleaux", "CLB")
    w.requester_a = await user("alice@chu-a.test", Role.REQUESTER, w.est_a, "Alice Martin")
    w.colleague_a = await user("colette@chu-a.test", Role.REQUESTER, w.est_a, "Colette Roy")
    w.requester_b = await user("bruno@clinique-b.test", Role.REQUESTER, w.est_b, "Bruno Petit")
    w.tech = await user("tech@desk.test", Role.TECHNICIAN, w.est_a, "Théo Tech")
    w.supervisor = await user("sup@desk.test", Role.SUPERVISOR, w.est_a, "Sarah Sup")
    # The technician's group serves both establishments and the supervisor watches both, so
    # the desk sees everything here; tests about reach build narrower worlds.
    w.group_id = await group("Applications (N2)", 2, (w.tech.id,), serves=(w.est_a, w.est_b))
    await scope(w.supervisor.id, w.est_a, w.est_b)
    w.tech = await reload(w.tech.id)
    w.supervisor = await reload(w.supervisor.id)
    w.category_id = await category("Incident de production", Priority.HIGH, w.group_id)
    return w


async def login(client: AsyncTestClient, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form (CSRF cookie, then post)."""
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "next": "/tickets"},
        headers=csrf_header(client),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf_header(client: AsyncTestClient) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("guichet_csrf", "")}
