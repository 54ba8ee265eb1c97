"""The notification bell in Chromium: a comment by someone else raises the count at once."""

from playwright.async_api import Browser, expect

from server.services import notifications
from tests import factories
from tests.browser.test_ticket_flow import sign_in


async def test_bell_count_changes_live_without_reload(live_server: str, browser: Browser) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Lecteur de badge muet")
    # The acknowledgement is read: unread changes of one ticket fold into one line, so a
    # new change shows as a bell going from nothing to one.
    await notifications.mark_read(w.requester_a.id)

    requester = await sign_in(browser, live_server, "alice@chu-a.test")
    # A page without live content of its own: the bell has its own socket.
    await requester.goto(f"{live_server}/tickets/new")
    await expect(requester.locator("#bell .bell-count")).to_have_count(0)
    marker = await requester.evaluate("window.__sameDocument = true")
    assert marker is True

    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets/{ticket_id}")
    await tech.fill("#follow-up-text", "Je passe à 14 h.")
    await tech.click(".follow-up-form button[type=submit]")
    await expect(tech.locator("#follow-up-text")).to_have_value("")

    await expect(requester.locator("#bell .bell-count")).to_have_text("1")
    # No reload happened: the page is the same document.
    assert await requester.evaluate("window.__sameDocument") is True

    # Reading them empties the bell.
    await requester.click("#bell")
    await expect(requester.locator("#notification-list")).to_contain_text("Lecteur de badge muet")
    await requester.click("form[action='/notifications/read-all'] button")
    await expect(requester.locator("#bell .bell-count")).to_have_count(0)
