"""Paste a screenshot, draw a box over it, attach: the stored thumbnail shows the black box."""

import io

from PIL import Image
from playwright.async_api import Browser, expect

from tests import factories
from tests.browser.test_ticket_flow import SHOTS, sign_in

PASTE_SCREENSHOT = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 300; canvas.height = 200;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "rgb(240, 240, 240)"; ctx.fillRect(0, 0, 300, 200);
  ctx.fillStyle = "rgb(200, 0, 0)"; ctx.fillRect(20, 20, 120, 60);  // "patient name" zone
  const blob = await new Promise(resolve => canvas.toBlob(resolve, "image/png"));
  const data = new DataTransfer();
  data.items.add(new File([blob], "capture.png", { type: "image/png" }));
  document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
}"""


async def test_pasted_screenshot_is_redacted_before_it_is_stored(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Écran figé au secrétariat")
    page = await sign_in(browser, live_server, "alice@chu-a.test")
    await page.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await page.evaluate(PASTE_SCREENSHOT)

    dialog = page.locator(".redact-dialog")
    await expect(dialog).to_be_visible()
    canvas = dialog.locator("canvas")
    box = await canvas.bounding_box()
    assert box is not None
    # Cover the red zone (20,20)-(140,80) in image pixels; the canvas is shown at scale 1.
    await page.mouse.move(box["x"] + 15, box["y"] + 15)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 90, box["y"] + 60, steps=5)
    await page.mouse.move(box["x"] + 150, box["y"] + 90, steps=5)
    await page.mouse.up()
    await expect(dialog.locator(".redact-boxes li")).to_have_count(1)
    await dialog.locator("[data-action=attach]").click()

    await expect(page.locator(".uploads li.done")).to_have_count(1)
    thumbnail = page.locator(".timeline li.attachment img.thumbnail")
    await expect(thumbnail).to_have_count(1)  # pushed live into the timeline
    await expect(thumbnail).to_be_visible()
    src = await thumbnail.get_attribute("src")
    response = await page.request.get(f"{live_server}{src}")
    image = Image.open(io.BytesIO(await response.body())).convert("RGB")
    scale = image.width / 300
    assert image.getpixel((int(80 * scale), int(50 * scale))) == (0, 0, 0)  # was red
    r, g, b = image.getpixel((int(250 * scale), int(150 * scale)))
    assert min(r, g, b) > 200  # untouched background
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "redacted-attachment.png"), full_page=True)


async def test_files_chosen_on_the_new_ticket_form_are_attached(
    live_server: str, browser: Browser
) -> None:
    await factories.world()
    page = await sign_in(browser, live_server, "alice@chu-a.test")
    await page.goto(f"{live_server}/tickets/new")
    await page.fill("#title", "Erreur au démarrage du logiciel")
    await page.fill("#description", "Le journal est joint.")
    await page.set_input_files(
        "#attach-input",
        files=[{"name": "demarrage.log", "mimeType": "text/plain",
                "buffer": "10:02 ERROR connexion refusée\n".encode()}],
    )  # fmt: skip
    await expect(page.locator(".uploads li")).to_have_count(1)
    await page.click("button:has-text('Envoyer le ticket')")
    await page.wait_for_url(f"{live_server}/tickets/*")
    await expect(page.locator(".timeline li.attachment")).to_contain_text("demarrage.log")


async def test_text_file_findings_are_reviewed_before_attaching(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Journal d'erreurs du DPI")
    page = await sign_in(browser, live_server, "alice@chu-a.test")
    await page.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    log = "erreur dossier NIR 1 85 05 78 006 084 91, contact support@example.org, M. Dupont\n"
    await page.set_input_files(
        "#attach-input",
        files=[{"name": "dpi.log", "mimeType": "text/plain", "buffer": log.encode()}],
    )
    panel = page.locator(".review")
    await expect(panel.locator("mark").first).to_be_visible()
    await expect(panel.locator("li")).to_have_count(2)
    # The support address is not patient data: untick it; the surname was missed: add it.
    await panel.locator("li", has_text="support@example.org").locator("input").uncheck()
    await panel.locator(".review-more").fill("Dupont")
    await panel.locator("button.primary").click()
    await expect(page.locator(".uploads li.done")).to_have_count(1)
    link = page.locator(".timeline li.attachment a", has_text="dpi.log")
    await expect(link).to_have_count(1)
    href = await link.get_attribute("href")
    stored = (await (await page.request.get(f"{live_server}{href}")).body()).decode()
    assert stored == "erreur dossier NIR [NIR], contact support@example.org, M. [REDACTED]\n"


PASTE_LARGE_SCREENSHOT = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 1200; canvas.height = 800;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "rgb(240, 240, 240)"; ctx.fillRect(0, 0, 1200, 800);
  ctx.fillStyle = "rgb(200, 0, 0)"; ctx.fillRect(700, 500, 300, 150);  // "patient name" zone
  const blob = await new Promise(resolve => canvas.toBlob(resolve, "image/png"));
  const data = new DataTransfer();
  data.items.add(new File([blob], "capture-large.png", { type: "image/png" }));
  document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true }));
}"""


class Finger:
    """Real touch input through the DevTools protocol (Playwright's touchscreen only taps)."""

    def __init__(self, cdp) -> None:
        self.cdp = cdp

    async def touch(self, kind: str, *points: tuple[float, float]) -> None:
        await self.cdp.send(
            "Input.dispatchTouchEvent",
            {
                "type": kind,
                "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)],
            },
        )

    async def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        await self.touch("touchStart", start)
        for step in range(1, 9):
            t = step / 8
            await self.touch(
                "touchMove",
                (start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t),
            )
        await self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def test_redaction_on_a_phone_with_fingers(live_server: str, browser: Browser) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Écran figé aux urgences")
    context = await browser.new_context(
        locale="fr-FR", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await page.goto(f"{live_server}/login")
    await page.fill("#email", "alice@chu-a.test")
    await page.fill("#password", factories.PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{live_server}/tickets")
    await page.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await page.evaluate(PASTE_LARGE_SCREENSHOT)

    dialog = page.locator(".redact-dialog")
    await expect(dialog).to_be_visible()
    canvas = dialog.locator("canvas")
    box = await canvas.bounding_box()
    assert box is not None
    # The whole 1200 px screenshot fits the 390 px screen: every part can be seen.
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    scale = box["width"] / 1200

    async def at(x: float, y: float) -> tuple[float, float]:
        now = await canvas.bounding_box()
        assert now is not None
        return now["x"] + x * scale, now["y"] + y * scale

    finger = Finger(await context.new_cdp_session(page))
    # Draw a box in the wrong place, move it onto the red zone, then pull its corner to
    # cover all of it.
    await finger.drag(await at(100, 100), await at(300, 200))
    await expect(dialog.locator(".redact-boxes li")).to_have_count(1)
    await finger.drag(await at(200, 150), await at(800, 550))  # grab the middle: it follows
    await finger.drag(await at(900, 600), await at(1050, 700))  # its bottom-right handle
    await expect(dialog.locator(".redact-boxes li")).to_have_count(1)

    # Two fingers pinch open: the image is shown larger.
    await finger.touch("touchStart", (150, 300), (200, 300))
    for spread in range(1, 6):
        await finger.touch("touchMove", (150 - spread * 15, 300), (200 + spread * 15, 300))
    await finger.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    zoomed = await canvas.bounding_box()
    assert zoomed is not None and zoomed["width"] > box["width"] * 1.5
    await dialog.locator("[data-action=attach]").click()

    await expect(page.locator(".uploads li.done")).to_have_count(1)
    thumbnail = page.locator(".timeline li.attachment img.thumbnail")
    await expect(thumbnail).to_have_count(1)
    link = page.locator(".timeline li.attachment a[href*='/attachments/']").first
    href = await link.get_attribute("href")
    response = await page.request.get(f"{live_server}{href}")
    image = Image.open(io.BytesIO(await response.body())).convert("RGB")
    assert image.size == (1200, 800)
    for x, y in ((710, 510), (850, 575), (990, 640)):  # the red zone, corner to corner
        assert image.getpixel((x, y)) == (0, 0, 0), (x, y)
    for x, y in ((150, 150), (1150, 100), (100, 750)):  # untouched, including the first place
        assert min(image.getpixel((x, y))) > 200, (x, y)
    await context.close()
