"""Files queued on the new-ticket form survive the form coming back (identifier review,
field errors): the ticket is created with them, redacted as the user drew."""

from __future__ import annotations

import io

from PIL import Image
from playwright.async_api import Browser, Page, expect

from server.db.tables import Attachment, Ticket
from tests import document_files as files
from tests import factories
from tests.browser.test_attachments import PASTE_SCREENSHOT
from tests.browser.test_ticket_flow import sign_in

NIR = "1 85 05 78 006 084 91"


async def paste_and_redact(page: Page) -> None:
    """Paste a 300x200 screenshot with a red "patient name" zone and cover it with a box."""
    await page.evaluate(PASTE_SCREENSHOT)
    dialog = page.locator(".redact-dialog")
    await expect(dialog).to_be_visible()
    box = await dialog.locator("canvas").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 15, box["y"] + 15)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 90, box["y"] + 60, steps=5)
    await page.mouse.move(box["x"] + 150, box["y"] + 90, steps=5)
    await page.mouse.up()
    await expect(dialog.locator(".redact-boxes li")).to_have_count(1)
    await dialog.locator("[data-action=attach]").click()
    await expect(page.locator(".uploads li.queued")).to_have_count(1)


async def assert_created_with_redacted_screenshot(page: Page, base: str) -> None:
    await page.wait_for_url(f"{base}/tickets/*")
    thumbnail = page.locator(".timeline li.attachment img.thumbnail")
    await expect(thumbnail).to_have_count(1)
    src = await thumbnail.get_attribute("src")
    response = await page.request.get(f"{base}{src}")
    image = Image.open(io.BytesIO(await response.body())).convert("RGB")
    scale = image.width / 300
    assert image.getpixel((int(80 * scale), int(50 * scale))) == (0, 0, 0)  # was red
    assert min(image.getpixel((int(250 * scale), int(150 * scale)))) > 200
    assert await Ticket.count() == 1
    assert await Attachment.count() == 1


async def test_screenshot_survives_the_identifier_review(
    live_server: str, browser: Browser
) -> None:
    await factories.world()
    page = await sign_in(browser, live_server, "alice@chu-a.test")
    await page.goto(f"{live_server}/tickets/new")
    await page.fill("#title", "Écran figé à l'accueil")
    await paste_and_redact(page)
    await page.fill("#description", f"Bloqué sur le dossier NIR {NIR}, voir la capture.")
    await page.click("button:has-text('Envoyer le ticket')")

    # The form comes back for review: the screenshot is still queued, and says so.
    await expect(page.locator("#description-phi")).to_be_visible()
    queued = page.locator(".uploads li.queued")
    await expect(queued).to_have_count(1)
    await expect(queued).to_contain_text("capture.png")
    assert await Ticket.count() == 0
    await page.click("button:has-text('Les remplacer par un marqueur et envoyer')")

    await assert_created_with_redacted_screenshot(page, live_server)
    description = (await Ticket.select(Ticket.description).first())["description"]
    assert NIR not in description


async def test_screenshot_survives_a_field_error(live_server: str, browser: Browser) -> None:
    await factories.world()
    page = await sign_in(browser, live_server, "alice@chu-a.test")
    await page.goto(f"{live_server}/tickets/new")
    await paste_and_redact(page)
    await page.fill("#description", "L'écran reste figé, capture jointe.")
    await page.click("button:has-text('Envoyer le ticket')")  # no title

    await expect(page.locator("#title[aria-invalid=true]")).to_be_visible()
    await expect(page.locator(".uploads li.queued")).to_have_count(1)
    assert await Ticket.count() == 0
    await page.fill("#title", "Écran figé à l'accueil")
    await page.click("button:has-text('Envoyer le ticket')")

    await assert_created_with_redacted_screenshot(page, live_server)


async def test_word_file_findings_are_shown_in_its_text(live_server: str, browser: Browser) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Courrier type du DPI")
    page = await sign_in(browser, live_server, "alice@chu-a.test")
    await page.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    document = files.docx([["Le modèle plante pour le dossier NIR ", NIR, " à l'impression"]])
    await page.set_input_files(
        "#attach-input",
        files=[{"name": "modele.docx", "mimeType": "application/octet-stream", "buffer": document}],
    )
    panel = page.locator(".review")
    # The preview is the document's text, not the bytes of the archive.
    await expect(panel.locator(".review-preview")).to_contain_text("Le modèle plante")
    await expect(panel.locator(".review-preview mark")).to_have_text(NIR)
    await panel.locator("button", has_text="envoyer tel quel").click()
    await expect(page.locator(".uploads li.done")).to_have_count(1)
    await expect(page.locator(".timeline li.attachment")).to_contain_text("modele.docx")
    assert await Attachment.count() == 1
