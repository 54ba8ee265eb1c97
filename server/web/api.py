"""JSON API under /api/v1, authenticated by bearer tokens (``guichet token EMAIL``).

Bodies are typed msgspec structs (documented at /schema); the same domain parsers and use
cases as the HTML forms then apply, so both paths accept and refuse exactly the same things.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from server.db import queries
from server.db import sla as sla_db
from server.domain.forms import parse_follow_up, parse_new_ticket
from server.domain.permissions import can_see_private_notes
from server.domain.vocabulary import Environment, Priority, Source, Status, TicketType
from server.realtime.publish import publish
from server.services import attachments as attachments_service
from server.services import tickets as service
from server.services.privacy import screen_text
from server.views.ticket_list import filters_from_query
from server.web.attachments import UPLOAD_BODY_LIMIT, receive_and_attach
from server.web.identity import requires_account
from server.web.params import DbInt


class TicketCreate(msgspec.Struct, kw_only=True):
    title: str
    description: str
    type: TicketType = TicketType.INCIDENT
    priority: Priority | None = None
    category_id: DbInt | None = None
    environment: Environment = Environment.PRODUCTION
    contact_name: str = ""
    contact_phone: str = ""
    service_url: str = ""
    notify: bool = True
    shared: bool = True
    # When the text seems to hold patient identifiers: "redact" or "send" (422 otherwise).
    phi: str = ""


class FollowUpCreate(msgspec.Struct, kw_only=True):
    text: str
    private: bool = False
    minutes: DbInt = 0
    phi: str = ""


class StatusChange(msgspec.Struct, kw_only=True):
    status: Status
    version: DbInt
    solution: str = ""


class Assignment(msgspec.Struct, kw_only=True):
    version: DbInt
    assignee_id: DbInt | None = None
    group_id: DbInt | None = None


@dataclass
class AttachmentUpload:
    file: UploadFile
    # JSON list of {"x", "y", "width", "height"} in image pixels, burnt into the image.
    boxes: str = ""
    # For text files holding patient identifiers: "redact" or "send" (422 otherwise, with the
    # findings); with "redact", ``keep`` lists the start offsets of findings to leave as they
    # are (false positives) and ``mark`` more strings to hide, both as JSON lists.
    phi: str = ""
    keep: str = ""
    mark: str = ""


class AttachmentOut(msgspec.Struct):
    id: int
    url: str


class TicketSummary(msgspec.Struct):
    id: int
    title: str
    status: Status
    priority: Priority
    type: TicketType
    establishment: str
    category: str | None
    group: str | None
    assignee: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class TicketPage(msgspec.Struct):
    items: list[TicketSummary]
    total: int
    page: int
    pages: int


class FollowUpOut(msgspec.Struct):
    id: int
    author: str
    text: str
    private: bool
    minutes: int
    created_at: datetime


class SlaTargetOut(msgspec.Struct):
    due_at: datetime | None
    state: str  # ok | at_risk | breached | met
    met_at: datetime | None
    paused: bool


class SlaOut(msgspec.Struct):
    take_in_charge: SlaTargetOut
    resolve: SlaTargetOut


class TicketDetail(TicketSummary):
    description: str = ""
    requester: str = ""
    environment: Environment = Environment.PRODUCTION
    contact_name: str = ""
    contact_phone: str = ""
    service_url: str = ""
    notify: bool = True
    shared: bool = True
    solution: str = ""
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    follow_ups: list[FollowUpOut] = msgspec.field(default_factory=list)
    sla: SlaOut | None = None  # None: no service level applies


def _summary_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "status": Status(row["status"]),
        "priority": Priority(row["priority"]),
        "type": TicketType(row["ticket_type"]),
        "establishment": row["establishment_code"],
        "category": row["category_name"],
        "group": row["group_name"],
        "assignee": row["assignee_name"],
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def _detail(request: Request, ticket_id: int) -> TicketDetail:
    actor = request.user.actor
    row = await queries.visible_ticket(actor, ticket_id)
    follow_ups = [
        FollowUpOut(
            id=item["id"],
            author=item["author_name"],
            text=item["text"],
            private=item["private"],
            minutes=item["minutes"],
            created_at=item["created_at"],
        )
        for item in await queries.timeline(actor, ticket_id)
        if item["kind"] == "follow_up" and (not item["private"] or can_see_private_notes(actor))
    ]
    return TicketDetail(
        **_summary_fields(row),
        description=row["description"],
        requester=row["requester_name"],
        environment=Environment(row["environment"]),
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        service_url=row["service_url"],
        notify=row["notify"],
        shared=row["shared"],
        solution=row["solution"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        follow_ups=follow_ups,
        sla=_sla_out(await sla_db.ticket_sla(ticket_id)),
    )


def _sla_out(state: dict[str, Any] | None) -> SlaOut | None:
    if state is None:
        return None

    def target(item: dict[str, Any]) -> SlaTargetOut:
        return SlaTargetOut(
            due_at=item["due_at"], state=item["state"], met_at=item["met_at"], paused=item["paused"]
        )

    return SlaOut(take_in_charge=target(state["take"]), resolve=target(state["resolve"]))


class TicketApi(Controller):
    path = "/api/v1/tickets"
    guards = [requires_account]
    tags = ["tickets"]
    security = [{"BearerToken": []}]

    @get("/", operation_id="ListTickets")
    async def list_tickets(self, request: Request) -> TicketPage:
        """Tickets the caller may see. Query parameters: ``tab`` (open, closed, all),
        ``status`` (repeatable), ``priority``, ``category``, ``group``, ``assignee`` (me, none
        or an id), ``establishment``, ``q`` (text or number), ``sort`` (newest, oldest,
        urgent, updated), ``page``, ``scope`` (all or mine)."""
        filters = filters_from_query(request, default_scope="all")
        result = await queries.list_tickets(request.user.actor, filters)
        items = [TicketSummary(**_summary_fields(r)) for r in result.rows]
        return TicketPage(items=items, total=result.total, page=result.page, pages=result.pages)

    @post("/", operation_id="CreateTicket", status_code=HTTP_201_CREATED)
    async def create_ticket(self, request: Request, data: JSONBody[TicketCreate]) -> TicketDetail:
        parsed = parse_new_ticket(msgspec.structs.asdict(data))
        screened = screen_text({"title": parsed.title, "description": parsed.description}, data.phi)
        parsed = replace(parsed, **screened, source=Source.API)
        ticket_id, events = await service.open_ticket(request.user.actor, parsed)
        await publish(request.app, events)
        return await _detail(request, ticket_id)

    @get("/{ticket_id:int}", operation_id="GetTicket")
    async def get_ticket(self, request: Request, ticket_id: FromPath[int]) -> TicketDetail:
        return await _detail(request, ticket_id)

    @post("/{ticket_id:int}/follow-ups", operation_id="AddFollowUp", status_code=HTTP_201_CREATED)
    async def add_follow_up(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[FollowUpCreate]
    ) -> TicketDetail:
        actor = request.user.actor
        parsed = parse_follow_up(msgspec.structs.asdict(data), may_be_private=actor.is_staff)
        parsed = replace(parsed, **screen_text({"text": parsed.text}, data.phi))
        _id, events = await service.add_follow_up(actor, ticket_id, parsed)
        await publish(request.app, events)
        return await _detail(request, ticket_id)

    @post("/{ticket_id:int}/status", operation_id="ChangeStatus", status_code=200)
    async def change_status(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[StatusChange]
    ) -> TicketDetail:
        """Move the ticket; ``version`` is the one the caller saw (409 when stale)."""
        events = await service.change_status(
            request.user.actor, ticket_id, data.status, data.version, data.solution
        )
        await publish(request.app, events)
        return await _detail(request, ticket_id)

    @post(
        "/{ticket_id:int}/attachments",
        operation_id="AddAttachment",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_BODY_LIMIT,
    )
    async def add_attachment(
        self,
        request: Request,
        ticket_id: FromPath[int],
        data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> AttachmentOut:
        """Attach one file (multipart). Images are re-encoded without metadata, with the
        boxes burnt in; text is screened for patient identifiers."""
        review = attachments_service.TextReview.parse(data.keep, data.mark)
        body = await receive_and_attach(request, ticket_id, data.file, data.boxes, data.phi, review)
        return AttachmentOut(id=body["id"], url=body["url"])

    @post("/{ticket_id:int}/assign", operation_id="AssignTicket", status_code=200)
    async def assign(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[Assignment]
    ) -> TicketDetail:
        """Set the technician and group in charge (null clears them)."""
        events = await service.assign(
            request.user.actor,
            ticket_id,
            data.version,
            assignee_id=data.assignee_id,
            group_id=data.group_id,
        )
        await publish(request.app, events)
        return await _detail(request, ticket_id)
