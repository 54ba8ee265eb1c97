"""Attachments through the real app: sanitised storage, guarded downloads, refusals."""

from __future__ import annotations

import io
import json

from litestar.testing import AsyncTestClient
from PIL import Image, PngImagePlugin

from server.db.tables import Attachment, AttachmentDownload
from server.services.attachments import storage
from tests import factories
from tests.web.test_live import connect, receive_until, session_of, use

NIR = "1 85 05 78 006 084 91"


def png_with_secret() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 220, 240))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Dr Secret Patient")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


async def upload(client: AsyncTestClient, ticket_id: int, name: str, data: bytes,
                 boxes: list | None = None, phi: str = ""):  # fmt: skip
    return await client.post(
        f"/tickets/{ticket_id}/attachments",
        files={"file": (name, data, "application/octet-stream")},
        data={"boxes": json.dumps(boxes or []), "phi": phi},
        headers={**factories.csrf_header(client), "accept-language": "fr"},
    )


async def test_image_is_stored_sanitised_with_boxes_burnt_in(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    response = await upload(client, ticket_id, "capture écran.png", png_with_secret(),
                            [{"x": 5, "y": 5, "width": 10, "height": 8}])  # fmt: skip
    assert response.status_code == 201, response.text
    download = await client.get(response.json()["url"])
    assert download.status_code == 200
    assert b"Dr Secret Patient" not in download.content
    stored = Image.open(io.BytesIO(download.content))
    assert stored.getpixel((6, 6)) == (0, 0, 0)
    assert stored.getpixel((30, 20)) == (200, 220, 240)
    assert "Author" not in stored.info
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]
    assert download.headers["cache-control"] == "no-store"
    assert await AttachmentDownload.count() == 1
    thumb = await client.get(response.json()["url"] + "/thumbnail")
    assert thumb.headers["content-type"] == "image/png"
    assert thumb.headers["content-disposition"].startswith("inline")
    page = await client.get(f"/tickets/{ticket_id}")
    assert "capture écran.png" in page.text
    assert f"/attachments/{response.json()['id']}/thumbnail" in page.text
    row = await Attachment.select().first()
    assert len(row["storage_key"]) == 32
    assert not any(storage().tmp.iterdir())  # nothing left behind


async def test_refused_content_stores_nothing(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    html = await upload(client, ticket_id, "innocent.png", b"<html><script>alert(1)</script>")
    assert html.status_code == 422
    assert "PDF" in html.json()["error"]  # the list of what is accepted
    svg = await upload(
        client,
        ticket_id,
        "x.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
    )
    assert svg.status_code == 422
    truncated = await upload(client, ticket_id, "broken.png", png_with_secret()[:60])
    assert truncated.status_code == 422
    boxes = await client.post(
        f"/tickets/{ticket_id}/attachments",
        files={"file": ("a.png", png_with_secret(), "image/png")},
        data={"boxes": '[{"x": "nan"}]'},
        headers=factories.csrf_header(client),
    )
    assert boxes.status_code == 422
    too_big = await upload(client, ticket_id, "big.log", b"x" * (11 * 1024 * 1024))
    assert too_big.status_code == 413
    assert await Attachment.count() == 0
    assert not any(storage().tmp.iterdir())


async def test_text_attachment_is_screened_for_identifiers(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    log = f"2026-11-20 10:00 erreur pour NIR {NIR}\n".encode()
    asked = await upload(client, ticket_id, "app.log", log)
    assert asked.status_code == 422
    assert asked.json()["findings"][0]["kind"] == "nir"
    assert await Attachment.count() == 0
    done = await upload(client, ticket_id, "app.log", log, phi="redact")
    assert done.status_code == 201
    content = (await client.get(done.json()["url"])).content.decode()
    assert NIR not in content
    assert "[NIR]" in content


async def test_other_establishment_cannot_upload_or_download(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    stored = (await upload(client, ticket_id, "a.png", png_with_secret())).json()
    client.cookies.clear()
    await factories.login(client, "bruno@clinique-b.test")
    await client.get("/tickets")
    for path in (stored["url"], stored["url"] + "/thumbnail", "/attachments/999999"):
        assert (await client.get(path)).status_code == 404
    refused = await upload(client, ticket_id, "b.png", png_with_secret())
    assert refused.status_code == 404
    assert await Attachment.count() == 1


async def test_new_attachment_appears_live_on_the_ticket_page(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    tech = await session_of(client, "tech@desk.test")
    alice = await session_of(client, "alice@chu-a.test")
    ws = await connect(client, tech, f"view=ticket&id={ticket_id}")
    with ws:
        receive_until(ws, f'id="timeline-{ticket_id}"')
        use(client, alice)
        assert (await upload(client, ticket_id, "vue.png", png_with_secret())).status_code == 201
        assert "vue.png" in receive_until(ws, "vue.png")


async def test_api_accepts_attachments_with_boxes(client: AsyncTestClient) -> None:
    from server.services import accounts

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    token = await accounts.issue_api_token(w.requester_a.id)
    response = await client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        files={"file": ("shot.png", png_with_secret(), "image/png")},
        data={"boxes": json.dumps([{"x": 0, "y": 0, "width": 40, "height": 30}])},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    row = await Attachment.select().first()
    image = Image.open(storage().path(row["storage_key"]))
    assert image.getpixel((39, 29)) == (0, 0, 0)
    refused = await client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        files={"file": ("x.png", b"MZ\x90\x00 not an image", "image/png")},
        headers={"authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 422
    assert "error" in refused.json()


async def test_supervisors_see_who_downloaded_what(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    stored = (await upload(client, ticket_id, "plan.png", png_with_secret())).json()
    await client.get(stored["url"])
    client.cookies.clear()
    await factories.login(client, "tech@desk.test")
    assert "downloads" not in (await client.get(f"/tickets/{ticket_id}")).text
    client.cookies.clear()
    await factories.login(client, "sup@desk.test")
    page = await client.get(f"/tickets/{ticket_id}", headers={"accept-language": "fr"})
    assert "1 téléchargement de pièces jointes" in page.text
    assert "Alice Martin · plan.png" in page.text


async def test_text_review_keeps_unticked_findings_and_hides_marked_text(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    log = f"NIR {NIR} / support: helpdesk@example.org / patient Dupont\n"
    asked = await upload(client, ticket_id, "app.log", log.encode())
    findings = {f["kind"]: f for f in asked.json()["findings"]}
    assert set(findings) == {"nir", "email"}
    response = await client.post(
        f"/tickets/{ticket_id}/attachments",
        files={"file": ("app.log", log.encode(), "text/plain")},
        data={"phi": "redact", "keep": json.dumps([findings["email"]["start"]]),
              "mark": json.dumps(["Dupont"])},
        headers=factories.csrf_header(client),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    stored = (await client.get(response.json()["url"])).content.decode()
    assert stored == "NIR [NIR] / support: helpdesk@example.org / patient [REDACTED]\n"
