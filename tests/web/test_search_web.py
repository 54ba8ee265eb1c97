"""The search page and API: word forms, "#number", and requester names for staff only."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.domain.vocabulary import Role
from server.services import accounts
from tests import factories
from tests.factories import login


async def test_search_page_finds_word_forms_and_hash_numbers(client: AsyncTestClient) -> None:
    w = await factories.world()
    printer = await factories.ticket(w.requester_a, title="Imprimante bloquée", description="-")
    service = await factories.ticket(w.requester_a, title="Сервис записи недоступен")
    await login(client, "tech@desk.test")
    page = await client.get("/search", params={"q": "imprimantes"})
    assert f"/tickets/{printer}" in page.text and f"/tickets/{service}" not in page.text
    assert "<mark>Imprimante</mark>" in page.text
    page = await client.get("/search", params={"q": "сервисы"})
    assert f"/tickets/{service}" in page.text and f"/tickets/{printer}" not in page.text
    for typed in (str(service), f"#{service}"):
        page = await client.get("/search", params={"q": typed, "kind": "tickets"})
        assert f"/tickets/{service}" in page.text, typed


async def test_requester_names_are_searched_for_staff_only(client: AsyncTestClient) -> None:
    w = await factories.world()
    olga = await factories.user("olga@chu-a.test", Role.REQUESTER, w.est_a, "Ольга Смирнова")
    hers = await factories.ticket(olga, title="Принтер не печатает", description="нет бумаги")
    # Alice shares the establishment, and Olga's ticket is shared with colleagues by default:
    # she may see it, but not find it by its requester's name.
    for actor, found in ((w.tech, True), (w.requester_a, False)):
        headers = {"authorization": f"Bearer {await accounts.issue_api_token(actor.id)}"}
        response = await client.get("/api/v1/search", params={"q": "смирнова"}, headers=headers)
        assert response.status_code == 200
        assert ([t["id"] for t in response.json()["tickets"]] == [hers]) is found, actor
        response = await client.get("/api/v1/search", params={"q": "принтер"}, headers=headers)
        assert [t["id"] for t in response.json()["tickets"]] == [hers]
