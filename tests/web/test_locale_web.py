"""Russian and locale quality in pages: the browser's language before any choice, the choice
kept per account, markers and history lines in the reader's language, a time zone per user."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from server.db.tables import Ticket, User
from server.services import tickets
from tests import factories


async def _locale_of(email: str) -> str:
    row = await User.select(User.locale).where(User.email == email).first()
    return row["locale"]


async def test_a_russian_browser_gets_russian_and_registration_keeps_it(
    client: AsyncTestClient,
) -> None:
    page = await client.get("/login", headers={"accept-language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru">' in page.text
    assert "Войти" in page.text and "Русский" in page.text
    await client.get("/register", headers={"accept-language": "ru"})
    form = {
        "email": "olga@mo-ru.test",
        "full_name": "Ольга Смирнова",
        "organisation": "Регион, поликлиника № 3, врач",
        "password": "длинный пароль 1",
        "confirm": "длинный пароль 1",
    }
    done = await client.post(
        "/register",
        data=form,
        headers={**factories.csrf_header(client), "accept-language": "ru"},
    )
    assert done.status_code == 200
    assert "Ваш запрос зарегистрирован" in done.text
    assert await _locale_of("olga@mo-ru.test") == "ru"


async def test_first_sign_in_remembers_the_browser_language(client: AsyncTestClient) -> None:
    await factories.world()
    assert await _locale_of("alice@chu-a.test") == ""
    await client.get("/login", headers={"accept-language": "ru"})
    response = await client.post(
        "/login",
        data={"email": "alice@chu-a.test", "password": factories.PASSWORD, "next": "/tickets"},
        headers={**factories.csrf_header(client), "accept-language": "ru"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await _locale_of("alice@chu-a.test") == "ru"
    # A later choice in the picker wins over the browser.
    chosen = await client.post(
        "/language",
        data={"lang": "en", "next": "/tickets"},
        headers={**factories.csrf_header(client), "accept-language": "ru"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert await _locale_of("alice@chu-a.test") == "en"
    page = await client.get("/tickets", headers={"accept-language": "ru"})
    assert '<html lang="en">' in page.text


async def test_markers_and_history_lines_speak_the_reader_language(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, description="Номер [SNILS], тел. [PHONE]")
    await tickets.assign(w.tech, ticket_id, 1, assignee_id=w.tech.id, group_id=w.group_id)
    stored = await Ticket.select(Ticket.description).where(Ticket.id == ticket_id).first()
    assert stored["description"] == "Номер [SNILS], тел. [PHONE]"

    await User.update({User.locale: "en"}).where(User.id == w.tech.id)
    await factories.login(client, "tech@desk.test")
    english = (await client.get(f"/tickets/{ticket_id}")).text
    assert "[SNILS number]" in english and "[phone number]" in english
    assert "Technician:" in english and "Technician :" not in english

    await User.update({User.locale: "ru"}).where(User.id == w.tech.id)
    russian = (await client.get(f"/tickets/{ticket_id}")).text
    assert "Номер [номер СНИЛС], тел. [номер телефона]" in russian
    assert "Исполнитель:" in russian

    await User.update({User.locale: "fr"}).where(User.id == w.tech.id)
    french = (await client.get(f"/tickets/{ticket_id}")).text
    assert "[numéro SNILS]" in french and "Technicien :" in french


async def test_each_user_reads_dates_in_their_time_zone(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    row = await Ticket.select(Ticket.created_at).where(Ticket.id == ticket_id).first()
    created = row["created_at"].replace(tzinfo=row["created_at"].tzinfo or UTC)
    await User.update({User.locale: "ru"}).where(User.id == w.requester_a.id)
    await factories.login(client, "alice@chu-a.test")

    def shown_in(zone: str) -> str:
        return created.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y, %H:%M")

    page = (await client.get(f"/tickets/{ticket_id}")).text
    assert shown_in("Europe/Paris") in page  # the establishment's zone (the default)

    bad = await client.post(
        "/preferences/timezone",
        data={"timezone": "Mars/Olympus"},
        headers=factories.csrf_header(client),
    )
    assert bad.status_code == 400
    assert "Неизвестный часовой пояс" in bad.text and 'value="Mars/Olympus"' in bad.text

    saved = await client.post(
        "/preferences/timezone",
        data={"timezone": "Asia/Vladivostok"},
        headers=factories.csrf_header(client),
    )
    assert saved.status_code == 200 and 'value="Asia/Vladivostok"' in saved.text
    page = (await client.get(f"/tickets/{ticket_id}")).text
    assert shown_in("Asia/Vladivostok") in page
    assert shown_in("Europe/Paris") not in page

    back = await client.post(
        "/preferences/timezone", data={"timezone": ""}, headers=factories.csrf_header(client)
    )
    assert back.status_code == 200
    assert shown_in("Europe/Paris") in (await client.get(f"/tickets/{ticket_id}")).text


async def test_russian_plurals_and_ages_on_the_ticket_list(client: AsyncTestClient) -> None:
    w = await factories.world()
    for _ in range(2):
        await factories.ticket(w.requester_a)
    await User.update({User.locale: "ru"}).where(User.id == w.requester_a.id)
    await factories.login(client, "alice@chu-a.test")
    page = (await client.get("/tickets")).text
    assert "2 заявки" in page
    for _ in range(3):
        await factories.ticket(w.requester_a)
    assert "5 заявок" in (await client.get("/tickets")).text


async def test_suggestions_put_the_reader_language_first(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.login(client, "tech@desk.test")
    for title, language in (
        ("VPN : reconnexion après coupure", "fr"),
        ("VPN: переподключение после обрыва", "ru"),
    ):
        created = await client.post(
            "/kb",
            data={
                "title": title,
                "body": "VPN.",
                "language": language,
                "visibility": "public",
                "state": "published",
            },
            headers=factories.csrf_header(client),
            follow_redirects=False,
        )
        assert created.status_code == 303
    client.cookies.clear()
    await factories.login(client, "alice@chu-a.test")
    for locale, first, second in (
        ("ru", "переподключение", "reconnexion"),
        ("fr", "reconnexion", "переподключение"),
    ):
        await User.update({User.locale: locale}).where(User.id == w.requester_a.id)
        panel = await client.post(
            "/suggestions",
            data={"title": "VPN", "description": "", "suggestion_token": "0"},
            headers=factories.csrf_header(client),
        )
        assert panel.status_code == 200
        assert 0 <= panel.text.index(first) < panel.text.index(second)
