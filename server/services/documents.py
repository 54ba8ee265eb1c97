"""Office documents and PDFs rebuilt before they are stored, and their text for screening.

* Office files (docx, xlsx, odt, ods) are copied member by member into a fresh archive: the
  declared sizes are checked first (``domain.documents.check_members``: no zip bomb, no
  picture, no embedded object), then the bytes really read are counted against the same
  limits. The page preview the office suite saves is replaced by a blank picture of the same
  size. Nothing else of the original archive (comments, extra fields, trailing bytes)
  survives.
* PDFs are rebuilt from their pages alone: no document catalogue actions (OpenAction,
  JavaScript, additional actions), no form, no embedded file, no metadata, no page thumbnail,
  and no annotation but plain web links. A PDF carrying files, pictures or more pages than
  ``MAX_PDF_PAGES`` is refused.

Both return the document's text, which the caller screens for patient identifiers.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from server.domain.documents import (
    MAX_EXPANDED_BYTES,
    MAX_PDF_PAGES,
    DocumentRefused,
    Member,
    XmlText,
    check_members,
    is_text_part,
    is_thumbnail,
    joined,
)

CHUNK = 64 * 1024
MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024
MAX_THUMBNAIL_SIDE = 2048


def rebuild(src: Path, dst: Path, kind: str) -> str:
    """Write the rebuilt document to ``dst``; return its text. Raises ``DocumentRefused``."""
    try:
        return rebuild_pdf(src, dst) if kind == "pdf" else rebuild_office(src, dst)
    except (DocumentRefused, MemoryError):
        raise
    except LimitReachedError as exc:
        raise DocumentRefused("document_too_large") from exc
    except Exception as exc:  # zipfile and pypdf raise anything on hostile input
        raise DocumentRefused("document_unreadable") from exc


# ------------------------------------------------------------------------------ office


def rebuild_office(src: Path, dst: Path) -> str:
    texts: list[str] = []
    with zipfile.ZipFile(src) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        check_members([Member(i.filename, i.file_size, i.compress_size) for i in infos])
        if any(info.flag_bits & 0x1 for info in infos):
            raise DocumentRefused("document_unreadable")  # encrypted: cannot be checked
        budget = MAX_EXPANDED_BYTES
        with zipfile.ZipFile(dst, "w") as out:
            for info in infos:
                fresh = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                fresh.compress_type = (
                    zipfile.ZIP_STORED
                    if info.compress_type == zipfile.ZIP_STORED
                    else zipfile.ZIP_DEFLATED
                )
                if is_thumbnail(info.filename):
                    data = _read_all(archive, info, MAX_THUMBNAIL_BYTES)
                    out.writestr(fresh, _blank_like(data))
                    continue
                collector = XmlText() if is_text_part(info.filename) else None
                with archive.open(info) as source, out.open(fresh, "w") as target:
                    while chunk := source.read(CHUNK):
                        budget -= len(chunk)
                        if budget < 0:
                            raise DocumentRefused("document_too_large")
                        target.write(chunk)
                        if collector is not None:
                            collector.feed(chunk)
                if collector is not None:
                    texts.append(collector.text())
    return joined(texts)


def _read_all(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with archive.open(info) as source:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise DocumentRefused("document_images")
    return data


def _blank_like(data: bytes) -> bytes:
    """A white picture of the same size and format as a page preview."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as preview:
            size, fmt = preview.size, preview.format or "PNG"
    except Exception as exc:  # not a picture we can replace: it could show anything
        raise DocumentRefused("document_images") from exc
    if max(size) > MAX_THUMBNAIL_SIDE:
        raise DocumentRefused("document_images")
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format=fmt)
    return buffer.getvalue()


# -------------------------------------------------------------------------------- PDF

# Inline images in a content stream: the BI ... ID operators.
_INLINE_IMAGE = re.compile(rb"(?:^|\s)BI\s+/[A-Za-z]+.*?\sID\s", re.DOTALL)
_DROPPED_PAGE_KEYS = ("/AA", "/Thumb", "/Metadata", "/PieceInfo", "/B")


def rebuild_pdf(src: Path, dst: Path) -> str:
    reader = PdfReader(src, strict=False)
    if reader.is_encrypted:
        raise DocumentRefused("document_unreadable")
    if len(reader.pages) > MAX_PDF_PAGES:
        raise DocumentRefused("document_too_large")
    names = reader.trailer["/Root"].get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        raise DocumentRefused("document_files")
    writer = PdfWriter()
    texts = []
    for page in reader.pages:
        if _has_pictures(page.get("/Resources"), set()) or _has_inline_pictures(page):
            raise DocumentRefused("document_images")
        _strip_page(page)
        texts.append(page.extract_text() or "")
        writer.add_page(page)
    with dst.open("wb") as out:
        writer.write(out)
    return joined(texts)


def _strip_page(page: DictionaryObject) -> None:
    """No page actions, thumbnails or metadata; annotations only if they are web links."""
    for key in _DROPPED_PAGE_KEYS:
        page.pop(NameObject(key), None)
    kept = ArrayObject()
    annotations = page.get("/Annots")
    for reference in annotations.get_object() if annotations is not None else []:
        annotation = reference.get_object()
        subtype = annotation.get("/Subtype")
        if subtype == "/FileAttachment":
            raise DocumentRefused("document_files")
        action = annotation.get("/A")
        action = action.get_object() if action is not None else None
        if subtype == "/Link" and action is not None and action.get("/S") == "/URI":
            link = DictionaryObject(
                {
                    NameObject(key): annotation[key]
                    for key in ("/Type", "/Subtype", "/Rect", "/Border")
                    if key in annotation
                }
            )
            link[NameObject("/A")] = DictionaryObject(
                {NameObject("/S"): NameObject("/URI"), NameObject("/URI"): action["/URI"]}
            )
            kept.append(link)
    if kept:
        page[NameObject("/Annots")] = kept
    else:
        page.pop(NameObject("/Annots"), None)


def _has_pictures(resources: object, seen: set[int]) -> bool:
    """Whether the resources (or the forms and patterns they use) hold an image."""
    if resources is None:
        return False
    resources = resources.get_object()  # type: ignore[attr-defined]
    if id(resources) in seen or not isinstance(resources, DictionaryObject):
        return False
    seen.add(id(resources))
    for group in ("/XObject", "/Pattern"):
        entries = resources.get(group)
        entries = entries.get_object() if entries is not None else {}
        for reference in entries.values():
            item = reference.get_object()
            if not isinstance(item, DictionaryObject):
                continue
            if item.get("/Subtype") == "/Image":
                return True
            if _has_pictures(item.get("/Resources"), seen):
                return True
    return False


def _has_inline_pictures(page: DictionaryObject) -> bool:
    contents = page.get_contents()  # type: ignore[attr-defined]
    return contents is not None and _INLINE_IMAGE.search(contents.get_data()) is not None
