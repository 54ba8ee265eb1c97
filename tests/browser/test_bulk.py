"""Bulk actions in Chromium: a technician assigns fifty tickets from the list; a supervisor's
board, open on another page, follows live."""

from playwright.async_api import Browser, expect

from tests import factories
from tests.browser.test_ticket_flow import sign_in

# Generous: fifty use cases run one after the other on a shared machine.
LIVE_TIMEOUT = 60_000


async def test_bulk_assignment_of_fifty_tickets_updates_a_watching_board(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    ids = [
        await factories.ticket(w.requester_a, title=f"Poste {n:02d} sans réseau") for n in range(50)
    ]

    supervisor = await sign_in(browser, live_server, "sup@desk.test")
    await supervisor.goto(f"{live_server}/board")
    await expect(supervisor.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(supervisor.locator("#count-new")).to_have_text("50")

    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets?scope=all")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    boxes = tech.locator('#ticket-list input[name="ids"]')
    await expect(boxes).to_have_count(25)  # one page of the list
    count = tech.locator("[data-bulk-count]")
    # Shift-click selects a range.
    await boxes.nth(0).click()
    await boxes.nth(4).click(modifiers=["Shift"])
    await expect(count).to_have_text("5")
    for n in range(5):
        await expect(boxes.nth(n)).to_be_checked()
    await expect(boxes.nth(5)).not_to_be_checked()
    # "Select all matching": the fifty, beyond this page.
    await tech.locator("[data-bulk-all]").check()
    await expect(count).to_have_text("50")

    await tech.select_option("#bulk-form select[name='action']", "assign")
    await tech.select_option("#bulk-form select[name='assignee_id']", str(w.tech.id))
    await tech.click("#bulk-apply")
    await expect(tech.locator("#bulk-summary")).to_contain_text(
        "50 tickets modifiés", timeout=LIVE_TIMEOUT
    )

    # The supervisor did nothing: every card left "new" for "in progress".
    await expect(supervisor.locator("#count-assigned")).to_have_text("50", timeout=LIVE_TIMEOUT)
    await expect(supervisor.locator("#count-new")).to_have_text("0", timeout=LIVE_TIMEOUT)
    await expect(supervisor.locator(f"#cards-assigned #card-{ids[0]}")).to_be_visible()
    await expect(supervisor.locator(f"#cards-new #card-{ids[-1]}")).to_have_count(0)
