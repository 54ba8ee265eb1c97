"""Attaching files to tickets: stream to a temporary file, check the content, sanitise, store.

Only the sanitised result is stored, under a random key: images are decoded and re-encoded
from their pixels with the user's boxes burnt in (``content.sanitize_image``); text is screened
for patient identifiers like typed text.

Raw uploads may hold patient data, so they never get a name on disk: they are received into an
anonymous temporary file (``O_TMPFILE`` on Linux), which the kernel frees when the request
closes it or when the process dies, even by ``kill -9``. What does get a name (sanitised
results waiting for their commit, mail attachments) lives in a directory of its own per
process, locked while the process lives: at start-up every directory whose process is gone
is removed, whatever its age.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import secrets
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiofiles
import anyio.to_thread
from piccolo.query.functions.aggregate import Sum

from server.db.engine import write_transaction
from server.db.queries import ticket_access
from server.db.tables import Attachment, AttachmentDownload, HistoryEntry, Ticket
from server.domain.actors import Actor
from server.domain.documents import DocumentRefused
from server.domain.errors import (
    Forbidden,
    IdentifiersFound,
    InvalidTransition,
    NotFound,
    TooLarge,
    Unacceptable,
)
from server.domain.events import TicketEvent
from server.domain.permissions import can_comment, can_view
from server.domain.screening import review_text
from server.domain.text import N_
from server.domain.vocabulary import Status
from server.services import content, documents
from server.services.privacy import detector_config
from server.services.tickets import ticket_event
from server.settings import get_settings

CHUNK = 64 * 1024
PREVIEW_CHARS = 4000
THUMBNAIL_SIDE = 480

REFUSALS = {
    "type_not_allowed": N_(
        "This type of file is not accepted. Accepted: PNG, JPEG, WebP, GIF and BMP images, "
        "PDF, text and logs, CSV, JSON, XML, and office documents (xlsx, docx, odt, ods)."
    ),
    "image_unreadable": N_("This image cannot be read: it is damaged or not really an image."),
    "image_too_large": N_("This image has too many pixels."),
    "empty": N_("This file is empty."),
    "bad_boxes": N_("The redaction boxes are not valid."),
    "text_unreadable": N_("This text file cannot be read."),
    "bad_review": N_("The review of this file is not valid."),
    "document_too_large": N_(
        "This document expands to too much data once uncompressed: it cannot be checked."
    ),
    "document_images": N_(
        "This document contains pictures or embedded objects, which may show patient data "
        "and cannot be redacted inside a document. Attach the screenshots themselves (they "
        "can be redacted here) and the document without its pictures."
    ),
    "document_files": N_(
        "This PDF carries other files inside it. Attach those files themselves, and the PDF "
        "without them."
    ),
    "document_unreadable": N_(
        "This document cannot be read: it is damaged, protected by a password, or not what "
        "its name says."
    ),
    "document_identifiers": N_(
        "Patient identifiers cannot be replaced inside a document. Remove them from the "
        "document itself and attach it again, or untick what is not patient data."
    ),
}


class AttachmentRefused(Unacceptable):
    """The file was refused (type, content, boxes); nothing was stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSALS.get(reason, REFUSALS["type_not_allowed"]))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Received:
    """An upload waiting to be processed (released by ``release``).

    ``handle`` is set for an anonymous file: ``path`` then names it through ``/proc/self/fd``
    and stops working once the handle is closed.
    """

    path: Path
    size: int
    name: str
    handle: IO[bytes] | None = None


def release(received: Received) -> None:
    """Close (anonymous file) or delete (named file) what was received."""
    if received.handle is not None:
        received.handle.close()
    else:
        discard(received.path)


class Storage:
    """Files on local disk under random keys, written atomically (temporary name, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_root = root / "tmp"

    @property
    def tmp(self) -> Path:
        """This process's own directory for named temporary files."""
        return _process_directory(self.tmp_root)

    def ensure(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)

    def purge_stale(self) -> int:
        """Remove what processes that are gone left behind (a killed process cannot clean
        up), whatever its age; the directories of living processes are kept."""
        self.tmp_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        own = self.tmp
        removed = 0
        for entry in sorted(self.tmp_root.iterdir()):
            if entry in (own, own.with_name(own.name + ".lock")):
                continue
            if entry.name.endswith(".lock"):
                removed += _remove_if_unlocked(entry)
            elif entry.is_dir() and not entry.with_name(entry.name + ".lock").exists():
                shutil.rmtree(entry, ignore_errors=True)  # its lock went first: orphaned
                removed += 1
            elif not entry.is_dir():
                discard(entry)
                removed += 1
        return removed

    def path(self, key: str) -> Path:
        return self.root / "files" / key[:2] / key

    def thumbnail(self, key: str) -> Path:
        return self.root / "thumbnails" / key[:2] / f"{key}.png"

    def temporary(self) -> Path:
        self.ensure()
        return self.tmp / secrets.token_hex(16)

    def anonymous(self) -> tuple[IO[bytes], Path]:
        """A temporary file without a name, and a path to reopen it while it is open."""
        self.ensure()
        handle = tempfile.TemporaryFile(dir=self.tmp)  # noqa: SIM115 - closed by release()
        return handle, _descriptor_path(handle.fileno())

    def commit(self, temporary: Path, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(temporary, final)

    async def receive(self, upload: Any, limit: int) -> Received:
        """Copy an upload to an anonymous file in chunks: memory stays bounded, and the raw
        bytes disappear with the request or the process, whichever ends first."""
        handle, path = self.anonymous()
        size = 0
        try:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge()
                await anyio.to_thread.run_sync(handle.write, chunk)
            await anyio.to_thread.run_sync(handle.flush)
        except BaseException:
            handle.close()
            raise
        return Received(
            path=path, size=size, name=getattr(upload, "filename", "") or "", handle=handle
        )


# One directory per process (and per storage root), with a lock held for the process's life.
_OWN_DIRECTORIES: dict[tuple[Path, int], tuple[Path, int]] = {}


def _process_directory(tmp_root: Path) -> Path:
    key = (tmp_root, os.getpid())
    if key not in _OWN_DIRECTORIES:
        tmp_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        while True:
            name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
            lock = tmp_root / f"{name}.lock"
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            # A purge may have taken the lock between creation and flock: start again.
            if lock.exists() and os.fstat(descriptor).st_ino == lock.stat().st_ino:
                break
            os.close(descriptor)
        directory = tmp_root / name
        directory.mkdir(mode=0o700)
        _OWN_DIRECTORIES[key] = (directory, descriptor)
    return _OWN_DIRECTORIES[key][0]


def _remove_if_unlocked(lock: Path) -> int:
    """Remove a process's directory if its lock is free (the process is gone)."""
    try:
        descriptor = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return 0
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return 0  # a living process
    try:
        shutil.rmtree(lock.with_name(lock.name.removesuffix(".lock")), ignore_errors=True)
        discard(lock)
    finally:
        os.close(descriptor)
    return 1


def _descriptor_path(descriptor: int) -> Path:
    proc = Path("/proc/self/fd")
    return (proc if proc.is_dir() else Path("/dev/fd")) / str(descriptor)


def discard(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def storage() -> Storage:
    return Storage(get_settings().storage_dir)


def parse_boxes(raw: str) -> list[content.Box]:
    """Boxes come as JSON [{"x":..,"y":..,"width":..,"height":..}, ...] in image pixels."""
    if not raw.strip():
        return []
    try:
        items = json.loads(raw)
        boxes = [
            content.Box(float(b["x"]), float(b["y"]), float(b["width"]), float(b["height"]))
            for b in items
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise AttachmentRefused("bad_boxes") from exc
    if any(not math.isfinite(v) for b in boxes for v in (b.x, b.y, b.width, b.height)):
        raise AttachmentRefused("bad_boxes")
    return boxes


async def _load_for_upload(actor: Actor, ticket_id: int) -> dict[str, Any]:
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    if row is None or not can_view(actor, await ticket_access(row)):
        raise NotFound()
    if not can_comment(actor, await ticket_access(row)):
        raise Forbidden()
    if row["status"] == Status.CLOSED:
        raise InvalidTransition(N_("This ticket is closed: open a new ticket instead."))
    return row


async def attach(
    actor: Actor,
    ticket_id: int,
    received: Received,
    boxes: list[content.Box],
    phi_decision: str = "",
    review: TextReview | None = None,
) -> tuple[int, list[TicketEvent]]:
    """Check, sanitise and store one received file. The temporary file is always removed."""
    store = storage()
    produced: list[Path] = []
    try:
        await _load_for_upload(actor, ticket_id)
        used = (
            await Attachment.select(Sum(Attachment.size, alias="total"))
            .where(Attachment.ticket == ticket_id)
            .first()
        )
        if (used["total"] or 0) + received.size > get_settings().max_ticket_attachment_bytes:
            raise TooLarge(N_("This ticket has reached its attachment limit."))
        if received.size == 0:
            raise AttachmentRefused("empty")
        name = content.clean_filename(received.name)
        try:
            sniffed = await anyio.to_thread.run_sync(content.sniff, received.path, name)
        except content.ContentRefused as exc:
            raise AttachmentRefused(exc.reason) from exc
        key = secrets.token_hex(16)
        final_tmp = store.temporary()
        produced.append(final_tmp)
        width = height = None
        mime = sniffed.mime
        if sniffed.kind == "image":
            try:
                info = await anyio.to_thread.run_sync(
                    content.sanitize_image, received.path, final_tmp, boxes
                )
            except content.ContentRefused as exc:
                raise AttachmentRefused(exc.reason) from exc
            width, height, mime = info.width, info.height, info.mime
            name = _with_extension(name, info.extension)
            thumb_tmp = store.temporary()
            produced.append(thumb_tmp)
            await anyio.to_thread.run_sync(
                content.make_thumbnail, final_tmp, thumb_tmp, THUMBNAIL_SIDE
            )
        elif sniffed.kind == "text":
            await _screen_text_file(received.path, final_tmp, phi_decision, review or TextReview())
        else:
            await _rebuild_document(
                received.path, final_tmp, sniffed.kind, phi_decision, review or TextReview()
            )
        size = final_tmp.stat().st_size
        async with write_transaction():
            row = await _load_for_upload(actor, ticket_id)  # re-checked inside the transaction
            inserted = await Attachment.insert(
                Attachment(
                    ticket=ticket_id,
                    uploader=actor.id,
                    storage_key=key,
                    filename=name,
                    mime=mime,
                    kind=sniffed.kind,
                    size=size,
                    width=width,
                    height=height,
                )
            ).returning(Attachment.id)
            await Ticket.update(
                {Ticket.version: Ticket.version + 1, Ticket.updated_at: _now()}
            ).where(Ticket.id == ticket_id)
            await HistoryEntry.insert(
                HistoryEntry(ticket=ticket_id, actor=actor.id, field="attachment", new_value=name)
            )
            store.commit(final_tmp, store.path(key))
            if sniffed.kind == "image":
                store.commit(produced[1], store.thumbnail(key))
            event = await ticket_event("ticket.attachment", ticket_id, row)
        return inserted[0]["id"], [event]
    finally:
        release(received)
        for path in produced:
            discard(path)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _with_extension(name: str, extension: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem}.{extension}"


@dataclass(frozen=True, slots=True)
class TextReview:
    """The user's review of a text file's findings: offsets of findings to keep (false
    positives), and more strings to hide."""

    keep: frozenset[int] = frozenset()
    mark: tuple[str, ...] = ()

    @classmethod
    def parse(cls, keep_json: str, mark_json: str) -> TextReview:
        try:
            keep = json.loads(keep_json or "[]")
            mark = json.loads(mark_json or "[]")
            return cls(
                keep=frozenset(int(k) for k in keep),
                mark=tuple(str(m)[:500] for m in mark)[:50],
            )
        except (ValueError, TypeError) as exc:
            raise AttachmentRefused("bad_review") from exc


async def _screen_text_file(source: Path, target: Path, decision: str, review: TextReview) -> None:
    """Text attachments go through the same identifier screening as typed text."""
    async with aiofiles.open(source, "rb") as handle:
        raw = await handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AttachmentRefused("text_unreadable") from exc
    screened = review_text(text, decision, detector_config(), review.keep, review.mark)
    async with aiofiles.open(target, "w", encoding="utf-8") as out:
        await out.write(screened)


class DocumentIdentifiersFound(IdentifiersFound):
    """Findings in a document's text, with that text (the user cannot read it from the file
    the way the browser reads a text file)."""

    def __init__(self, findings: dict[str, list[Any]], preview: str) -> None:
        super().__init__(findings)
        self.preview = preview


async def _rebuild_document(
    source: Path, target: Path, kind: str, decision: str, review: TextReview
) -> None:
    """Office files and PDFs: rebuilt without what cannot be checked, then their text goes
    through the same review as a text file. Identifiers cannot be replaced inside them: the
    user confirms they are not patient data, or removes them from the document."""
    try:
        text = await anyio.to_thread.run_sync(documents.rebuild, source, target, kind)
    except DocumentRefused as exc:
        raise AttachmentRefused(exc.reason) from exc
    try:
        screened = review_text(text, decision, detector_config(), review.keep, review.mark)
    except IdentifiersFound as exc:
        raise DocumentIdentifiersFound(exc.findings, text[:PREVIEW_CHARS]) from exc
    if screened != text:
        raise AttachmentRefused("document_identifiers")


async def downloadable(actor: Actor, attachment_id: int) -> dict[str, Any]:
    """The attachment row, if the actor may see its ticket; NotFound otherwise (same 404)."""
    row = (
        await Attachment.select(
            *Attachment.all_columns(),
            Attachment.ticket.requester.as_alias("requester"),
            Attachment.ticket.establishment.as_alias("establishment"),
            Attachment.ticket.shared.as_alias("shared"),
            Attachment.ticket.assigned_group.as_alias("assigned_group"),
            Attachment.ticket.assignee.as_alias("assignee"),
        )
        .where(Attachment.id == attachment_id)
        .first()
    )
    if row is None or not can_view(actor, await ticket_access({**row, "id": row["ticket"]})):
        raise NotFound()
    return row


async def record_download(actor: Actor, attachment_id: int) -> None:
    async with write_transaction():
        await AttachmentDownload.insert(AttachmentDownload(attachment=attachment_id, user=actor.id))
