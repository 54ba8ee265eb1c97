"""Attachments that must not carry hidden patient data: erased pixels, office files, PDFs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image
from pypdf import PdfReader

from server.db.tables import Attachment
from server.services.attachments import storage
from tests import document_files as files
from tests import factories
from tests.web.test_attachments_web import upload


def erased_screenshot() -> bytes:
    """A screenshot whose patient banner was "erased" to alpha 0, its colour left behind."""
    image = Image.new("RGBA", (60, 30), (240, 240, 240, 255))
    image.paste((10, 20, 30, 0), (0, 0, 60, 10))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def hidden_colours(data: bytes) -> set[tuple[int, ...]]:
    with Image.open(io.BytesIO(data)) as image:
        raw = image.convert("RGBA").tobytes()
    pixels = {tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)}
    return {pixel for pixel in pixels if pixel[3] == 0}


async def test_erased_pixels_keep_no_colour_in_file_or_thumbnail(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    response = await upload(client, ticket_id, "erased.png", erased_screenshot())
    assert response.status_code == 201, response.text
    stored = await client.get(response.json()["url"])
    thumb = await client.get(response.json()["url"] + "/thumbnail")
    assert hidden_colours(stored.content) == {(0, 0, 0, 0)}
    assert hidden_colours(thumb.content) == {(0, 0, 0, 0)}
    assert await Attachment.count() == 1


# ------------------------------------------------------------------ office documents and PDFs

NIR = "1 85 05 78 006 084 91"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def stored_bytes(client: AsyncTestClient, response) -> bytes:  # type: ignore[no-untyped-def]
    assert response.status_code == 201, response.text
    return (await client.get(response.json()["url"])).content


async def signed_in_on_a_ticket(client: AsyncTestClient) -> int:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    return ticket_id


async def test_word_file_with_a_screenshot_inside_is_refused(client: AsyncTestClient) -> None:
    ticket_id = await signed_in_on_a_ticket(client)
    trap = files.docx([["Voir la capture du dossier NIR ", NIR]],
                      {"word/media/image1.png": files.png()})  # fmt: skip
    response = await upload(client, ticket_id, "capture.docx", trap)
    assert response.status_code == 422
    assert "captures" in response.json()["error"]  # French: attach the screenshots themselves
    assert await Attachment.count() == 0


async def test_zip_bomb_named_docx_is_refused(client: AsyncTestClient) -> None:
    ticket_id = await signed_in_on_a_ticket(client)
    bomb = files.zip_bomb("word/filler.xml", 512)
    assert len(bomb) < 2 * 1024 * 1024
    response = await upload(client, ticket_id, "rapport.docx", bomb)
    assert response.status_code == 422
    assert "décompress" in response.json()["error"]
    assert await Attachment.count() == 0


async def test_document_text_goes_through_the_identifier_review(client: AsyncTestClient) -> None:
    ticket_id = await signed_in_on_a_ticket(client)
    # Word split the identifier over two runs: it is still found.
    document = files.docx([["Erreur à l'ouverture du dossier NIR 1 85 05 ", "78 006 084 91"]])
    asked = await upload(client, ticket_id, "erreur.docx", document)
    assert asked.status_code == 422
    body = asked.json()
    assert [f["kind"] for f in body["findings"]] == ["nir"]
    finding = body["findings"][0]
    assert body["preview"][finding["start"] : finding["end"]] == NIR
    assert await Attachment.count() == 0

    # Identifiers cannot be replaced inside a document: say so, store nothing.
    redact = await upload(client, ticket_id, "erreur.docx", document, phi="redact")
    assert redact.status_code == 422
    assert "document" in redact.json()["error"]
    assert await Attachment.count() == 0

    # Unticked (not patient data), or sent as it is: stored, rebuilt.
    kept = await client.post(
        f"/tickets/{ticket_id}/attachments",
        files={"file": ("erreur.docx", document, DOCX)},
        data={"phi": "redact", "keep": json.dumps([finding["start"]])},
        headers=factories.csrf_header(client),
    )
    stored = await stored_bytes(client, kept)
    assert zipfile.ZipFile(io.BytesIO(stored)).namelist() == [
        "[Content_Types].xml",
        "word/document.xml",
    ]
    row = await Attachment.select().first()
    assert (row["kind"], row["mime"]) == ("office", DOCX)


async def test_spreadsheets_and_open_documents_are_screened(client: AsyncTestClient) -> None:
    ticket_id = await signed_in_on_a_ticket(client)
    sheet = files.xlsx(["Patient", f"NIR {NIR}"])
    text = files.odf("text", [f"NIR {NIR}"])
    table = files.odf("spreadsheet", ["Imprimante", "Bureau 12"])
    for name, data in (("liste.xlsx", sheet), ("note.odt", text)):
        asked = await upload(client, ticket_id, name, data)
        assert asked.status_code == 422, name
        assert asked.json()["findings"][0]["kind"] == "nir"
        await stored_bytes(client, await upload(client, ticket_id, name, data, phi="send"))
    await stored_bytes(client, await upload(client, ticket_id, "parc.ods", table))
    assert await Attachment.count() == 3


async def test_page_preview_of_an_open_document_is_blanked(client: AsyncTestClient) -> None:
    ticket_id = await signed_in_on_a_ticket(client)
    document = files.odf("text", ["Compte rendu"], {"Thumbnails/thumbnail.png": files.png()})
    stored = await stored_bytes(client, await upload(client, ticket_id, "cr.odt", document))
    with zipfile.ZipFile(io.BytesIO(stored)) as archive:
        assert archive.namelist()[0] == "mimetype"
        preview = Image.open(io.BytesIO(archive.read("Thumbnails/thumbnail.png")))
        assert preview.size == (64, 48)
        assert preview.convert("RGB").getpixel((10, 10)) == (255, 255, 255)
        assert not preview.getexif()


async def test_pdf_scripts_and_actions_are_removed(client: AsyncTestClient) -> None:
    ticket_id = await signed_in_on_a_ticket(client)
    trap = files.pdf(["Procedure de connexion"], javascript=True)
    stored = await stored_bytes(client, await upload(client, ticket_id, "procedure.pdf", trap))
    for active in (b"/JavaScript", b"/OpenAction", b"/Launch", b"/AA", b"pwned", b"calc.exe"):
        assert active not in stored
    reader = PdfReader(io.BytesIO(stored))
    assert "Procedure de connexion" in reader.pages[0].extract_text()


async def test_pdf_with_identifiers_files_or_pictures(client: AsyncTestClient) -> None:
    ticket_id = await signed_in_on_a_ticket(client)
    asked = await upload(client, ticket_id, "bon.pdf", files.pdf([f"NIR {NIR}"]))
    assert asked.status_code == 422
    assert asked.json()["findings"][0]["kind"] == "nir"
    carried = await upload(client, ticket_id, "bon.pdf", files.pdf(["x"], attachment=True))
    assert carried.status_code == 422
    assert "fichiers" in carried.json()["error"]
    pictured = await upload(client, ticket_id, "scan.pdf", files.pdf(["x"], picture=True))
    assert pictured.status_code == 422
    assert "captures" in pictured.json()["error"]
    assert await Attachment.count() == 0


async def test_api_applies_the_same_document_rules(client: AsyncTestClient) -> None:
    from server.services import accounts

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    token = await accounts.issue_api_token(w.requester_a.id)

    async def send(name: str, data: bytes, phi: str = ""):  # type: ignore[no-untyped-def]
        return await client.post(
            f"/api/v1/tickets/{ticket_id}/attachments",
            files={"file": (name, data, "application/octet-stream")},
            data={"phi": phi},
            headers={"authorization": f"Bearer {token}", "accept-language": "en"},
        )

    trap = files.docx([["see picture"]], {"word/media/image1.png": files.png()})
    assert (await send("a.docx", trap)).status_code == 422
    assert (await send("b.docx", files.zip_bomb("word/filler.xml", 512))).status_code == 422
    assert (await send("c.pdf", files.pdf([f"NIR {NIR}"]))).status_code == 422
    scripted = await send("d.pdf", files.pdf(["Notice"], javascript=True))
    assert scripted.status_code == 201, scripted.text
    row = await Attachment.select().first()
    assert b"/JavaScript" not in storage().path(row["storage_key"]).read_bytes()
    assert await Attachment.count() == 1


async def test_the_service_rebuilds_documents_whoever_calls_it() -> None:
    """Mail attachments reach ``attach`` without the web layer: same rules."""
    from server.services import attachments

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)

    def received(name: str, data: bytes) -> attachments.Received:
        path = attachments.storage().temporary()
        path.write_bytes(data)
        return attachments.Received(path=path, size=len(data), name=name)

    bomb = received("a.docx", files.zip_bomb("word/filler.xml", 512))
    with pytest.raises(attachments.AttachmentRefused) as refused:
        await attachments.attach(w.requester_a, ticket_id, bomb, [])
    assert refused.value.reason == "document_too_large"
    assert not bomb.path.exists()
    scripted = received("b.pdf", files.pdf(["Notice"], javascript=True))
    attachment_id, _events = await attachments.attach(w.requester_a, ticket_id, scripted, [])
    row = await Attachment.select().where(Attachment.id == attachment_id).first()
    stored = storage().path(row["storage_key"]).read_bytes()
    assert b"/JavaScript" not in stored
    assert b"/OpenAction" not in stored
    assert not any(storage().tmp.iterdir())
