"""A requester opens a ticket, a technician takes and resolves it, the requester sees it."""

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests import factories

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


async def sign_in(browser: Browser, base: str, email: str, locale: str = "fr-FR") -> Page:
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda error: (_ for _ in ()).throw(AssertionError(str(error))))
    await page.goto(f"{base}/login")
    await page.fill("#email", email)
    await page.fill("#password", factories.PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base}/tickets")
    return page


async def test_requester_files_technician_resolves_requester_sees_solution(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    assert w.category_id

    requester = await sign_in(browser, live_server, "alice@chu-a.test")
    await requester.click("text=Nouveau ticket")
    await requester.fill("#title", "Imprimante des urgences hors ligne")
    await requester.select_option("#category_id", label="Incident de production")
    await requester.fill("#description", "Plus aucune impression depuis 7 h.")
    await requester.click("button:has-text('Envoyer le ticket')")
    await expect(requester.locator("h1 .title")).to_have_text("Imprimante des urgences hors ligne")
    await expect(requester.locator(".badges")).to_contain_text("Nouveau")
    ticket_url = requester.url

    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets?assignee=none")
    await tech.click("text=Imprimante des urgences hors ligne")
    await tech.click("#take")
    await expect(tech.locator(".ticket-facts .assignee")).to_have_text("Théo Tech")
    await expect(tech.locator(".badges")).to_contain_text("En cours (attribué)")
    await tech.select_option("#status-target", "resolved")
    await tech.fill("#solution", "Bourrage papier retiré, file d'impression relancée.")
    await tech.click("#composer-send")
    await expect(tech.locator(".badges")).to_contain_text("Résolu")
    SHOTS.mkdir(exist_ok=True)
    await tech.screenshot(path=str(SHOTS / "technician-resolved.png"), full_page=True)

    await requester.goto(ticket_url)
    await expect(requester.locator("#solution")).to_contain_text("Bourrage papier retiré")
    await expect(requester.locator(".badges")).to_contain_text("Résolu")
    # The requester may accept the solution by closing; the desk's controls are absent.
    await expect(requester.locator("#take")).to_have_count(0)
    await expect(requester.locator("#status-target")).to_have_count(0)
    await requester.screenshot(path=str(SHOTS / "requester-sees-solution.png"), full_page=True)
    await requester.click("#close-ticket")
    await expect(requester.locator(".badges")).to_contain_text("Clos")
    await expect(requester.locator("#follow-up-text")).to_have_count(0)


async def test_follow_up_is_added_inline_without_reload(live_server: str, browser: Browser) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="VPN instable")
    page = await sign_in(browser, live_server, "alice@chu-a.test", locale="en-GB")
    await page.goto(f"{live_server}/tickets/{ticket_id}")
    marker = await page.evaluate("() => { window.__kept = 42; return window.__kept; }")
    await page.fill("#follow-up-text", "It dropped again at 10:15.")
    await page.click(".follow-up-form button[type=submit]")
    await expect(page.locator(".timeline")).to_contain_text("It dropped again at 10:15.")
    assert await page.evaluate("() => window.__kept") == marker  # same document: htmx swap
    await expect(page.locator("#follow-up-text")).to_have_value("")
