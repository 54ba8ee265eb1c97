"""A Russian-speaking requester, end to end in Chromium with a real SMTP server: registers with
a Russian browser, files a ticket about the EHR service, reads Russian dates and plurals; a
French technician answers in French pages; every mail to the requester is in Russian."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from playwright.async_api import Browser, Page, expect

from server.db.tables import User
from server.domain.vocabulary import Priority
from tests import factories
from tests.browser.test_ticket_flow import sign_in
from tests.integration.test_notifications import SmtpServer, text_of

REQUESTER = "olga.smirnova@gp3.test"
RUSSIAN_DATE = re.compile(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A loopback SMTP server. Requested before ``live_server``, whose process inherits
    these variables and so sends its mail here."""
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("GUICHET_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("GUICHET_SMTP_PORT", str(server.port))
    monkeypatch.setenv("GUICHET_MAIL_SENDER", "desk@guichet.test")
    try:
        yield server
    finally:
        server.stop()


async def mails_to(smtp: SmtpServer, address: str, count: int) -> list[EmailMessage]:
    """Wait (generously) until ``count`` mails reached ``address``; the dispatcher polls."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = smtp.inbox.to(address)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"{len(smtp.inbox.to(address))} mail(s) to {address}, {count} expected")


async def test_russian_requester_french_technician(
    smtp: SmtpServer, live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    await factories.category(
        "ИЭМК — электронная медицинская карта", Priority.HIGH, w.group_id
    )
    await User.update({User.locale: "fr"}).where(User.id == w.tech.id)

    # Registration from a Russian browser: the form is Russian, the account remembers it.
    context = await browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page: Page = await context.new_page()
    page.on("pageerror", lambda error: (_ for _ in ()).throw(AssertionError(str(error))))
    await page.goto(f"{live_server}/register")
    await expect(page.locator("h1")).to_have_text("Запросить учётную запись")
    await expect(page.locator("#lang")).to_have_value("ru")
    await page.fill("#email", REQUESTER)
    await page.fill("#full_name", "Ольга Смирнова")
    await page.fill("#organisation", "Северная область, поликлиника № 3, врач-терапевт")
    await page.fill("#password", factories.PASSWORD)
    await page.fill("#confirm", factories.PASSWORD)
    await page.click("button:has-text('Отправить запрос')")
    await expect(page.locator("body")).to_contain_text("Ваш запрос зарегистрирован")
    # The address is confirmed by the link mailed in Russian (issue 14).
    [verify] = await mails_to(smtp, REQUESTER, 1)
    assert verify["Content-Language"] == "ru"
    link = re.search(r"https?://\S+(/register/verify/[A-Za-z0-9_\-]+)", text_of(verify))
    assert link, text_of(verify)
    await page.goto(f"{live_server}{link.group(1)}")
    await page.click("#confirm-address")
    await expect(page.locator("body")).to_contain_text("Ваш адрес подтверждён")
    await context.close()
    # The administrator links the account to its establishment (tested elsewhere).
    await User.update({User.establishment: w.est_a}).where(User.email == REQUESTER)

    requester = await sign_in(browser, live_server, REQUESTER, locale="ru-RU")
    await requester.click("text=Новая заявка")
    await requester.fill("#title", "ИЭМК не принимает направление")
    await requester.select_option("#category_id", label="ИЭМК — электронная медицинская карта")
    await requester.fill("#description", "Сервис возвращает ошибку валидации документа.")
    await requester.click("button:has-text('Отправить заявку')")
    await expect(requester.locator("h1 .title")).to_have_text("ИЭМК не принимает направление")
    await expect(requester.locator(".badges")).to_contain_text("Новая")
    facts = requester.locator(".ticket-facts")
    await expect(facts).to_contain_text("Открыта")
    await expect(facts.locator("time").first).to_have_text(RUSSIAN_DATE)
    await expect(facts.locator(".age")).to_contain_text("назад")
    ticket_url = requester.url
    ticket_id = int(ticket_url.rstrip("/").rsplit("/", 1)[1])

    _verify, ack = await mails_to(smtp, REQUESTER, 2)
    assert ack["Content-Language"] == "ru"
    assert ack["Subject"] == (
        f"[Guichet #{ticket_id} CHA] ИЭМК не принимает направление — Новая"
    )
    assert "Мы получили ваше обращение" in text_of(ack)

    # The French technician works in French and answers.
    tech = await sign_in(browser, live_server, "tech@desk.test", locale="fr-FR")
    await tech.goto(ticket_url)
    await expect(tech.locator(".badges")).to_contain_text("Nouveau")
    await tech.click("#take")
    await expect(tech.locator(".badges")).to_contain_text("En cours (attribué)")
    await tech.fill("#follow-up-text", "Pouvez-vous joindre la réponse du service ?")
    await tech.fill("input[name=minutes]", "22")
    await tech.click(".follow-up-form button[type=submit]")
    await expect(tech.locator(".timeline")).to_contain_text("22 minutes")

    mails = await mails_to(smtp, REQUESTER, 4)
    assert all(m["Content-Language"] == "ru" for m in mails)
    assert "Théo Tech добавил(а) комментарий к заявке." in text_of(mails[-1])
    assert mails[-1]["Subject"].endswith("— В работе (назначена)")

    # Russian plural forms on the requester's page: 22 минуты, and the list's count.
    await requester.goto(ticket_url)
    await expect(requester.locator(".timeline")).to_contain_text("22 минуты")
    await expect(requester.locator(".badges")).to_contain_text("В работе (назначена)")
    await requester.goto(f"{live_server}/tickets")
    await expect(requester.locator("body")).to_contain_text("1 заявка")
