"""The wallboard in Chromium: a move made by someone else shows on the wall without reload."""

from playwright.async_api import Browser, expect

from tests import factories
from tests.browser.test_ticket_flow import SHOTS, sign_in


async def test_wallboard_follows_another_clients_move_without_reload(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Badgeuse du parking bloquée")
    await factories.ticket(w.requester_b, title="Imprimante du secrétariat")

    wall = await sign_in(browser, live_server, "sup@desk.test")
    await wall.set_viewport_size({"width": 1920, "height": 1080})
    await wall.goto(f"{live_server}/wallboard")
    await expect(wall.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(wall.locator("#wall-status-new")).to_have_text("2")
    await expect(wall.locator("#wall-status-pending")).to_have_text("0")
    # A marker on the page itself: a reload would lose it.
    await wall.evaluate("document.body.dataset.marker = 'still here'")

    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/board")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    await tech.locator(f"#card-{ticket_id}").drag_to(tech.locator("#cards-pending"))
    await expect(tech.locator(f"#cards-pending #card-{ticket_id}")).to_be_visible()

    await expect(wall.locator("#wall-status-pending")).to_have_text("1")
    await expect(wall.locator("#wall-status-new")).to_have_text("1")
    await expect(wall.locator("#wall-open")).to_have_text("2")
    assert await wall.evaluate("document.body.dataset.marker") == "still here"
    SHOTS.mkdir(exist_ok=True)
    await wall.screenshot(path=str(SHOTS / "wallboard-1920.png"))
