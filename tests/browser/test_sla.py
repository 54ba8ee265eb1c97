"""Service levels in Chromium: the countdown runs without reload; a banner appears live."""

from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, expect

from server.db.sla_tables import SlaPolicy
from server.domain.vocabulary import Role
from server.web.rendering import DISPLAY_TZ
from tests import factories
from tests.browser.test_ticket_flow import sign_in


async def test_countdown_moves_and_banner_appears_without_reload(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    await SlaPolicy.insert(
        SlaPolicy(name="N1", priority="high", take_minutes=30, resolve_minutes=600)
    )
    ticket_id = await factories.ticket(w.requester_a, category_id=str(w.category_id))

    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets/{ticket_id}")
    remaining = tech.locator(".sla-take [data-remaining]")
    await expect(remaining).to_contain_text("restant")
    first = await remaining.text_content()
    await expect(remaining).not_to_have_text(first or "")

    requester = await sign_in(browser, live_server, "alice@chu-a.test")
    await requester.goto(f"{live_server}/tickets/new")
    await expect(requester.locator("#banners")).not_to_contain_text("Coupure du DPI")

    boss = await sign_in(browser, live_server, "admin@desk.test")
    await boss.goto(f"{live_server}/admin/sla/announcements/new")
    now = datetime.now(UTC).astimezone(DISPLAY_TZ)
    fmt = "%Y-%m-%dT%H:%M"
    await boss.select_option("#kind", "outage")
    await boss.fill("#title", "Coupure du DPI")
    await boss.fill("#display_from", (now - timedelta(minutes=1)).strftime(fmt))
    await boss.fill("#starts_at", now.strftime(fmt))
    await boss.fill("#ends_at", (now + timedelta(hours=1)).strftime(fmt))
    await boss.click("#sla-form button[type=submit]")
    await expect(boss).to_have_url(f"{live_server}/admin/sla#announcements")

    await expect(requester.locator("#banners")).to_contain_text("Coupure du DPI")
    await expect(requester.locator("#banners")).to_contain_text("Panne en cours")
