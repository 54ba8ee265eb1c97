"""JSON API for links between tickets, merge, child tickets and bulk actions (/api/v1).

The same parsers and use cases as the HTML forms, and the same error format as the rest of
the API (``server.web.errors``): an invisible ticket is a 404 exactly like a missing one.
Changes are reserved to the desk; anyone may list the links of a ticket they see.
"""

from __future__ import annotations

from dataclasses import replace

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from server.db import queries
from server.domain.bulk import BULK_LIMIT, BulkAction, parse_bulk_change, parse_ticket_ids
from server.domain.forms import parse_new_ticket
from server.domain.links import Relation
from server.domain.vocabulary import Priority, Status
from server.i18n import gettext
from server.realtime.publish import publish
from server.services import bulk as bulk_service
from server.services import links as service
from server.services import merge as merge_service
from server.services.privacy import screen_text
from server.web.api_support import READ_ERRORS, documented
from server.web.identity import requires_account, requires_staff
from server.web.params import DbInt


class LinkOut(msgspec.Struct):
    id: int
    relation: Relation  # what the other ticket is to this one
    ticket_id: int
    visible: bool
    title: str | None  # None when the caller may not see the other ticket
    status: Status | None


class LinksOut(msgspec.Struct):
    items: list[LinkOut]
    # Duplicates merged into this ticket that the caller may see (their follow-ups are read
    # on those tickets).
    merged_from: list[int]


class LinkCreate(msgspec.Struct, kw_only=True):
    relation: Relation
    other_id: DbInt


class LinkRemove(msgspec.Struct, kw_only=True):
    link_id: DbInt


class MergeRequest(msgspec.Struct, kw_only=True):
    into: DbInt  # the ticket that is kept


class MergeOut(msgspec.Struct):
    duplicate_id: int
    kept_id: int


class ChildCreate(msgspec.Struct, kw_only=True):
    title: str
    description: str
    group_id: DbInt | None = None
    phi: str = ""


class ChildOut(msgspec.Struct):
    id: int
    parent_id: int


class BulkRequest(msgspec.Struct, kw_only=True):
    ids: list[DbInt]
    action: BulkAction
    group_id: DbInt | None = None
    assignee_id: DbInt | None = None
    status: Status | None = None
    solution: str = ""
    priority: Priority | None = None
    category_id: DbInt | None = None
    parent_id: DbInt | None = None


class BulkRefusal(msgspec.Struct):
    id: int
    reason: str  # in the caller's language


class BulkOut(msgspec.Struct):
    changed: list[int]
    unchanged: list[int]
    refused: list[BulkRefusal]


async def _links(request: Request, ticket_id: int) -> LinksOut:
    actor = request.user.actor
    await queries.visible_ticket(actor, ticket_id)
    view = await service.links_view(actor, ticket_id)
    items = [
        LinkOut(
            id=i["id"],
            relation=Relation(i["relation"]),
            ticket_id=i["other_id"],
            visible=i["visible"],
            title=i["title"] if i["visible"] else None,
            status=Status(i["status"]) if i["visible"] else None,
        )
        for i in view["items"]
    ]
    return LinksOut(items=items, merged_from=[m["id"] for m in view["merged"]])


@documented(READ_ERRORS)
class RelationsApi(Controller):
    path = "/api/v1/tickets"
    guards = [requires_account]
    tags = ["links"]
    security = [{"BearerToken": []}]

    @get("/{ticket_id:int}/links", operation_id="ListLinks")
    async def list_links(self, request: Request, ticket_id: FromPath[int]) -> LinksOut:
        """Tickets linked to this one; one the caller may not see has no title or status."""
        return await _links(request, ticket_id)

    @post(
        "/{ticket_id:int}/links",
        operation_id="AddLink",
        status_code=HTTP_201_CREATED,
        guards=[requires_staff],
    )
    async def add_link(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[LinkCreate]
    ) -> LinksOut:
        """Say what ``other_id`` is to this ticket (related, duplicate_of, duplicated_by,
        child_of, parent_of). Loops, self-links and a second parent are refused (422)."""
        events = await service.add_link(request.user.actor, ticket_id, data.other_id, data.relation)
        await publish(request.app, events)
        return await _links(request, ticket_id)

    @post(
        "/{ticket_id:int}/links/remove",
        operation_id="RemoveLink",
        status_code=200,
        guards=[requires_staff],
    )
    async def remove_link(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[LinkRemove]
    ) -> LinksOut:
        events = await service.remove_link(request.user.actor, ticket_id, data.link_id)
        await publish(request.app, events)
        return await _links(request, ticket_id)

    @post(
        "/{ticket_id:int}/merge",
        operation_id="MergeTicket",
        status_code=200,
        guards=[requires_staff],
    )
    async def merge(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[MergeRequest]
    ) -> MergeOut:
        """Close this ticket as a duplicate of ``into``; its requester and followers follow
        ``into`` from then on (when they may see it) and are told."""
        events = await merge_service.merge(request.user.actor, ticket_id, data.into)
        await publish(request.app, events)
        return MergeOut(duplicate_id=ticket_id, kept_id=data.into)

    @post(
        "/{ticket_id:int}/children",
        operation_id="OpenChildTicket",
        status_code=HTTP_201_CREATED,
        guards=[requires_staff],
    )
    async def open_child(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[ChildCreate]
    ) -> ChildOut:
        """A follow-on request: a new ticket, child of this one, for the same requester."""
        parsed = parse_new_ticket({"title": data.title, "description": data.description})
        screened = screen_text({"title": parsed.title, "description": parsed.description}, data.phi)
        child_id, events = await service.open_child(
            request.user.actor, ticket_id, replace(parsed, **screened), data.group_id
        )
        await publish(request.app, events)
        return ChildOut(id=child_id, parent_id=ticket_id)


@documented(READ_ERRORS)
class BulkApi(Controller):
    path = "/api/v1/bulk"
    guards = [requires_staff]
    tags = ["tickets"]
    security = [{"BearerToken": []}]

    @post("/", operation_id="BulkChange", status_code=200)
    async def apply(self, request: Request, data: JSONBody[BulkRequest]) -> BulkOut:
        """Apply one change to each ticket of ``ids`` (at most 500), each through the same
        use case as a single change: the answer lists what changed and each refusal."""
        raw = {
            k: "" if v is None else str(v.value if hasattr(v, "value") else v)
            for k, v in msgspec.structs.asdict(data).items()
            if k != "ids"
        }
        change = parse_bulk_change(raw)
        if change.solution:
            screened = screen_text({"solution": change.solution}, "")
            change = replace(change, solution=screened["solution"])
        ids = parse_ticket_ids([str(i) for i in data.ids[:BULK_LIMIT]])
        outcome = await bulk_service.apply(request.user.actor, ids, change)
        await publish(request.app, outcome.events)
        return BulkOut(
            changed=outcome.changed,
            unchanged=outcome.unchanged,
            refused=[
                BulkRefusal(id=r.ticket_id, reason=gettext(r.message)) for r in outcome.refused
            ],
        )
