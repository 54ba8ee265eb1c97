"""Accessibility in real Chromium: axe-core on every page for every role (no serious or critical
violation), and the core loop (file, take, move, resolve) done with the keyboard alone, focus
kept where a keyboard user needs it."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect

from server.db.canned_tables import CannedReply
from server.domain.vocabulary import Role
from tests import factories
from tests.browser.session import signed_in_page

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js").read_text()

# Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not apply.
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}"""


async def _context(browser: Browser) -> BrowserContext:
    return await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})


async def _axe(page: Page) -> list[str]:
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.evaluate(AXE)
    return await page.evaluate(RUN_AXE)


async def test_axe_finds_no_serious_violation_on_any_page_for_any_role(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, w.est_a, "Adèle Admin")
    ticket_id = await factories.ticket(
        w.requester_a, title="Scanner du bloc B injoignable", category_id=w.category_id
    )
    base = live_server
    requester_pages = [
        "/tickets", "/tickets?scope=establishment", "/tickets/new", f"/tickets/{ticket_id}",
        "/board", "/kb", "/search?q=scanner", "/notifications", "/notifications/preferences",
    ]
    staff_pages = [
        "/", "/tickets?scope=all", "/tickets?scope=backlog", f"/tickets/{ticket_id}", "/board",
        "/search?q=scanner", "/kb", "/canned", "/canned/new",
    ]
    # A canned reply of the desk's group, so the composer's picker is checked too.
    await CannedReply.insert(
        CannedReply(title="Accusé", body="Bonjour {requester}", language="fr", group=w.group_id)
    )
    pages_by_person = {
        "alice@chu-a.test": requester_pages,
        "tech@desk.test": staff_pages,
        "sup@desk.test": [
            *staff_pages, "/overview", "/reports/sla", "/wallboard",
            "/board?density=compact&lanes=group",
        ],
        "admin@desk.test": [
            *staff_pages, "/admin", "/admin/users", "/admin/establishments", "/admin/groups",
            "/admin/sla", "/admin/mail", "/kb/new",
        ],
    }
    context = await _context(browser)
    # The harness itself finds a planted violation (an image without any text alternative).
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"/x.png\">')")
    assert any(v.startswith("image-alt") for v in await _axe(page))
    await page.close()

    for email, paths in pages_by_person.items():
        page = await signed_in_page(context, base, email)
        for path in paths:
            response = await page.goto(f"{base}{path}")
            assert response is not None and response.status == 200, path
            await page.wait_for_load_state("networkidle")
            assert await _axe(page) == [], f"{email} {path}"
        await context.clear_cookies()
        await page.close()
    await context.close()


async def _tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element is focused: proves it is reachable by keyboard."""
    for _ in range(limit):
        if await page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reachable with Tab")


async def test_core_loop_with_the_keyboard_alone(live_server: str, browser: Browser) -> None:
    await factories.world()
    base = live_server
    context = await _context(browser)

    # File: an empty title comes back with the keyboard on the title field.
    requester = await signed_in_page(context, base, "alice@chu-a.test")
    await requester.goto(f"{base}/tickets/new")
    await _tab_to(requester, "#description")
    await requester.keyboard.type("Le moniteur de la salle 4 ne s'allume plus.")
    await _tab_to(requester, "form[action='/tickets'] button[type=submit]")
    await requester.keyboard.press("Enter")
    await expect(requester.locator("#title")).to_be_focused()
    await requester.keyboard.type("Moniteur salle 4 éteint")
    await _tab_to(requester, "form[action='/tickets'] button[type=submit]")
    await requester.keyboard.press("Enter")
    await expect(requester.locator("h1 .title")).to_have_text("Moniteur salle 4 éteint")
    ticket_id = int(requester.url.rstrip("/").rsplit("/", 1)[1])
    await context.clear_cookies()

    # Take.
    tech = await signed_in_page(context, base, "tech@desk.test")
    await tech.goto(f"{base}/tickets/{ticket_id}")
    await _tab_to(tech, "#take")
    await tech.keyboard.press("Enter")
    await expect(tech.locator(".ticket-facts .assignee")).to_have_text("Théo Tech")

    # Move on the board from the card's keyboard menu: focus stays on the card.
    await tech.goto(f"{base}/board")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    card = f"#card-{ticket_id}"
    await _tab_to(tech, f"{card} summary")
    await tech.keyboard.press("Enter")
    await _tab_to(tech, f"{card} [data-move='pending']")
    await tech.keyboard.press("Enter")
    await expect(tech.locator(f"#cards-pending {card}")).to_be_visible()
    await expect(tech.locator(card)).to_be_focused()

    # Resolve from the ticket page.
    await tech.goto(f"{base}/tickets/{ticket_id}")
    await _tab_to(tech, "#status-target")
    await tech.keyboard.press("r")  # "Résolu"
    await expect(tech.locator("#status-target")).to_have_value("resolved")
    await _tab_to(tech, "#solution")
    await tech.keyboard.type("Câble d'alimentation remplacé.")
    await _tab_to(tech, "#composer-send")
    await tech.keyboard.press("Enter")
    await expect(tech.locator(".badges")).to_contain_text("Résolu")
    await context.close()
