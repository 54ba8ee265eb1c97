"""The ticket page's composer in real Chromium: one submit answers and resolves, errors keep
what was typed beside the field, canned replies are inserted then edited, shortcuts work."""

from playwright.async_api import Browser, expect

from server.db.canned_tables import CannedReply
from server.db.tables import FollowUp
from server.services import tickets
from tests import factories
from tests.browser.test_ticket_flow import sign_in


async def taken_ticket() -> tuple[factories.World, int]:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Scanner du bloc muet")
    await tickets.take(w.tech, ticket_id, version=1)
    return w, ticket_id


async def test_one_submit_answers_and_resolves(live_server: str, browser: Browser) -> None:
    _w, ticket_id = await taken_ticket()
    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    # The status picker shows the current status, unchanged.
    await expect(tech.locator("#status-target")).to_have_value("")
    await expect(tech.locator("#status-target option:checked")).to_contain_text(
        "En cours (attribué)"
    )
    # The solution field waits until "resolved" is chosen.
    await expect(tech.locator("#solution")).to_be_hidden()
    await tech.fill("#follow-up-text", "Câble USB changé, test de numérisation concluant.")
    await tech.fill("#composer-minutes", "25")
    await tech.select_option("#status-target", "resolved")
    await tech.fill("#solution", "Câble USB remplacé.")
    await tech.click("#composer-send")
    await expect(tech.locator(".badges")).to_contain_text("Résolu")
    await expect(tech.locator(".timeline")).to_contain_text("test de numérisation concluant")
    await expect(tech.locator(f"#solution-{ticket_id} .solution")).to_contain_text("Câble USB")
    await expect(tech.locator("#follow-up-text")).to_have_value("")
    assert await FollowUp.count() == 1


async def test_an_error_keeps_the_text_and_shows_beside_the_field(
    live_server: str, browser: Browser
) -> None:
    _w, ticket_id = await taken_ticket()
    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    await tech.fill("#follow-up-text", "Un long texte que je ne veux surtout pas retaper.")
    await tech.select_option("#status-target", "resolved")
    scrolled = await tech.evaluate("window.scrollY")
    await tech.click("#composer-send")
    error = tech.locator("#solution-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("solution")
    # Beside its field, with the keyboard on it; the typed text and choices are still there.
    await expect(tech.locator("#solution")).to_be_focused()
    await expect(tech.locator("#follow-up-text")).to_have_value(
        "Un long texte que je ne veux surtout pas retaper."
    )
    await expect(tech.locator("#status-target")).to_have_value("resolved")
    await expect(tech.locator(".badges")).not_to_contain_text("Résolu")
    # Only the composer was swapped: the page did not jump back to the top.
    assert scrolled == 0 or await tech.evaluate("window.scrollY") > 0
    assert await FollowUp.count() == 0


async def test_a_canned_reply_is_inserted_then_edited_before_sending(
    live_server: str, browser: Browser
) -> None:
    w, ticket_id = await taken_ticket()
    row = await CannedReply.insert(
        CannedReply(
            title="Accusé",
            body="Bonjour {requester}, je prends {ticket_number}.",
            language="fr",
            group=w.group_id,
        )
    ).returning(CannedReply.id)
    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    await tech.select_option("#canned-pick", str(row[0]["id"]))
    await tech.click("#canned-insert")
    text = tech.locator("#follow-up-text")
    await expect(text).to_have_value(f"Bonjour Alice Martin, je prends #{ticket_id}.")
    await expect(text).to_be_focused()
    await text.press("End")
    await text.type(" Je passe vers 15 h.")
    await text.press("Control+Enter")  # sends from the keyboard
    await expect(tech.locator(".timeline")).to_contain_text(
        f"Bonjour Alice Martin, je prends #{ticket_id}. Je passe vers 15 h."
    )
    await expect(text).to_have_value("")
    uses = await CannedReply.select(CannedReply.uses).where(CannedReply.id == row[0]["id"])
    assert uses[0]["uses"] == 1


async def test_shortcuts_and_their_overlay(live_server: str, browser: Browser) -> None:
    _w, ticket_id = await taken_ticket()
    tech = await sign_in(browser, live_server, "tech@desk.test")
    await tech.goto(f"{live_server}/tickets/{ticket_id}")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    await tech.locator("body").press("?")
    overlay = tech.locator("#shortcuts-help")
    await expect(overlay).to_be_visible()
    await expect(overlay).to_contain_text("Raccourcis clavier")
    await tech.keyboard.press("Escape")
    await expect(overlay).to_be_hidden()

    # "n" starts a private note; typing letters in the text never triggers shortcuts.
    await tech.locator("body").press("n")
    await expect(tech.locator("#follow-up-text")).to_be_focused()
    await expect(tech.locator("#composer-note")).to_be_checked()
    await tech.keyboard.type("rien à signaler ?")
    await expect(tech.locator("#follow-up-text")).to_have_value("rien à signaler ?")
    await expect(overlay).to_be_hidden()
    # "s" goes to the status, "a" opens the assignment in the facts panel.
    await tech.locator("#follow-up-text").blur()
    await tech.locator("body").press("s")
    await expect(tech.locator("#status-target")).to_be_focused()
    await tech.locator("#status-target").blur()
    await tech.locator("body").press("a")
    await expect(tech.locator("#assign-tech")).to_be_focused()
