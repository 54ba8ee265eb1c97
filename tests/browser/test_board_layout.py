"""Board layout in Chromium: the compact density fits about three times more cards a screen,
column titles stay in sight while a column scrolls, swimlanes show a row per group."""

from playwright.async_api import Browser, expect

from server.domain.board import COLUMN_LIMIT
from tests import factories
from tests.browser.test_ticket_flow import SHOTS, sign_in


async def test_compact_density_sticky_titles_and_lanes(live_server: str, browser: Browser) -> None:
    w = await factories.world()
    for n in range(24):
        await factories.ticket(w.requester_a, title=f"Poste {n:02d} sans réseau au bloc opératoire")
    page = await sign_in(browser, live_server, "sup@desk.test")
    await page.set_viewport_size({"width": 1600, "height": 900})

    async def card_height(url: str) -> float:
        await page.goto(url)
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        box = await page.locator("#cards-new .card").first.bounding_box()
        assert box is not None
        return box["height"]

    comfortable = await card_height(f"{live_server}/board")
    compact = await card_height(f"{live_server}/board?density=compact")
    assert comfortable / compact >= 2.5, (comfortable, compact)
    await expect(page.locator("select[name=density]")).to_have_value("compact")

    await page.goto(f"{live_server}/board")
    # The live snapshot redraws the columns: scroll once it is in.
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    column = page.locator("#col-new")
    await column.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    title = page.locator("#col-title-new")
    column_box = await column.bounding_box()
    title_box = await title.bounding_box()
    assert column_box is not None and title_box is not None
    assert await column.evaluate("el => el.scrollTop") > 0  # the column did scroll
    assert title_box["y"] >= column_box["y"] - 1  # and its title is still at its top
    await expect(title).to_be_in_viewport()

    await page.goto(f"{live_server}/board?lanes=group&density=compact")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(page.locator("#lane-g0 #cards-g0-new .card")).to_have_count(COLUMN_LIMIT)
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "board-compact-lanes.png"))
