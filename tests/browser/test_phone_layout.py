"""A clinician on a ward phone: every requester page (and the technician's ticket page) fits a
360 px screen, the top bar folds into a menu, lists become cards; and no page, on a phone or a
desktop, trips the content security policy."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Page, expect

from server.domain.vocabulary import Role
from tests import factories
from tests.browser.session import signed_in_page

PHONE = {"width": 360, "height": 740}

# Collects violations from the page itself: console wording differs between browser versions.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


async def _context(browser: Browser, *, phone: bool) -> BrowserContext:
    if phone:
        return await browser.new_context(
            locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
        )
    return await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})


async def _visit(page: Page, url: str) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == 200, url
    await page.wait_for_load_state("networkidle")


async def _horizontal_overflow(page: Page) -> int:
    return await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


async def _csp_violations(page: Page) -> list[str]:
    return await page.evaluate("window.__cspViolations || []")


async def _requester_pages(base: str, ticket_id: int) -> list[str]:
    return [
        f"{base}/tickets",
        f"{base}/tickets?scope=establishment",
        f"{base}/tickets?scope=following",
        f"{base}/tickets?tab=closed",
        f"{base}/tickets/new",
        f"{base}/tickets/{ticket_id}",
        f"{base}/board",
        f"{base}/kb",
        f"{base}/search?q=imprimante",
        f"{base}/notifications",
        f"{base}/notifications/preferences",
    ]


async def _world_with_tickets() -> tuple[factories.World, int]:
    w = await factories.world()
    ticket_id = await factories.ticket(
        w.requester_a,
        title="Imprimante du service de cardiologie hors ligne depuis ce matin",
        description="Aucune impression possible depuis le poste infirmier du 3e étage.",
        category_id=w.category_id,
    )
    for number in range(3):
        await factories.ticket(w.requester_a, title=f"Écran {number} du bloc opératoire figé")
    return w, ticket_id


async def test_requester_pages_fit_a_phone_and_the_menu_folds(
    live_server: str, browser: Browser
) -> None:
    _, ticket_id = await _world_with_tickets()
    context = await _context(browser, phone=True)
    page = await signed_in_page(context, live_server, "alice@chu-a.test", init_script=CSP_LISTENER)

    for url in await _requester_pages(live_server, ticket_id):
        await _visit(page, url)
        assert await _horizontal_overflow(page) <= 0, f"{url} scrolls sideways"
        # Folded: the menu button and the bell are in sight, the sign-out button is not.
        toggle = page.locator(".menu-toggle")
        await expect(toggle).to_be_visible()
        await expect(toggle).to_have_attribute("aria-expanded", "false")
        await expect(page.locator("#bell")).to_be_visible()
        sign_out = page.locator("form[action='/logout'] button")
        await expect(sign_out).to_be_hidden()

    # Unfolded, every destination and the sign-out button fit the screen.
    await _visit(page, f"{live_server}/tickets")
    await page.click(".menu-toggle")
    await expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
    sign_out = page.locator("form[action='/logout'] button")
    await expect(sign_out).to_be_visible()
    box = await sign_out.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert await _horizontal_overflow(page) <= 0
    # Escape folds it again and gives focus back to the button.
    await page.keyboard.press("Escape")
    await expect(sign_out).to_be_hidden()
    await expect(page.locator(".menu-toggle")).to_be_focused()

    # The list is one card per ticket: each row as wide as the screen, its values labelled.
    row = page.locator("#ticket-list tbody tr").first
    row_box = await row.bounding_box()
    assert row_box is not None and row_box["width"] <= PHONE["width"]
    label = await page.locator("#ticket-list tbody td[data-label]").first.evaluate(
        "cell => getComputedStyle(cell, '::before').content"
    )
    assert "Statut" in label
    assert await _csp_violations(page) == []
    await context.close()


async def test_technician_ticket_page_fits_a_phone(live_server: str, browser: Browser) -> None:
    _, ticket_id = await _world_with_tickets()
    context = await _context(browser, phone=True)
    page = await signed_in_page(context, live_server, "tech@desk.test", init_script=CSP_LISTENER)
    for url in (f"{live_server}/tickets/{ticket_id}", f"{live_server}/tickets?scope=backlog"):
        await _visit(page, url)
        assert await _horizontal_overflow(page) <= 0, f"{url} scrolls sideways"
    # The desk's controls are all reachable in the one column.
    await _visit(page, f"{live_server}/tickets/{ticket_id}")
    take = page.locator("#take")
    await take.scroll_into_view_if_needed()
    box = await take.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert await _csp_violations(page) == []
    await context.close()


async def test_no_page_trips_the_content_security_policy(
    live_server: str, browser: Browser
) -> None:
    w, ticket_id = await _world_with_tickets()
    await factories.user("admin@desk.test", Role.ADMIN, w.est_a, "Adèle Admin")
    staff_pages = [
        f"{live_server}/tickets?scope=all",
        f"{live_server}/tickets?scope=backlog",
        f"{live_server}/tickets/{ticket_id}",
        f"{live_server}/board",
        f"{live_server}/search?q=imprimante",
        f"{live_server}/kb",
    ]
    pages_by_person = {
        "alice@chu-a.test": await _requester_pages(live_server, ticket_id),
        "tech@desk.test": staff_pages,
        "sup@desk.test": [*staff_pages, f"{live_server}/overview", f"{live_server}/reports/sla"],
        "admin@desk.test": [
            *staff_pages,
            f"{live_server}/admin",
            f"{live_server}/admin/users",
            f"{live_server}/admin/establishments",
            f"{live_server}/admin/groups",
            f"{live_server}/admin/sla",
            f"{live_server}/admin/mail",
        ],
    }
    context = await _context(browser, phone=False)
    for email, urls in pages_by_person.items():
        page = await signed_in_page(context, live_server, email, init_script=CSP_LISTENER)
        for url in urls:
            await _visit(page, url)
            assert await _csp_violations(page) == [], url
        # An htmx swap (a list filter) and a live push must not trip it either.
        await _visit(page, f"{live_server}/tickets")
        await page.locator("#q").fill("Écran")
        await page.locator("#q").press("Enter")
        await expect(page.locator("#ticket-list")).to_contain_text("Écran")
        assert await _csp_violations(page) == [], f"{email}: list swap"
        if email == "tech@desk.test":
            # A move from the board's keyboard menu re-renders cards and columns live.
            await _visit(page, f"{live_server}/board")
            card = page.locator("#cards-new article.card").first
            await card.locator("summary").click()
            await card.locator(".card-menu-items button").first.click()
            await expect(page.locator("#cards-new article.card")).to_have_count(3)
            assert await _csp_violations(page) == [], "board move"
        await page.context.clear_cookies()
        await page.close()
    await context.close()
