"""Routing with the catalogue, through the real use cases: a request type's overrides, the
"Unspecified" type of mailed tickets (never offered to people), escalation to the group's
next tier, and changes that take effect at once (configuration generation)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.db import catalogue as read
from server.db import config_cache
from server.db.catalogue_tables import RequestType
from server.db.tables import Ticket
from server.domain.catalogue import parse_category, parse_group, parse_request_type
from server.domain.errors import ValidationFailed
from server.domain.forms import parse_new_ticket
from server.domain.vocabulary import Source
from server.services import catalogue, teams, tickets
from tests import factories


def new_ticket(**fields: str):
    return parse_new_ticket({"title": "Écran noir", "description": "Rien ne s'affiche", **fields})


async def test_a_mailed_ticket_gets_the_unspecified_type_which_nobody_may_choose() -> None:
    w = await factories.world()
    mailed = replace(new_ticket(), source=Source.MAIL)
    ticket_id, _ = await tickets.open_ticket(w.requester_a, mailed)
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    unspecified = await RequestType.select().where(RequestType.id == row["request_type"]).first()
    assert unspecified["system"] and unspecified["code"] == "unspecified"
    snap = await read.snapshot()
    assert snap.type_name(unspecified["id"], "en") == "Unspecified"
    assert snap.type_name(unspecified["id"], "ru") == "Не указан"
    with pytest.raises(ValidationFailed) as refused:
        await tickets.open_ticket(
            w.requester_a,
            new_ticket(category_id=str(w.category_id), request_type_id=str(unspecified["id"])),
        )
    assert set(refused.value.errors) == {"request_type_id"}
    web_ticket, _ = await tickets.open_ticket(w.requester_a, new_ticket())
    assert (await Ticket.select().where(Ticket.id == web_ticket).first())["request_type"] is None


async def test_routing_follows_the_parent_category_and_changes_at_once() -> None:
    w = await factories.world()
    parent = await catalogue.save_category(
        None, None, parse_category({"name": "Applications", "default_group_id": str(w.group_id)})
    )
    child = await catalogue.save_category(
        None, None, parse_category({"name": "Agenda", "parent_id": str(parent)})
    )
    first, _ = await tickets.open_ticket(w.requester_a, new_ticket(category_id=str(child)))
    assert (await Ticket.select().where(Ticket.id == first).first())["assigned_group"] == w.group_id

    other = await factories.group("Agenda (N2)", 2)
    before = await config_cache.generation()
    kind = await catalogue.save_request_type(
        None, child, None, parse_request_type({"name": "Créneau", "group_id": str(other)})
    )
    assert await config_cache.generation() != before  # every instance reloads the catalogue
    second, _ = await tickets.open_ticket(
        w.requester_a, new_ticket(category_id=str(child), request_type_id=str(kind))
    )
    assert (await Ticket.select().where(Ticket.id == second).first())["assigned_group"] == other
    await catalogue.set_request_type_active(None, child, kind, False)
    with pytest.raises(ValidationFailed):  # an archived type is no longer offered
        await tickets.open_ticket(
            w.requester_a, new_ticket(category_id=str(child), request_type_id=str(kind))
        )


async def test_escalation_without_a_chosen_group_goes_to_the_next_tier() -> None:
    w = await factories.world()
    n1 = await teams.save_group(
        None, None, parse_group({"name": "N1", "tier": "1", "next_tier_id": str(w.group_id)})
    )
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.assign(w.tech, ticket_id, 1, assignee_id=None, group_id=n1)
    version = (await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first())["version"]
    await tickets.escalate(w.tech, ticket_id, version, group_id=0, reason="Besoin du N2")
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    assert row["assigned_group"] == w.group_id
