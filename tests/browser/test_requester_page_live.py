"""A requester keeps their ticket open on a phone; the desk works on it from another browser.
Every part of the page follows without a reload: facts, timeline, attachments, shares and the
solution."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from server.db.sla_tables import SlaPolicy
from tests import factories
from tests.browser.session import signed_in_page


async def _sign_in(browser: Browser, base: str, email: str, *, phone: bool) -> Page:
    if phone:
        context = await browser.new_context(
            locale="fr-FR", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
    else:
        context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    return await signed_in_page(context, base, email)


async def _live(page: Page) -> None:
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


async def test_every_part_of_the_requesters_page_follows_live(
    live_server: str, browser: Browser, tmp_path
) -> None:
    w = await factories.world()
    await SlaPolicy.insert(
        SlaPolicy(name="N1", priority="high", take_minutes=30, resolve_minutes=600)
    )
    ticket_id = await factories.ticket(
        w.requester_a, title="Lecteur de badges du service hors service", category_id=w.category_id
    )
    url = f"{live_server}/tickets/{ticket_id}"

    requester = await _sign_in(browser, live_server, "alice@chu-a.test", phone=True)
    await requester.goto(url)
    await _live(requester)
    # A marker that a reload would wipe.
    await requester.evaluate("window.__notReloaded = true")
    await expect(requester.locator(f"#solution-{ticket_id} .solution")).to_have_count(0)
    # Service-level times: the taking-in-charge clock runs.
    await expect(requester.locator(".sla-take")).to_contain_text("restant")

    tech = await _sign_in(browser, live_server, "tech@desk.test", phone=False)
    await tech.goto(url)
    await _live(tech)

    # Facts: taken in charge, then a new priority.
    await tech.click("#take")
    await expect(requester.locator(".ticket-facts .assignee")).to_have_text("Théo Tech")
    await expect(requester.locator(".badges")).to_contain_text("En cours (attribué)")
    await expect(requester.locator(".sla-take")).not_to_contain_text("restant")  # met
    # The facts panel edits in place: the priority's small form opens under it.
    await tech.click(f"#edit-priority-{ticket_id} summary")
    await tech.select_option("#edit-priority", "very_high")
    await tech.click(f"#edit-priority-{ticket_id} button[type=submit]")
    await expect(tech.locator(".badges")).to_contain_text("Très haute")
    await expect(requester.locator(".badges")).to_contain_text("Très haute")

    # Timeline: a public follow-up.
    await tech.fill("#follow-up-text", "Le lecteur est remplacé cet après-midi.")
    await tech.click("form.follow-up-form button[type=submit]")
    await expect(tech.locator(".timeline")).to_contain_text("remplacé cet après-midi")
    await expect(requester.locator(".timeline")).to_contain_text("remplacé cet après-midi")

    # Attachments: a log file added by the desk.
    log = tmp_path / "journal-lecteur.txt"
    log.write_text("12:02 lecteur USB déconnecté\n12:03 reconnexion échouée\n")
    await tech.set_input_files("#attach-input", str(log))
    await expect(tech.locator(".timeline")).to_contain_text("journal-lecteur.txt")
    await expect(requester.locator(".timeline")).to_contain_text("journal-lecteur.txt")

    # Shares: the desk shares it with a colleague by name.
    await tech.fill("#share-email", "colette@chu-a.test")
    await tech.click("#share-add")
    # The technician's own page is re-rendered by the answer: wait for it before going on.
    await expect(tech.locator(".ticket-facts .shares")).to_contain_text("Colette Roy")
    await expect(requester.locator(".ticket-facts .shares")).to_contain_text("Colette Roy")

    # Solution: resolved by the desk, the solution and the close button appear.
    await tech.select_option("#status-target", "resolved")
    await tech.fill("#solution", "Lecteur remplacé, badge testé avec l'équipe de nuit.")
    await tech.click("#composer-send")
    await expect(requester.locator(f"#solution-{ticket_id} .solution")).to_contain_text(
        "Lecteur remplacé"
    )
    await expect(requester.locator("#close-ticket")).to_be_visible()

    assert await requester.evaluate("window.__notReloaded === true")
