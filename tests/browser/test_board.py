"""The live board in Chromium: one technician drags, a supervisor watching sees it at once."""

from playwright.async_api import Browser, Page, expect

from tests import factories
from tests.browser.test_ticket_flow import SHOTS, sign_in


async def live_board(browser: Browser, live_server: str, email: str) -> Page:
    """Signed in as ``email``, on the board, its websocket live."""
    page = await sign_in(browser, live_server, email)
    await page.goto(f"{live_server}/board")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    return page


async def test_dragged_card_appears_on_another_board_within_two_seconds(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Badgeuse du parking bloquée")

    supervisor = await live_board(browser, live_server, "sup@desk.test")
    await expect(supervisor.locator(f"#cards-new #card-{ticket_id}")).to_be_visible()

    tech = await live_board(browser, live_server, "tech@desk.test")
    card = tech.locator(f"#card-{ticket_id}")
    target = tech.locator("#cards-pending")
    await card.drag_to(target)
    await expect(tech.locator(f"#cards-pending #card-{ticket_id}")).to_be_visible()

    # The supervisor did nothing: the card moved column and the counts followed.
    await expect(supervisor.locator(f"#cards-pending #card-{ticket_id}")).to_be_visible()
    await expect(supervisor.locator("#count-pending")).to_have_text("1")
    await expect(supervisor.locator("#count-new")).to_have_text("0")
    await expect(supervisor.locator("#board-announcer")).to_contain_text(
        f"{ticket_id} est maintenant dans « En attente »"
    )
    SHOTS.mkdir(exist_ok=True)
    await supervisor.screenshot(path=str(SHOTS / "supervisor-board.png"))


async def test_keyboard_menu_moves_and_refusal_snaps_back(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Accès au dossier refusé")
    tech = await live_board(browser, live_server, "tech@desk.test")
    card = tech.locator(f"#card-{ticket_id}")
    await card.locator("summary").click()
    await card.locator("[data-move='assigned']").click()
    await expect(tech.locator(f"#cards-assigned #card-{ticket_id}")).to_be_visible()
    await expect(tech.locator(f"#card-{ticket_id} .initials")).to_have_text("TT")  # taken

    # Resolving needs a solution: cancelling the dialog puts the card back.
    await tech.locator(f"#card-{ticket_id} summary").click()
    await tech.locator(f"#card-{ticket_id} [data-move='resolved']").click()
    await expect(tech.locator("#solution-dialog")).to_be_visible()
    await tech.locator("#solution-dialog button[value='cancel']").click()
    await expect(tech.locator(f"#cards-assigned #card-{ticket_id}")).to_be_visible()

    # A requester's board is read-only: no menus, no dragging.
    requester = await sign_in(browser, live_server, "alice@chu-a.test")
    await requester.goto(f"{live_server}/board")
    await expect(requester.locator(f"#card-{ticket_id}")).to_be_visible()
    await expect(requester.locator(f"#card-{ticket_id} .card-menu")).to_have_count(0)


async def test_a_move_whose_live_push_comes_before_its_answer_leaves_one_card(
    live_server: str, browser: Browser
) -> None:
    """The push of a move can reach the mover's own board before the move's answer does;
    the moved card (whose request is then in flight) must still leave its old column."""
    import asyncio

    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Écran du poste infirmier noir")
    tech = await sign_in(browser, live_server, "tech@desk.test")
    pushed = asyncio.Event()

    def on_socket(ws) -> None:
        ws.on(
            "framereceived",
            lambda frame: pushed.set() if "beforeend:#cards-assigned" in str(frame) else None,
        )

    tech.on("websocket", on_socket)

    async def answer_after_the_push(route) -> None:
        response = await route.fetch()  # the server moves the ticket and pushes the move
        await asyncio.wait_for(pushed.wait(), timeout=15)
        await route.fulfill(response=response)

    await tech.route("**/tickets/*/move", answer_after_the_push)
    await tech.goto(f"{live_server}/board")
    await expect(tech.locator("#live-status")).to_have_attribute("data-state", "live")
    card = tech.locator(f"#card-{ticket_id}")
    await card.locator("summary").click()
    await card.locator("[data-move='assigned']").click()
    await expect(tech.locator(f"#cards-assigned #card-{ticket_id}")).to_be_visible()
    await expect(tech.locator(f"#card-{ticket_id}")).to_have_count(1)
    assert pushed.is_set()


async def test_a_card_replaced_by_a_push_keeps_the_menu_its_viewer_opened(
    live_server: str, browser: Browser
) -> None:
    """Every push replaces a card whole; a technician halfway through choosing a move must not
    see the menu snap shut because a requester wrote on that ticket meanwhile."""
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Lecteur de badges du bloc muet")
    tech = await live_board(browser, live_server, "tech@desk.test")
    card = tech.locator(f"#card-{ticket_id}")
    await card.locator("summary").click()
    await expect(card.locator("[data-move='pending']")).to_be_visible()
    await card.evaluate("card => card.setAttribute('data-before-push', '')")

    requester = await sign_in(browser, live_server, "alice@chu-a.test")
    await requester.goto(f"{live_server}/tickets/{ticket_id}")
    await requester.fill("#follow-up-text", "Toujours muet ce matin.")
    await requester.click(".follow-up-form button[type=submit]")
    await expect(requester.locator(".timeline")).to_contain_text("Toujours muet ce matin.")

    await expect(tech.locator(f"#card-{ticket_id}[data-before-push]")).to_have_count(0)
    await expect(card.locator(".card-menu")).to_have_attribute("open", "")
    await card.locator("[data-move='pending']").click()
    await expect(tech.locator(f"#cards-pending #card-{ticket_id}")).to_be_visible()
