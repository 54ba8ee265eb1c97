"""What an attachment really is, and images rebuilt so that only their pixels survive.

Screenshots and logs attached to tickets can carry patient data, so an upload is trusted
neither for its name nor for its bytes:

* ``sniff`` decides the type from the content (magic bytes, a UTF-8 check, the inside of
  office archives). The name only picks between text flavours and confirms office
  documents. SVG, HTML and executables are refused whatever they are called.
* ``sanitize_image`` decodes the image, applies its EXIF orientation so that the boxes the
  user drew on the displayed picture land on the same pixels, burns the boxes in as solid
  black, copies the pixels alone into a fresh image and re-encodes it. EXIF (GPS, camera,
  descriptions), XMP, ICC profiles, comments, text chunks, thumbnails, extra frames and
  bytes appended after the image cannot survive: nothing but pixels is copied.
* ``clean_filename`` makes the name the user gave safe to display. It is never used to
  build a path.

Decoding is bounded (``MAX_PIXELS``, checked from the header before any pixel is
allocated), and every failure of the decoder becomes ``ContentRefused`` so that the web
layer answers with a 4xx. This module knows nothing of the web framework or the database;
the web layer maps ``ContentRefused.reason`` to translated messages.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import IO, Literal

from PIL import Image, ImageFile, ImageOps

Kind = Literal["image", "pdf", "text", "office"]
Reason = Literal[
    "empty",
    "type_not_allowed",
    "image_unreadable",
    "image_too_large",
    "bad_boxes",
]

#: What the web layer lists when a type is refused (extensions, in display order).
ACCEPTED: tuple[str, ...] = (
    "png",
    "jpg",
    "webp",
    "gif",
    "bmp",
    "pdf",
    "txt",
    "log",
    "csv",
    "json",
    "xml",
    "xlsx",
    "docx",
    "odt",
    "ods",
)

SNIFF_BYTES = 64 * 1024
MARKUP_SCAN_BYTES = 1024
MAX_PIXELS = 40_000_000
MAX_BOXES = 200
MAX_NAME_LENGTH = 120
MAX_EXTENSION_LENGTH = 16
FALLBACK_NAME = "attachment"
MAX_ZIP_MEMBERS = 10_000
MAX_ZIP_MEMBER_READ = 1024 * 1024


class ContentRefused(Exception):
    """The upload is refused; ``reason`` is a stable code the web layer translates.

    ``accepted`` lists the accepted extensions when the type is the problem, so that the
    message can tell the user what would work.
    """

    def __init__(self, reason: Reason, accepted: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason: Reason = reason
        self.accepted: list[str] = list(accepted)


def _type_not_allowed() -> ContentRefused:
    return ContentRefused("type_not_allowed", accepted=ACCEPTED)


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: Kind
    mime: str
    extension: str


@dataclass(frozen=True, slots=True)
class Box:
    """A redaction rectangle in displayed pixels (after the EXIF orientation is applied)."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """The stored (re-encoded) image: its type and displayed size."""

    mime: str
    extension: str
    width: int
    height: int


# --------------------------------------------------------------------------- file names


def clean_filename(name: str) -> str:
    """The name to display for an upload (never to build a path with).

    NFKC first (full-width ``／`` becomes ``/`` before directories are stripped), then the
    last path component (``/`` or ``\\``), without control or format characters (NUL,
    zero-width space, bidi overrides), whitespace collapsed, no leading dots, at most
    ``MAX_NAME_LENGTH`` characters with the extension kept; ``"attachment"`` if nothing
    is left.
    """
    text = unicodedata.normalize("NFKC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf", "Cs"})
    text = " ".join(text.split())
    text = text.lstrip(". ")
    return _truncate_name(text) or FALLBACK_NAME


def _truncate_name(name: str) -> str:
    if len(name) <= MAX_NAME_LENGTH:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_LENGTH:
        return name[:MAX_NAME_LENGTH].rstrip()
    stem = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip(" .")
    return f"{stem}.{extension}" if stem else name[:MAX_NAME_LENGTH]


def _extension(name: str) -> str:
    stem, dot, extension = clean_filename(name).rpartition(".")
    return extension.lower() if dot and stem else ""


# --------------------------------------------------------------------------------- sniff

_IMAGE_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
}
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}

_TEXT_MIME = {
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "xml": "text/xml",
}

# extension -> (family, mime, what proves it: the OOXML main content type or the ODF mimetype)
_OFFICE = {
    "docx": (
        "ooxml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    "xlsx": (
        "ooxml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    "odt": (
        "odf",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.text",
    ),
    "ods": (
        "odf",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.spreadsheet",
    ),
}

# Markup a browser could run: anywhere in the first KB, and anywhere in the sniffed bytes
# of a file that starts like markup. (Not "<object": stack traces say "List<Object>".)
_ACTIVE_MARKUP = re.compile(
    rb"<!doctype\s+html|<html[\s>/]|<script|<svg[\s>/]|<iframe"
    rb"|http://www\.w3\.org/(?:1999/xhtml|2000/svg)",
    re.IGNORECASE,
)
# The tags with which the WHATWG sniffing algorithm recognises HTML at the start of a file.
_HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body"
    rb"|br|p)[\s>]",
    re.IGNORECASE,
)


def sniff(path: Path, name: str) -> Sniffed:
    """Decide what an upload is from its bytes; ``name`` is the name the user gave.

    Refuses (``ContentRefused``) empty files, executables, SVG, HTML and anything that is
    not one of ``ACCEPTED``. Images are reported with their source type; they must still go
    through ``sanitize_image``, which decides what is stored.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head:
        raise ContentRefused("empty")
    if head.startswith((b"MZ", b"\x7fELF")):
        raise _type_not_allowed()
    image = _sniff_image(head)
    if image:
        return Sniffed("image", _IMAGE_MIME[image], image)
    if head.startswith(b"PK\x03\x04"):
        return _sniff_office(path, name)
    if head.startswith(b"%PDF-"):
        _refuse_active_markup(head)
        return Sniffed("pdf", "application/pdf", "pdf")
    if _is_utf8_text(head, complete=len(head) < SNIFF_BYTES):
        _refuse_active_markup(head)
        extension = _extension(name)
        if extension not in _TEXT_MIME:
            extension = "txt"
        return Sniffed("text", _TEXT_MIME[extension], extension)
    raise _type_not_allowed()


def _sniff_image(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    # "BM" alone is too common in text: also require a known DIB header size.
    if head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    return None


def _is_utf8_text(head: bytes, *, complete: bool) -> bool:
    """UTF-8 (with or without BOM) and no NUL; a character cut at the end of ``head`` is fine
    unless ``head`` is the whole file."""
    if b"\x00" in head:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _refuse_active_markup(head: bytes) -> None:
    body = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if _HTML_START.match(body) or _ACTIVE_MARKUP.search(head[:MARKUP_SCAN_BYTES]):
        raise _type_not_allowed()
    if body.startswith(b"<") and _ACTIVE_MARKUP.search(head):
        raise _type_not_allowed()


def _sniff_office(path: Path, name: str) -> Sniffed:
    extension = _extension(name)
    if extension not in _OFFICE:
        raise _type_not_allowed()
    family, mime, proof = _OFFICE[extension]
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise _type_not_allowed()
            if family == "ooxml":
                valid = _is_ooxml(archive, members, proof)
            else:
                valid = _is_odf(archive, members, proof)
    except ContentRefused:
        raise
    except Exception as exc:  # zipfile raises many things on hostile archives
        raise _type_not_allowed() from exc
    if not valid:
        raise _type_not_allowed()
    return Sniffed("office", mime, extension)


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    with archive.open(member) as handle:
        return handle.read(MAX_ZIP_MEMBER_READ)


def _is_ooxml(archive: zipfile.ZipFile, members: list[str], main_type: str) -> bool:
    """The declared main part is the plain (not macro-enabled) document type, and no VBA."""
    if "[Content_Types].xml" not in members:
        return False
    if any(member.lower().endswith("vbaproject.bin") for member in members):
        return False
    types = _read_member(archive, "[Content_Types].xml")
    return main_type.encode() in types and b"macroenabled" not in types.lower()


def _is_odf(archive: zipfile.ZipFile, members: list[str], mimetype: str) -> bool:
    if "mimetype" not in members:
        return False
    return _read_member(archive, "mimetype").strip() == mimetype.encode()


# ------------------------------------------------------------------------------ images

# Pillow opens only these (no EPS/Ghostscript, PSD, TIFF...). MPO is how Pillow reports a
# JPEG carrying extra pictures; only its first picture is kept.
_DECODERS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_JPEG_FORMATS = {"JPEG", "MPO"}
_BLACK = {"RGB": (0, 0, 0), "RGBA": (0, 0, 0, 255)}


def check_boxes(boxes: Sequence[Box]) -> tuple[Box, ...]:
    """The boxes, if every coordinate is a finite number and no size is negative.

    Raises ``ContentRefused("bad_boxes")`` otherwise, or beyond ``MAX_BOXES`` boxes.
    Positions outside the image are allowed: they are clamped when drawn.
    """
    if len(boxes) > MAX_BOXES:
        raise ContentRefused("bad_boxes")
    for box in boxes:
        values = [getattr(box, field, None) for field in ("x", "y", "width", "height")]
        if not all(_is_finite_number(value) for value in values):
            raise ContentRefused("bad_boxes")
        if box.width < 0 or box.height < 0:
            raise ContentRefused("bad_boxes")
    return tuple(boxes)


def _is_finite_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def sanitize_image(
    src: Path, dst: Path, boxes: Sequence[Box], *, max_pixels: int = MAX_PIXELS
) -> ImageInfo:
    """Store at ``dst`` the pixels of ``src`` with ``boxes`` burnt in, and nothing else.

    JPEG (and MPO) stays JPEG (quality 90); PNG, WebP, GIF and BMP become PNG. Only the
    first frame is kept. ``dst`` is written atomically (a temporary file in the same
    directory, then ``os.replace``), readable by its owner only; ``src`` is left alone.

    Raises ``ContentRefused`` with ``bad_boxes``, ``image_too_large`` (more than
    ``max_pixels``, judged from the header before decoding) or ``image_unreadable``
    (malformed, truncated or not one of the allowed formats). An ``OSError`` while writing
    ``dst`` is a server fault and propagates.
    """
    boxes = check_boxes(boxes)
    with _decoded(src, max_pixels) as (image, source_format):
        image = _redacted(image, boxes)
    if source_format in _JPEG_FORMATS:
        _write_atomically(dst, lambda out: image.save(out, format="JPEG", quality=90))
        return ImageInfo("image/jpeg", "jpg", image.width, image.height)
    _write_atomically(dst, lambda out: image.save(out, format="PNG", pnginfo=None))
    return ImageInfo("image/png", "png", image.width, image.height)


def make_thumbnail(src: Path, dst: Path, max_side: int = 480) -> None:
    """A PNG no larger than ``max_side`` on either side, from an already sanitized image.

    Never enlarges. Same refusals as ``sanitize_image``; ``dst`` is written atomically.
    """
    if max_side < 1:
        raise ValueError("max_side must be positive")
    with _decoded(src, MAX_PIXELS, draft=(max_side, max_side)) as (image, _format):
        image.thumbnail((max_side, max_side))
        image = _pixels_only(image)
    _write_atomically(dst, lambda out: image.save(out, format="PNG", pnginfo=None))


@contextmanager
def _decoded(
    src: Path, max_pixels: int, draft: tuple[int, int] | None = None
) -> Iterator[tuple[Image.Image, str]]:
    """The first frame of ``src``, upright and in RGB or RGBA, with the source format.

    Any failure inside the block (decoding is lazy in places) becomes ``ContentRefused``.
    Warnings are silenced while decoding, except Pillow's decompression-bomb warning, which
    is turned into a refusal whatever the process-wide filters say. (``catch_warnings`` is
    process-wide too; at worst a concurrent thread sees its filters for a moment.)
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src, formats=_DECODERS) as opened:
                _check_size(opened, max_pixels)
                source_format = opened.format or ""
                if draft and source_format in _JPEG_FORMATS:
                    opened.draft("RGB", draft)
                opened.load()
                yield _normalised(opened), source_format
    except ContentRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ContentRefused("image_too_large") from exc
    except MemoryError:
        raise
    except Exception as exc:  # Pillow's parsers raise anything on hostile input
        raise ContentRefused("image_unreadable") from exc


def _check_size(image: ImageFile.ImageFile, max_pixels: int) -> None:
    """Refuse from the header alone, before any pixel is allocated."""
    width, height = image.size
    if width < 1 or height < 1:
        raise ContentRefused("image_unreadable")
    if width * height > max_pixels:
        raise ContentRefused("image_too_large")


def _normalised(image: Image.Image) -> Image.Image:
    """Upright (EXIF orientation applied) and in RGB or RGBA (alpha kept when present)."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode.startswith("I;16") or upright.mode in {"I", "F"}:
        # 16-bit grey would be clipped to white by a direct conversion: scale it down.
        upright = upright.convert("I").point(lambda value: value / 256).convert("L")
    mode = "RGBA" if _has_alpha(upright) else "RGB"
    return upright if upright.mode == mode else upright.convert(mode)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or image.has_transparency_data


def _redacted(image: Image.Image, boxes: Sequence[Box]) -> Image.Image:
    """A fresh image holding the pixels alone, boxes filled with opaque black."""
    fresh = _pixels_only(image)
    for left, top, right, bottom in _pixel_boxes(boxes, fresh.width, fresh.height):
        fresh.paste(_BLACK[fresh.mode], (left, top, right, bottom))
    return fresh


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the same pixels and an empty ``info`` (no metadata to carry).

    Fully transparent pixels become transparent black: an "erased" area must not keep the
    colour it had, which any editor can bring back by dropping the alpha channel.
    """
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image, (0, 0))
    if fresh.mode == "RGBA":
        invisible = fresh.getchannel("A").point(lambda alpha: 255 if alpha == 0 else 0)
        fresh.paste((0, 0, 0, 0), (0, 0, fresh.width, fresh.height), invisible)
    return fresh


def _pixel_boxes(
    boxes: Sequence[Box], width: int, height: int
) -> Iterator[tuple[int, int, int, int]]:
    """Whole-pixel rectangles (right and bottom exclusive) covering every pixel a box
    touches, clamped to the image; empty ones are skipped."""
    for box in boxes:
        if box.width == 0 or box.height == 0:
            continue
        left = math.floor(_clamp(box.x, width))
        top = math.floor(_clamp(box.y, height))
        right = math.ceil(_clamp(box.x + box.width, width))
        bottom = math.ceil(_clamp(box.y + box.height, height))
        if right > left and bottom > top:
            yield left, top, right, bottom


def _clamp(value: float, upper: int) -> float:
    return min(max(value, 0.0), float(upper))


def _write_atomically(dst: Path, write: Callable[[IO[bytes]], None]) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, dst)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
