"""Issue 14 in Chromium: a tier-1 technician files a phone ticket for a clinician of another
establishment they serve; it lands in the right backlog and the team's bell rings live. A
mailed ticket without category lands in the intake group's triage list."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from server.db.tables import Ticket
from tests import factories
from tests.browser.test_ticket_flow import sign_in
from tests.integration.test_inbound_mail import Desk as MailDesk
from tests.integration.test_intake import desk
from tests.integration.test_notifications import SmtpServer


async def test_tier1_files_a_phone_ticket_for_a_clinician_and_the_team_hears_live(
    live_server: str, browser: Browser
) -> None:
    d = await desk()
    await factories.category("Divers", group_id=None)  # no team of its own: intake decides

    # A member of the receiving team, on a page without live content of its own.
    teammate = await sign_in(browser, live_server, "tri@desk.test")
    await teammate.goto(f"{live_server}/tickets/new")
    await expect(teammate.locator("#bell .bell-count")).to_have_count(0)

    tech = await sign_in(browser, live_server, "n1@desk.test")
    await tech.goto(f"{live_server}/tickets/new")
    await tech.fill("#requester_search", "chlo")
    choice = tech.locator("#requester-choices input[name=requester_id]")
    await expect(choice).to_have_count(1)
    await expect(tech.locator("#requester-choices")).to_contain_text("SUD")
    await choice.check()
    await tech.select_option("#source", "phone")
    await tech.fill("#title", "Imprimante du poste de soins muette")
    await tech.fill("#description", "Appel de l'unité : plus aucune impression depuis 8 h.")
    await tech.select_option("#category_id", label="Divers")
    # The category preview says at once where the ticket goes.
    await expect(tech.locator("#category-preview")).to_contain_text("Accueil (N1)")
    await tech.fill("#phones", "01 23 45 67 89\n06 11 22 33 44")
    await tech.click("button:has-text('Envoyer le ticket')")
    await expect(tech.locator("h1 .title")).to_have_text("Imprimante du poste de soins muette")
    facts = tech.locator(".ticket-facts")
    await expect(facts).to_contain_text("Chloé Clin")
    await expect(facts).to_contain_text("SUD")  # the requester's establishment
    await expect(facts.locator(".source")).to_have_text("Téléphone")
    await expect(facts.locator(".filed-by")).to_have_text("Nina Un")
    await expect(facts.locator(".phones")).to_contain_text("06 11 22 33 44")

    row = await Ticket.select().order_by(Ticket.id, ascending=False).first()
    assert (row["requester"], row["establishment"], row["assigned_group"]) == (
        d.clinician.id,
        d.south,
        d.intake_group,
    )
    # The team's bell rings without a reload.
    await expect(teammate.locator("#bell .bell-count")).to_have_text("1")
    # It is in the team's backlog.
    await teammate.goto(f"{live_server}/tickets?scope=backlog")
    await expect(teammate.locator("#ticket-list")).to_contain_text(
        "Imprimante du poste de soins muette"
    )


async def test_a_mailed_ticket_without_category_lands_in_the_triage_list(
    live_server: str, browser: Browser
) -> None:
    await desk()
    outside = SmtpServer()
    outside.start()
    mail = MailDesk(outside)
    await mail.receiver.start()
    try:
        await mail.send(
            "clin@sud.test", subject="Scanner du service muet", body="Il ne s'allume plus."
        )
    finally:
        await mail.receiver.stop()
        outside.stop()
    row = await Ticket.select().where(Ticket.title == "Scanner du service muet").first()
    assert row is not None and row["source"] == "mail"

    triager = await sign_in(browser, live_server, "tri@desk.test")
    await triager.goto(f"{live_server}/tickets?scope=triage")
    await expect(triager.locator("h1")).to_contain_text("À trier")
    await expect(triager.locator("#ticket-list")).to_contain_text("Scanner du service muet")
    # Someone outside the intake group has nothing to triage.
    other = await factories.user("n2@desk.test", factories.Role.TECHNICIAN, None, "Noé Deux")
    assert other
    stranger = await sign_in(browser, live_server, "n2@desk.test")
    await stranger.goto(f"{live_server}/tickets?scope=triage")
    await expect(stranger.locator("h1")).to_contain_text("À trier")
    await expect(stranger.locator("#ticket-list")).not_to_contain_text("Scanner du service muet")
