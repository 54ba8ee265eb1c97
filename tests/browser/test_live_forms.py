"""A live push re-renders the ticket's details panel: what the user was typing, and the edit
form they had opened, survive."""

from playwright.async_api import Browser, expect

from tests import factories
from tests.browser.test_ticket_flow import sign_in


async def test_a_push_keeps_the_form_being_filled(live_server: str, browser: Browser) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Scanner du bloc muet")

    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    await tech.click("#take")
    await expect(tech.locator(".ticket-facts .assignee")).to_have_text("Théo Tech")
    await tech.click(f"#edit-assignment-{ticket_id} summary")
    await tech.select_option("#status-target", "resolved")
    await tech.fill("#solution", "Câble USB remplacé")

    # Meanwhile the requester answers: the technician's page receives the new follow-up
    # and a fresh details panel (new version) without losing the half-written solution.
    requester = await sign_in(browser, live_server, "alice@chu-a.test")
    await requester.goto(f"{live_server}/tickets/{ticket_id}")
    await requester.fill("#follow-up-text", "Il refait des siennes depuis 10 h.")
    await requester.click(".follow-up-form button[type=submit]")
    await expect(tech.locator(".timeline")).to_contain_text("Il refait des siennes")

    await expect(tech.locator("#solution")).to_have_value("Câble USB remplacé")
    # The assignment form the technician had opened is still open in the fresh panel.
    await expect(tech.locator(f"#edit-assignment-{ticket_id}")).to_have_attribute("open", "")
    await expect(tech.locator("#status-target")).to_have_value("resolved")
    await tech.click("#composer-send")
    await expect(tech.locator(".badges")).to_contain_text("Résolu")
