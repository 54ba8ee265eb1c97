"""Intake use cases (issue 14): staff file a ticket for someone they serve (an existing
person or a contact created on the fly), the ticket's contact e-mail and phones, the intake
group of an establishment, and what the new-ticket form previews. The ticket page's intake
facts are read by ``server.db.intake.ticket_intake``."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from server.db import catalogue as catalogue_db
from server.db.engine import write_transaction
from server.db.intake import intake_group_of
from server.db.intake_tables import IntakeGroup, TicketIntake
from server.db.queries import category, contains, escape_like, ticket_access, visible_ticket
from server.db.tables import Establishment, Group, User
from server.domain.actors import Actor
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.forms import NewTicket
from server.domain.intake import ContactDetails, Requester, parse_contact_details
from server.domain.organisation import parse_email, parse_name
from server.domain.permissions import can_administer, can_manage, can_serve
from server.domain.text import N_
from server.domain.vocabulary import Role, Source
from server.services import catalogue, tickets

# The requester picker offers at most this many people per search.
PICKER_LIMIT = 20


def _phones_text(phones: tuple[str, ...]) -> str:
    return "\n".join(phones)


# -- who staff may file for --------------------------------------------------------------------


def _served_clause(actor: Actor) -> Any:
    """People of the establishments the actor serves (everyone with one, for an admin)."""
    if actor.role is Role.ADMIN:
        return User.establishment.is_not_null()
    return User.establishment.is_in(sorted(actor.establishment_ids) or [0])


async def find_requesters(actor: Actor, text: str) -> list[dict[str, Any]]:
    """Active people the actor may file a ticket for, matching ``text`` in their name or
    e-mail, with their establishment; at most PICKER_LIMIT."""
    if not (actor.active and actor.is_staff):
        raise Forbidden()
    words = escape_like(text)[:100]
    if len(words) < 2:
        return []
    pattern = f"%{words}%"
    return (
        await User.select(
            User.id,
            User.full_name,
            User.email,
            User.establishment,
            User.establishment.code.as_alias("establishment_code"),
            User.establishment.name.as_alias("establishment_name"),
        )
        .where(
            _served_clause(actor),
            User.active == True,  # noqa: E712 - Piccolo builds SQL from ==
            contains(User.full_name, pattern) | contains(User.email, pattern),
        )
        .order_by(User.full_name)
        .limit(PICKER_LIMIT)
    )


async def served_requester(actor: Actor, user_id: int) -> Requester:
    """The person, if the actor may file for them; anyone else is NotFound (a forged id
    learns nothing about who exists)."""
    row = (
        await User.select(User.id, User.establishment, User.active)
        .where(User.id == user_id)
        .first()
    )
    if row is None or not row["active"] or not can_serve(actor, row["establishment"]):
        raise NotFound()
    return Requester(id=row["id"], establishment_id=row["establishment"])


async def servable_establishments(actor: Actor) -> list[dict[str, Any]]:
    """Active establishments where the actor may create a contact."""
    query = Establishment.select(Establishment.id, Establishment.code, Establishment.name).where(
        Establishment.active == True  # noqa: E712
    )
    if actor.role is not Role.ADMIN:
        query = query.where(Establishment.id.is_in(sorted(actor.establishment_ids) or [0]))
    return await query.order_by(Establishment.name)


async def create_contact(actor: Actor, raw: Mapping[str, str]) -> Requester:
    """A person calling the desk who has no account yet: created on the fly, without a
    password (they cannot sign in until an administrator invites them), in an establishment
    the actor serves. Inside the caller's transaction."""
    errors: dict[str, str] = {}
    name = email = ""
    try:
        name = parse_name(raw.get("new_name", ""), "new_name")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        email = parse_email(raw.get("new_email", ""), "new_email")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    place = raw.get("new_establishment", "").strip()
    establishment_id = int(place) if place.isdigit() and len(place) < 10 else None
    usable = (
        establishment_id is not None
        and can_serve(actor, establishment_id)
        and await Establishment.exists().where(
            (Establishment.id == establishment_id) & (Establishment.active == True)  # noqa: E712
        )
    )
    if not usable:
        errors["new_establishment"] = N_("Choose one of the proposed values.")
    if not errors and await User.exists().where(User.email == email):
        errors["new_email"] = N_(
            "An account with this e-mail already exists: search for the person instead."
        )
    if errors:
        raise ValidationFailed(errors)
    assert establishment_id is not None
    row = await User.insert(
        User(
            email=email,
            full_name=name,
            role=Role.REQUESTER.value,
            establishment=establishment_id,
        )
    ).returning(User.id)
    return Requester(id=row[0]["id"], establishment_id=establishment_id)


async def file_ticket(
    actor: Actor,
    data: NewTicket,
    raw: Mapping[str, str],
) -> tuple[int, list[TicketEvent]]:
    """Open a ticket from the new-ticket form. Staff may name the requester (``requester_id``)
    or create one (``new_contact``); the contact e-mail and phones are kept with the ticket.
    Everything in one transaction: a refused form leaves nothing behind."""
    contact = parse_contact_details(raw)
    for_someone = raw.get("requester_id", "").strip() or raw.get("new_contact") == "1"
    if for_someone and not (actor.active and actor.is_staff):
        raise Forbidden()
    async with write_transaction():
        requester: Requester | None = None
        if raw.get("new_contact") == "1":
            requester = await create_contact(actor, raw)
        elif raw.get("requester_id", "").strip():
            chosen = raw["requester_id"].strip()
            if not chosen.isdigit() or len(chosen) > 9:
                raise NotFound()
            requester = await served_requester(actor, int(chosen))
            if requester.id == actor.id:
                requester = None  # staff filing for themself: the ordinary path
        ticket_id, events = await tickets.open_ticket(actor, data, requester=requester)
        if requester is not None or not contact.empty:
            await TicketIntake.insert(
                TicketIntake(
                    ticket=ticket_id,
                    filed_by=actor.id if requester is not None else None,
                    contact_email=contact.email,
                    phones=_phones_text(contact.phones),
                )
            )
    return ticket_id, events


# -- the ticket's contact details ------------------------------------------------------------


async def save_contact(actor: Actor, ticket_id: int, raw: Mapping[str, str]) -> ContactDetails:
    """Staff correct the contact e-mail and phones of a ticket they may manage."""
    contact = parse_contact_details(raw)
    async with write_transaction():
        row = await visible_ticket(actor, ticket_id)
        if not can_manage(actor, await ticket_access(row)):
            raise Forbidden()
        existing = await TicketIntake.exists().where(TicketIntake.ticket == ticket_id)
        if existing:
            await TicketIntake.update(
                {
                    TicketIntake.contact_email: contact.email,
                    TicketIntake.phones: _phones_text(contact.phones),
                }
            ).where(TicketIntake.ticket == ticket_id)
        else:
            await TicketIntake.insert(
                TicketIntake(
                    ticket=ticket_id,
                    contact_email=contact.email,
                    phones=_phones_text(contact.phones),
                )
            )
    return contact


# -- intake group of an establishment --------------------------------------------------------


async def set_intake_group(actor: Actor, establishment_id: int, group_id: int | None) -> None:
    """``None`` removes the establishment's own choice: it inherits its parent's again."""
    if not can_administer(actor):
        raise Forbidden()
    async with write_transaction():
        if not await Establishment.exists().where(Establishment.id == establishment_id):
            raise NotFound()
        if group_id is not None and not await Group.exists().where(Group.id == group_id):
            raise ValidationFailed({"intake_group_id": N_("Choose one of the proposed values.")})
        await IntakeGroup.delete().where(IntakeGroup.establishment == establishment_id)
        if group_id is not None:
            await IntakeGroup.insert(IntakeGroup(establishment=establishment_id, group=group_id))


async def own_intake_group(establishment_id: int) -> int | None:
    row = (
        await IntakeGroup.select(IntakeGroup.group)
        .where(IntakeGroup.establishment == establishment_id)
        .first()
    )
    return row["group"] if row else None


async def route_preview(
    actor: Actor,
    category_id: int | None,
    requester_id: int | None,
    language: str = "fr",
    request_type_id: int | None = None,
) -> dict[str, Any]:
    """What the new-ticket form shows when a category is chosen: the priority and the group
    the ticket would go to. Same rules as ``tickets.open_ticket``: the catalogue's routing
    (category, then its parents), else the intake group of the requester's establishment."""
    establishment_id = actor.establishment_id
    if requester_id is not None and actor.is_staff:
        # The picker's choice is checked again when the form is sent.
        with contextlib.suppress(NotFound):
            establishment_id = (await served_requester(actor, requester_id)).establishment_id
    cat = await category(category_id) if category_id is not None else None
    try:
        priority, group_id, _ = await catalogue.route_new_ticket(
            cat["id"] if cat else None, request_type_id, None, Source.WEB
        )
    except ValidationFailed:  # a type of another category: preview the category alone
        priority, group_id, _ = await catalogue.route_new_ticket(
            cat["id"] if cat else None, None, None, Source.WEB
        )
    by_intake = False
    if group_id is None and establishment_id is not None:
        group_id = await intake_group_of(establishment_id)
        by_intake = group_id is not None
    name = ""
    if group_id is not None:
        name = (await catalogue_db.snapshot()).group_name(group_id, language)
    return {"category": cat, "priority": priority, "group_name": name, "by_intake": by_intake}


async def form_context(actor: Actor, requester_raw: str) -> dict[str, Any]:
    """What the new-ticket form needs for staff: where they may create a contact, and the
    person already chosen (when the form comes back with an error)."""
    chosen = None
    raw = requester_raw.strip()
    if raw.isdigit() and len(raw) < 10:
        with contextlib.suppress(NotFound):
            person = await served_requester(actor, int(raw))
            chosen = (
                await User.select(
                    User.id,
                    User.full_name,
                    User.email,
                    User.establishment.code.as_alias("establishment_code"),
                    User.establishment.name.as_alias("establishment_name"),
                )
                .where(User.id == person.id)
                .first()
            )
    return {"servable": await servable_establishments(actor), "chosen_requester": chosen}


async def inherited_intake_name(establishment_id: int) -> str:
    """The intake group the establishment gets from above when it has none of its own."""
    parent = (
        await Establishment.select(Establishment.parent)
        .where(Establishment.id == establishment_id)
        .first()
    )
    if parent is None or parent["parent"] is None:
        return ""
    group_id = await intake_group_of(parent["parent"])
    if group_id is None:
        return ""
    row = await Group.select(Group.name).where(Group.id == group_id).first()
    return row["name"] if row else ""
