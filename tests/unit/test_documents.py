"""Office documents and PDFs: the rules (pure) and the rebuild (files built at test time)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from server.domain.documents import (
    MAX_EXPANDED_BYTES,
    DocumentRefused,
    Member,
    check_members,
    is_picture,
    xml_text,
)
from server.services.content import sniff
from server.services.documents import rebuild
from tests import document_files as files

MIB = 1024 * 1024


def refused(reason: str) -> pytest.RaisesExc:
    return pytest.raises(DocumentRefused, match=f"^{reason}$")


@pytest.mark.parametrize(
    "members",
    [
        [Member("word/document.xml", 20 * MIB, 20 * 1024)],  # ratio 1000
        [Member(f"xl/worksheets/sheet{i}.xml", 30 * MIB, 15 * MIB) for i in range(4)],
        [Member(f"p{i}.xml", 1, 1) for i in range(10_001)],
    ],
    ids=["ratio", "total", "count"],
)
def test_archives_that_expand_too_much_are_refused(members: list[Member]) -> None:
    with refused("document_too_large"):
        check_members(members)


def test_ordinary_compression_is_fine() -> None:
    check_members([Member("xl/worksheets/sheet1.xml", 40 * MIB, MIB), Member("a.xml", 10, 1)])
    assert MAX_EXPANDED_BYTES >= 64 * MIB


@pytest.mark.parametrize(
    ("name", "picture"),
    [
        ("word/media/image1.png", True),
        ("xl/media/image1.jpeg", True),
        ("word/embeddings/oleObject1.bin", True),
        ("xl/embeddings/Microsoft_Excel_Worksheet.xlsx", True),
        ("Pictures/100000000000.jpg", True),
        ("ObjectReplacements/Object 1", True),
        ("Object 1/content.xml", True),
        ("word/drawing.emf", True),
        ("Thumbnails/thumbnail.png", False),
        ("docProps/thumbnail.jpeg", False),
        ("xl/printerSettings/printerSettings1.bin", False),
        ("word/document.xml", False),
        ("content.xml", False),
    ],
)
def test_pictures_and_embedded_objects_are_recognised(name: str, picture: bool) -> None:
    assert is_picture(name) is picture
    if picture:
        with refused("document_images"):
            check_members([Member(name, 10, 10)])


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs.xml", "word\\..\\x.xml"])
def test_entries_escaping_the_archive_are_refused(name: str) -> None:
    with refused("document_unreadable"):
        check_members([Member(name, 10, 10)])


def test_text_joins_runs_and_breaks_paragraphs() -> None:
    xml = (
        b'<w:document xmlns:w="urn:w"><w:body><w:p><w:r><w:t>NIR 1 85 05</w:t></w:r>'
        b"<w:r><w:t> 78 006 084 91</w:t></w:r></w:p><w:p><w:r><w:t>a</w:t><w:tab/>"
        b"<w:t>b</w:t></w:r></w:p></w:body></w:document>"
    )
    assert xml_text(xml) == "NIR 1 85 05 78 006 084 91\na\tb\n"


@pytest.mark.parametrize(
    "xml",
    [
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>',
        b"<x><y></x>",
    ],
    ids=["entities", "malformed"],
)
def test_entities_and_broken_xml_are_refused(xml: bytes) -> None:
    with refused("document_unreadable"):
        xml_text(xml)


def test_rebuilt_docx_is_still_a_docx_and_its_text_is_returned(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.docx", tmp_path / "out.docx"
    src.write_bytes(files.docx([["Bonjour ", "le support"], ["Ligne 2"]]) + b"trailing junk")
    assert rebuild(src, dst, "office") == "Bonjour le support\nLigne 2"
    assert sniff(dst, "out.docx").kind == "office"
    assert not dst.read_bytes().endswith(b"trailing junk")


def test_zip_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    src = tmp_path / "bomb.docx"
    src.write_bytes(files.zip_bomb("word/filler.xml", 512))
    with refused("document_too_large"):
        rebuild(src, tmp_path / "out", "office")
    assert not (tmp_path / "out").exists() or (tmp_path / "out").stat().st_size < MIB


def test_encrypted_members_are_refused(tmp_path: Path) -> None:
    data = bytearray(files.docx([["x"]]))
    # Set the "encrypted" flag in every local and central header.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset] |= 0x1
            at = data.find(signature, at + 4)
    src = tmp_path / "locked.docx"
    src.write_bytes(bytes(data))
    with refused("document_unreadable"):
        rebuild(src, tmp_path / "out", "office")


def test_pdf_keeps_web_links_and_text_but_no_active_content(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.pdf", tmp_path / "out.pdf"
    src.write_bytes(files.pdf(["Notice imprimante"], javascript=True))
    assert rebuild(src, dst, "pdf") == "Notice imprimante"
    reader = PdfReader(dst)
    root = reader.trailer["/Root"]
    assert "/OpenAction" not in root
    assert "/Names" not in root
    assert "/AA" not in reader.pages[0]
    assert "/Annots" not in reader.pages[0]  # the launch link is gone


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    src = tmp_path / "locked.pdf"
    src.write_bytes(buffer.getvalue())
    with refused("document_unreadable"):
        rebuild(src, tmp_path / "out", "pdf")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"attachment": True}, "document_files"),
        ({"file_annotation": True}, "document_files"),
        ({"picture": True}, "document_images"),
    ],
)
def test_pdfs_with_files_or_pictures_are_refused(
    tmp_path: Path, options: dict[str, bool], reason: str
) -> None:
    src = tmp_path / "in.pdf"
    src.write_bytes(files.pdf(["x"], **options))
    with refused(reason):
        rebuild(src, tmp_path / "out", "pdf")


def test_garbage_is_unreadable(tmp_path: Path) -> None:
    src = tmp_path / "in.pdf"
    src.write_bytes(b"%PDF-1.7\n garbage")
    with refused("document_unreadable"):
        rebuild(src, tmp_path / "out", "pdf")
    broken = tmp_path / "in.docx"
    broken.write_bytes(files.docx([["x"]])[:50])
    with refused("document_unreadable"):
        rebuild(broken, tmp_path / "out2", "office")
    assert zipfile.is_zipfile(io.BytesIO(files.docx([["x"]])))
