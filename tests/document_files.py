"""Office documents and PDFs built at test time (no binary fixture is committed)."""

from __future__ import annotations

import functools
import io
import zipfile

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def content_types(main: str) -> bytes:
    return (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'content-types"><Override PartName="/main" ContentType="{main}"/></Types>'
    ).encode()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            kind = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=kind)
    return buffer.getvalue()


def docx(paragraphs: list[list[str]], extra: dict[str, bytes] | None = None) -> bytes:
    """Each paragraph is a list of runs (Word splits text into runs anywhere)."""
    body = "".join(
        "<w:p>"
        + "".join(f"<w:r><w:t xml:space='preserve'>{run}</w:t></w:r>" for run in runs)
        + "</w:p>"
        for runs in paragraphs
    )
    document = f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    return zipped(
        {"[Content_Types].xml": content_types(DOCX_MAIN), "word/document.xml": document.encode(),
         **(extra or {})}
    )  # fmt: skip


def xlsx(cells: list[str]) -> bytes:
    items = "".join(f"<si><t>{cell}</t></si>" for cell in cells)
    shared = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{items}</sst>'
    return zipped(
        {"[Content_Types].xml": content_types(XLSX_MAIN), "xl/workbook.xml": b"<workbook/>",
         "xl/sharedStrings.xml": shared.encode(),
         "xl/printerSettings/printerSettings1.bin": b"\x00printer"}
    )  # fmt: skip


def odf(kind: str, paragraphs: list[str], extra: dict[str, bytes] | None = None) -> bytes:
    text = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    content = (
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        f"{text}</office:body></office:document-content>"
    )
    return zipped(
        {"mimetype": f"application/vnd.oasis.opendocument.{kind}".encode(),
         "content.xml": content.encode(), **(extra or {})}
    )  # fmt: skip


def png(colour: tuple[int, int, int] = (200, 0, 0), size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "Patient Dupont"  # ImageDescription
    Image.new("RGB", size, colour).save(buffer, "PNG", exif=exif)
    return buffer.getvalue()


@functools.cache
def zip_bomb(name: str, mebibytes: int) -> bytes:
    """A docx holding ``mebibytes`` MiB of zeros in one part (written in chunks, built once)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types(DOCX_MAIN))
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{W}"/>')
        with archive.open(name, "w", force_zip64=True) as part:
            zeros = bytes(1024 * 1024)
            for _ in range(mebibytes):
                part.write(zeros)
    return buffer.getvalue()


def pdf(
    lines: list[str],
    *,
    javascript: bool = False,
    attachment: bool = False,
    picture: bool = False,
    file_annotation: bool = False,
) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject(
        {NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
         NameObject("/BaseFont"): NameObject("/Helvetica")}
    )  # fmt: skip
    resources = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    operations = "".join(
        f"BT /F1 12 Tf 72 {760 - 20 * i} Td ({line}) Tj ET\n" for i, line in enumerate(lines)
    )
    if picture:
        image = DecodedStreamObject()
        image.set_data(bytes([200, 0, 0]) * 4)
        image.update(
            {NameObject("/Type"): NameObject("/XObject"),
             NameObject("/Subtype"): NameObject("/Image"),
             NameObject("/Width"): NumberObject(2), NameObject("/Height"): NumberObject(2),
             NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
             NameObject("/BitsPerComponent"): NumberObject(8)}
        )  # fmt: skip
        resources[NameObject("/XObject")] = DictionaryObject(
            {NameObject("/Im1"): writer._add_object(image)}
        )
        operations += "q 100 0 0 100 72 400 cm /Im1 Do Q\n"
    stream = DecodedStreamObject()
    stream.set_data(operations.encode("latin-1"))
    page[NameObject("/Resources")] = resources
    page[NameObject("/Contents")] = writer._add_object(stream)
    if javascript:
        alert = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"),
             NameObject("/JS"): TextStringObject("app.alert('pwned');")}
        )  # fmt: skip
        scripts = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("a"), writer._add_object(alert)])}
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject(
            {NameObject("/JavaScript"): scripts}
        )
        action = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"),
             NameObject("/JS"): TextStringObject("app.launchURL('http://evil.test');")}
        )  # fmt: skip
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
        page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(action)})
        launch = DictionaryObject(
            {NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
             NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
             NameObject("/A"): DictionaryObject(
                 {NameObject("/S"): NameObject("/Launch"),
                  NameObject("/F"): TextStringObject("calc.exe")})}
        )  # fmt: skip
        page[NameObject("/Annots")] = ArrayObject([writer._add_object(launch)])
    if attachment:
        writer.add_attachment("patients.csv", b"NIR;nom\n")
    if file_annotation:
        note = DictionaryObject(
            {NameObject("/Type"): NameObject("/Annot"),
             NameObject("/Subtype"): NameObject("/FileAttachment"),
             NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4)}
        )  # fmt: skip
        page[NameObject("/Annots")] = ArrayObject([writer._add_object(note)])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
