"""Uploading and downloading attachments.

Uploads are one file per request (so the browser can show a progress bar per file), as
multipart with the file, the redaction boxes as JSON, and the identifier decision. Downloads
go through the ticket's access rule (404 otherwise) and are never rendered as active content.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import File, Response

from server.domain.errors import GuichetError, IdentifiersFound
from server.i18n import gettext
from server.realtime.publish import publish
from server.services import attachments as service
from server.settings import get_settings
from server.web.errors import status_of
from server.web.identity import requires_account

# Forms around the file add a little: the per-file limit itself is checked while streaming.
UPLOAD_BODY_LIMIT = get_settings().max_attachment_bytes + 256 * 1024
SANDBOX = "default-src 'none'; sandbox; frame-ancestors 'none'"


async def receive_and_attach(
    request: Request,
    ticket_id: int,
    upload: Any,
    boxes_json: str,
    phi: str,
    review: service.TextReview | None = None,
) -> dict[str, Any]:
    """Shared by the page's uploader and the JSON API."""
    if not isinstance(upload, UploadFile):
        raise service.AttachmentRefused("empty")
    boxes = service.parse_boxes(boxes_json)
    received = await service.storage().receive(upload, get_settings().max_attachment_bytes)
    attachment_id, events = await service.attach(
        request.user.actor, ticket_id, received, boxes, phi, review
    )
    await publish(request.app, events)
    return {"id": attachment_id, "url": f"/attachments/{attachment_id}"}


def error_json(exc: GuichetError) -> Response[Any]:
    body: dict[str, Any] = {"error": gettext(exc.message)}
    if isinstance(exc, IdentifiersFound):
        body["findings"] = [
            {"kind": f.kind.value, "text": f.text, "start": f.start, "end": f.end}
            for found in exc.findings.values()
            for f in found
        ]
    if isinstance(exc, service.DocumentIdentifiersFound):
        body["preview"] = exc.preview  # the findings' offsets are in this text
    return Response(content=body, status_code=status_of(exc))


@post(
    "/tickets/{ticket_id:int}/attachments",
    guards=[requires_account],
    include_in_schema=False,
    request_max_body_size=UPLOAD_BODY_LIMIT,
)
async def upload(request: Request, ticket_id: FromPath[int]) -> Response[Any]:
    form = await request.form()
    try:
        body = await receive_and_attach(
            request,
            ticket_id,
            form.get("file"),
            str(form.get("boxes") or ""),
            str(form.get("phi") or ""),
            service.TextReview.parse(str(form.get("keep") or ""), str(form.get("mark") or "")),
        )
    except GuichetError as exc:
        return error_json(exc)
    return Response(content=body, status_code=201)


def _file(row: dict[str, Any], path: Any, inline: bool, media_type: str) -> File:
    return File(
        path=path,
        filename=row["filename"],
        media_type=media_type,
        content_disposition_type="inline" if inline else "attachment",
        headers={"Content-Security-Policy": SANDBOX, "Cache-Control": "no-store"},
    )


async def serve_download(request: Request, attachment_id: int) -> File:
    """The stored file under its ticket's access rule, the download recorded; shared by the
    page's link and the JSON API."""
    row = await service.downloadable(request.user.actor, attachment_id)
    await service.record_download(request.user.actor, attachment_id)
    return _file(row, service.storage().path(row["storage_key"]), False, row["mime"])


@get("/attachments/{attachment_id:int}", guards=[requires_account], include_in_schema=False)
async def download(request: Request, attachment_id: FromPath[int]) -> File:
    return await serve_download(request, attachment_id)


@get(
    "/attachments/{attachment_id:int}/thumbnail",
    guards=[requires_account],
    include_in_schema=False,
)
async def thumbnail(request: Request, attachment_id: FromPath[int]) -> File:
    row = await service.downloadable(request.user.actor, attachment_id)
    if row["kind"] != "image":
        raise service.AttachmentRefused("type_not_allowed")
    # A server-made PNG from sanitised pixels: safe to show inline.
    return _file(row, service.storage().thumbnail(row["storage_key"]), True, "image/png")


ROUTES = [upload, download, thumbnail]
