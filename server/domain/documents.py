"""Rules for office documents (docx, xlsx, odt, ods) and PDFs attached to tickets.

The Word trap: a screenshot pasted into a document keeps its unredacted original, whatever
the document shows, and a document's text is as likely to hold patient identifiers as a log.
So a document is accepted only if it holds no picture and no embedded object (those cannot
be redacted inside it: the user attaches the screenshot itself), it expands to a bounded
size (no zip bomb), and its text goes through the same identifier review as a text file.

This module decides from names, sizes and bytes already read; reading the files is the
services' job.
"""

from __future__ import annotations

import posixpath
import xml.parsers.expat
from dataclasses import dataclass
from typing import Literal

Refusal = Literal["document_too_large", "document_images", "document_unreadable", "document_files"]

#: Everything a document may expand to, and the ratio above which a large member is a bomb.
MAX_EXPANDED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200
RATIO_CHECKED_FROM = 1024 * 1024
MAX_MEMBERS = 10_000
#: Text screened per document; beyond it the document is refused rather than half-checked.
MAX_TEXT_CHARS = 5_000_000
MAX_PDF_PAGES = 2_000

PICTURE_EXTENSIONS = frozenset({
    "png", "jpg", "jpeg", "jpe", "jfif", "gif", "bmp", "dib", "tif", "tiff", "emf", "wmf",
    "emz", "wmz", "svg", "svgz", "webp", "pct", "pict", "eps", "ico", "wdp", "jxr", "hdp",
    "heic", "heif", "avif", "svm", "pcx", "tga",
})  # fmt: skip
# Where office formats keep pictures and embedded objects (other documents, OLE objects).
PICTURE_FOLDERS = ("media", "embeddings", "pictures", "objectreplacements", "activex")
# Page previews the office suite writes by itself; replaced by a blank picture.
THUMBNAILS = frozenset({"thumbnails/thumbnail.png", "docprops/thumbnail.jpeg",
                        "docprops/thumbnail.jpg", "docprops/thumbnail.png"})  # fmt: skip
# Elements after which the extracted text starts a new line (paragraphs, cells, rows).
_BLOCKS = frozenset({"p", "h", "tr", "tc", "row", "si", "c", "table-row", "table-cell",
                     "list-item", "br", "cr", "comment", "annotation"})  # fmt: skip


class DocumentRefused(Exception):
    """The document cannot be accepted; ``reason`` is a stable code translated by the caller."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason


@dataclass(frozen=True, slots=True)
class Member:
    """One entry of an office archive, as its central directory declares it."""

    name: str
    size: int
    compressed: int


def check_members(members: list[Member]) -> None:
    """Refuse archives that expand too much, hide pictures or objects, or escape their root.

    Declared sizes are checked here; the caller counts the bytes it really reads as well.
    """
    if len(members) > MAX_MEMBERS:
        raise DocumentRefused("document_too_large")
    if sum(member.size for member in members) > MAX_EXPANDED_BYTES:
        raise DocumentRefused("document_too_large")
    for member in members:
        if member.size >= RATIO_CHECKED_FROM and member.size > MAX_RATIO * max(
            member.compressed, 1
        ):
            raise DocumentRefused("document_too_large")
        normalised = posixpath.normpath(member.name)
        if (
            member.name.startswith(("/", "\\"))
            or normalised.startswith("..")
            or ("\\" in member.name)
        ):
            raise DocumentRefused("document_unreadable")
        if is_picture(member.name):
            raise DocumentRefused("document_images")


def is_thumbnail(name: str) -> bool:
    return name.lower() in THUMBNAILS


def is_picture(name: str) -> bool:
    """A picture or an embedded object (page thumbnails excepted: they are replaced)."""
    lowered = name.lower()
    if is_thumbnail(lowered) or lowered.endswith("/"):
        return False
    folders = lowered.split("/")[:-1]
    if any(folder in PICTURE_FOLDERS for folder in folders):
        return True
    # ODF embedded objects (charts, formulas, other documents) live in "Object N/".
    if any(folder.startswith("object ") for folder in folders):
        return True
    extension = lowered.rsplit(".", 1)[-1] if "." in lowered.rsplit("/", 1)[-1] else ""
    if extension in {"bin", "ole"}:  # OLE objects; Excel's printer settings are harmless
        return "printersettings" not in folders
    return extension in PICTURE_EXTENSIONS


def is_text_part(name: str) -> bool:
    """The parts whose text is screened: every XML part (body, headers, comments, cells,
    document properties), not the package's own bookkeeping."""
    lowered = name.lower()
    return lowered.endswith(".xml") and lowered not in {"[content_types].xml",
                                                        "meta-inf/manifest.xml"}  # fmt: skip


class XmlText:
    """The text of one XML part, fed in chunks: runs joined, a line per paragraph, cell or row.

    Document type declarations (and so entities) are refused: office formats never use them,
    and they are how XML bombs are built.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self._refuse
        parser.EntityDeclHandler = self._refuse
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        self._parser = parser

    def feed(self, data: bytes) -> None:
        self._parse(data, False)

    def text(self) -> str:
        self._parse(b"", True)
        return "".join(self._parts)

    def _parse(self, data: bytes, final: bool) -> None:
        try:
            self._parser.Parse(data, final)
        except xml.parsers.expat.ExpatError as exc:
            raise DocumentRefused("document_unreadable") from exc

    def _refuse(self, *_args: object) -> None:
        raise DocumentRefused("document_unreadable")

    def _characters(self, text: str) -> None:
        self._size += len(text)
        if self._size > MAX_TEXT_CHARS:
            raise DocumentRefused("document_too_large")
        self._parts.append(text)

    def _start(self, name: str, _attributes: object) -> None:
        if name.rsplit(" ", 1)[-1] == "tab":
            self._parts.append("\t")

    def _end(self, name: str) -> None:
        if name.rsplit(" ", 1)[-1] in _BLOCKS:
            self._parts.append("\n")


def xml_text(data: bytes) -> str:
    """The text of one whole XML part (see ``XmlText``)."""
    collector = XmlText()
    collector.feed(data)
    return collector.text()


def joined(texts: list[str]) -> str:
    """The texts of several parts (or pages) as one text to screen, within the limit."""
    text = "\n".join(part.strip("\n") for part in texts if part.strip())
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentRefused("document_too_large")
    return text
