"""What the new-ticket form offers from the catalogue, in the reader's language: the
categories open to the requester's establishment and, per category, its request types (the
system's "Unspecified" type is never offered)."""

from __future__ import annotations

from typing import Any

from server import i18n
from server.db import catalogue
from server.domain.actors import Actor


async def new_ticket_choices(actor: Actor) -> dict[str, Any]:
    language = i18n.get_locale()
    snap = await catalogue.snapshot()
    # The desk files for people of any establishment it serves: it sees every category.
    chain = None if actor.is_staff else snap.establishment_chain(actor.establishment_id)
    categories = await catalogue.localised_categories(language, chain)
    request_types = {
        c["id"]: [
            {"id": t["id"], "name": snap.type_name(t["id"], language)}
            for t in snap.types_of(c["id"])
        ]
        for c in categories
    }
    return {
        "categories": categories,
        "request_types": {k: v for k, v in request_types.items() if v},
    }
