"""JSON API under /api/v1, authenticated by bearer tokens (``guichet token EMAIL``).

Bodies are typed msgspec structs (documented at /schema); the same domain parsers and use
cases as the HTML forms then apply, so both paths accept and refuse exactly the same things.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, HeaderParameter, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_201_CREATED

from server.db import queries
from server.db import sla as sla_db
from server.db.api_listing import ticket_keyset
from server.domain.errors import ValidationFailed
from server.domain.forms import parse_follow_up, parse_new_ticket
from server.domain.text import N_
from server.domain.vocabulary import Environment, Priority, Source, Status, TicketType
from server.realtime.publish import publish
from server.services import attachments as attachments_service
from server.services import following
from server.services import tickets as service
from server.services.privacy import screen_text
from server.views.ticket_list import filters_from_query
from server.web.api_support import (
    READ_ERRORS,
    WRITE_ERRORS,
    decode_cursor,
    etag,
    expected_version,
    next_link,
    read_limit,
    stale_as,
)
from server.web.attachments import UPLOAD_BODY_LIMIT, receive_and_attach, serve_download
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
    # The version the caller saw, when not sent as If-Match (see server.web.api_support).
    version: DbInt | None = None
    solution: str = ""


class Assignment(msgspec.Struct, kw_only=True):
    version: DbInt | None = None
    assignee_id: DbInt | None = None
    group_id: DbInt | None = None


class Take(msgspec.Struct, kw_only=True):
    version: DbInt | None = None


class FieldsChange(msgspec.Struct, kw_only=True):
    version: DbInt | None = None
    priority: Priority | None = None
    category_id: DbInt | None = None
    type: TicketType | None = None


class SharedChange(msgspec.Struct, kw_only=True):
    shared: bool
    version: DbInt | None = None


class Escalation(msgspec.Struct, kw_only=True):
    group_id: DbInt
    reason: str
    version: DbInt | None = None


class WatchChange(msgspec.Struct, kw_only=True):
    watch: bool


class ShareCreate(msgspec.Struct, kw_only=True):
    email: str


class ShareOut(msgspec.Struct):
    user_id: int
    full_name: str
    email: str


class AttachmentItem(msgspec.Struct):
    id: int
    filename: str
    kind: str
    size: int
    uploader: str
    created_at: datetime
    url: str


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
    # The next page's URL (same filters, a cursor), or null on the last page.
    next: str | None


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


async def _detail(request: Request, ticket_id: int, *, new: bool = False) -> TicketDetail:
    """``new``: the ticket was just created, with no follow-up to read."""
    actor = request.user.actor
    row = await queries.visible_ticket(actor, ticket_id)
    follow_ups = [] if new else [
        FollowUpOut(
            id=item["id"],
            author=item["author_name"],
            text=item["text"],
            private=item["private"],
            minutes=item["minutes"],
            created_at=item["created_at"],
        )
        for item in sorted(
            await queries.ticket_follow_ups(actor, ticket_id),
            key=lambda item: (item["created_at"], item["id"]),
        )
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


async def _detail_response(
    request: Request, ticket_id: int, status: int = 200, *, new: bool = False
) -> Response[TicketDetail]:
    detail = await _detail(request, ticket_id, new=new)
    return Response(content=detail, status_code=status, headers={"ETag": etag(detail.version)})


async def _versioned_write(
    request: Request,
    ticket_id: int,
    if_match: str | None,
    body_version: int | None,
    change: Callable[[int], Awaitable[list[Any]]],
) -> Response[TicketDetail]:
    """The shape of every versioned ticket write: the version it is based on (If-Match, else
    the body's), the use case under that version, its events published, the new detail."""
    expected = expected_version(if_match, body_version)
    async with stale_as(expected):
        events = await change(expected.version)
    await publish(request.app, events)
    return await _detail_response(request, ticket_id)


def _updated_since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed({"updated_since": N_("This value is not valid.")}) from None
    # A moment without offset is read as UTC, like every stored timestamp.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _shares(request: Request, ticket_id: int) -> list[ShareOut]:
    await queries.visible_ticket(request.user.actor, ticket_id)
    return [
        ShareOut(user_id=r["user"], full_name=r["full_name"], email=r["email"])
        for r in await following.shares(ticket_id)
    ]


IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", required=False, description='The ETag read, e.g. "3".'),
]


class TicketApi(Controller):
    """Tickets; conventions (errors, versions, pages) in server.web.api_support."""

    path = "/api/v1/tickets"
    guards = [requires_account]
    tags = ["tickets"]
    security = [{"BearerToken": []}]

    @get("/", operation_id="ListTickets", responses=READ_ERRORS)
    async def list_tickets(self, request: Request) -> TicketPage:
        """Tickets the caller may see, newest first, one keyset page at a time (follow
        ``next``). Query parameters: ``tab`` (open, closed, all), ``status`` (repeatable),
        ``priority``, ``category``, ``group``, ``assignee`` (me, none or an id),
        ``establishment`` (with the establishments below it), ``q`` (text or number),
        ``scope`` (all or mine), ``updated_since`` (ISO 8601), ``limit`` (1..100),
        ``cursor`` (from ``next``)."""
        q = request.query_params
        filters = filters_from_query(request, default_scope="all")
        rows, more = await ticket_keyset(
            request.user.actor,
            filters,
            before_id=decode_cursor(q.get("cursor")),
            updated_since=_updated_since(q.get("updated_since")),
            limit=read_limit(q.get("limit")),
        )
        items = [TicketSummary(**_summary_fields(r)) for r in rows]
        following = next_link(request.url.path, q, rows[-1]["id"]) if more and rows else None
        return TicketPage(items=items, next=following)

    @post("/", operation_id="CreateTicket", status_code=HTTP_201_CREATED, responses=READ_ERRORS)
    async def create_ticket(
        self, request: Request, data: JSONBody[TicketCreate]
    ) -> Response[TicketDetail]:
        parsed = parse_new_ticket(msgspec.structs.asdict(data))
        screened = screen_text({"title": parsed.title, "description": parsed.description}, data.phi)
        parsed = replace(parsed, **screened, source=Source.API)
        ticket_id, events = await service.open_ticket(request.user.actor, parsed)
        await publish(request.app, events)
        return await _detail_response(request, ticket_id, HTTP_201_CREATED, new=True)

    @get("/{ticket_id:int}", operation_id="GetTicket", responses=READ_ERRORS)
    async def get_ticket(
        self, request: Request, ticket_id: FromPath[int]
    ) -> Response[TicketDetail]:
        """The ticket, with an ``ETag`` to send back as ``If-Match`` on changes; with
        ``If-None-Match`` naming the current one, a bodiless 304."""
        response = await _detail_response(request, ticket_id)
        if request.headers.get("if-none-match", "").strip() == response.headers["ETag"]:
            return Response(content=None, status_code=304, headers=response.headers)
        return response

    @post(
        "/{ticket_id:int}/follow-ups",
        operation_id="AddFollowUp",
        status_code=HTTP_201_CREATED,
        responses=READ_ERRORS,
    )
    async def add_follow_up(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[FollowUpCreate]
    ) -> Response[TicketDetail]:
        """Private follow-ups are for the desk (403 otherwise); no version needed."""
        actor = request.user.actor
        # A client asking for a private note gets the use case's refusal (403), never a
        # public note it did not mean to write (the page simply offers no such box).
        parsed = parse_follow_up(msgspec.structs.asdict(data), may_be_private=True)
        parsed = replace(parsed, **screen_text({"text": parsed.text}, data.phi))
        _id, events = await service.add_follow_up(actor, ticket_id, parsed)
        await publish(request.app, events)
        return await _detail_response(request, ticket_id, HTTP_201_CREATED)

    @post(
        "/{ticket_id:int}/status",
        operation_id="ChangeStatus",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def change_status(
        self,
        request: Request,
        ticket_id: FromPath[int],
        data: JSONBody[StatusChange],
        if_match: IfMatch = None,
    ) -> Response[TicketDetail]:
        """Move the ticket through its lifecycle (422 when the move is not allowed)."""
        return await _versioned_write(
            request,
            ticket_id,
            if_match,
            data.version,
            lambda version: service.change_status(
                request.user.actor, ticket_id, data.status, version, data.solution
            ),
        )

    @post(
        "/{ticket_id:int}/attachments",
        operation_id="AddAttachment",
        status_code=HTTP_201_CREATED,
        request_max_body_size=UPLOAD_BODY_LIMIT,
        responses=READ_ERRORS,
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
        return AttachmentOut(id=body["id"], url=f"/api/v1/attachments/{body['id']}")

    @get("/{ticket_id:int}/attachments", operation_id="ListAttachments", responses=READ_ERRORS)
    async def list_attachments(
        self, request: Request, ticket_id: FromPath[int]
    ) -> list[AttachmentItem]:
        """The ticket's files (download each at its ``url``)."""
        actor = request.user.actor
        await queries.visible_ticket(actor, ticket_id)
        return [
            AttachmentItem(
                id=item["id"],
                filename=item["filename"],
                kind=item["file_kind"],
                size=item["size"],
                uploader=item["author_name"],
                created_at=item["created_at"],
                url=f"/api/v1/attachments/{item['id']}",
            )
            for item in await queries.timeline(actor, ticket_id)
            if item["kind"] == "attachment"
        ]

    @post(
        "/{ticket_id:int}/assign",
        operation_id="AssignTicket",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def assign(
        self,
        request: Request,
        ticket_id: FromPath[int],
        data: JSONBody[Assignment],
        if_match: IfMatch = None,
    ) -> Response[TicketDetail]:
        """Set the technician and group in charge (null clears them)."""
        return await _versioned_write(
            request,
            ticket_id,
            if_match,
            data.version,
            lambda version: service.assign(
                request.user.actor,
                ticket_id,
                version,
                assignee_id=data.assignee_id,
                group_id=data.group_id,
            ),
        )

    @post(
        "/{ticket_id:int}/take", operation_id="TakeTicket", status_code=200, responses=WRITE_ERRORS
    )
    async def take(
        self,
        request: Request,
        ticket_id: FromPath[int],
        data: JSONBody[Take],
        if_match: IfMatch = None,
    ) -> Response[TicketDetail]:
        """The caller (a technician) takes the ticket; a new one goes to "assigned"."""
        return await _versioned_write(
            request,
            ticket_id,
            if_match,
            data.version,
            lambda version: service.take(request.user.actor, ticket_id, version),
        )

    @post(
        "/{ticket_id:int}/fields",
        operation_id="ChangeFields",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def change_fields(
        self,
        request: Request,
        ticket_id: FromPath[int],
        data: JSONBody[FieldsChange],
        if_match: IfMatch = None,
    ) -> Response[TicketDetail]:
        """Change priority, category or type (fields left out stay as they are)."""
        return await _versioned_write(
            request,
            ticket_id,
            if_match,
            data.version,
            lambda version: service.update_fields(
                request.user.actor,
                ticket_id,
                version,
                priority=data.priority,
                category_id=data.category_id,
                ticket_type=data.type,
            ),
        )

    @post(
        "/{ticket_id:int}/shared", operation_id="SetShared", status_code=200, responses=WRITE_ERRORS
    )
    async def set_shared(
        self,
        request: Request,
        ticket_id: FromPath[int],
        data: JSONBody[SharedChange],
        if_match: IfMatch = None,
    ) -> Response[TicketDetail]:
        """Whether colleagues of the establishment see the ticket."""
        return await _versioned_write(
            request,
            ticket_id,
            if_match,
            data.version,
            lambda version: service.set_shared(request.user.actor, ticket_id, version, data.shared),
        )

    @post(
        "/{ticket_id:int}/escalate",
        operation_id="EscalateTicket",
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def escalate(
        self,
        request: Request,
        ticket_id: FromPath[int],
        data: JSONBody[Escalation],
        if_match: IfMatch = None,
    ) -> Response[TicketDetail]:
        """Hand the ticket to another group, with a reason."""
        return await _versioned_write(
            request,
            ticket_id,
            if_match,
            data.version,
            lambda version: service.escalate(
                request.user.actor,
                ticket_id,
                version,
                group_id=data.group_id,
                reason=data.reason,
            ),
        )

    @post(
        "/{ticket_id:int}/watch", operation_id="WatchTicket", status_code=200, responses=READ_ERRORS
    )
    async def watch(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[WatchChange]
    ) -> Response[TicketDetail]:
        """Follow (``true``) or stop following (``false``) the ticket's changes."""
        await following.watch(request.user.actor, ticket_id, data.watch)
        return await _detail_response(request, ticket_id)

    @get("/{ticket_id:int}/shares", operation_id="ListShares", responses=READ_ERRORS)
    async def list_shares(self, request: Request, ticket_id: FromPath[int]) -> list[ShareOut]:
        """The colleagues this ticket is shared with by name."""
        return await _shares(request, ticket_id)

    @post(
        "/{ticket_id:int}/shares", operation_id="AddShare", status_code=200, responses=READ_ERRORS
    )
    async def add_share(
        self, request: Request, ticket_id: FromPath[int], data: JSONBody[ShareCreate]
    ) -> list[ShareOut]:
        """Share with a colleague of the ticket's establishment, by e-mail."""
        events = await following.share(request.user.actor, ticket_id, data.email[:254])
        await publish(request.app, events)
        return await _shares(request, ticket_id)

    @post(
        "/{ticket_id:int}/shares/{user_id:int}/remove",
        operation_id="RemoveShare",
        status_code=200,
        responses=READ_ERRORS,
    )
    async def remove_share(
        self, request: Request, ticket_id: FromPath[int], user_id: FromPath[int]
    ) -> list[ShareOut]:
        events = await following.unshare(request.user.actor, ticket_id, user_id)
        await publish(request.app, events)
        return await _shares(request, ticket_id)


class AttachmentApi(Controller):
    path = "/api/v1/attachments"
    guards = [requires_account]
    tags = ["tickets"]
    security = [{"BearerToken": []}]

    @get(
        "/{attachment_id:int}",
        operation_id="DownloadAttachment",
        responses=READ_ERRORS,
        media_type="application/octet-stream",
    )
    async def download(self, request: Request, attachment_id: FromPath[int]) -> File:
        """The stored (sanitised) file, under the ticket's access rule, as on the web."""
        return await serve_download(request, attachment_id)
