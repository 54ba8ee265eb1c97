"""Bulk actions over HTTP: the list's selection column, the summary, the API."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.tables import HistoryEntry, Ticket
from server.domain.vocabulary import Status
from server.services import accounts, tickets
from tests import factories


async def test_the_list_offers_selection_to_the_desk_only(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket = await factories.ticket(w.requester_a, title="Lecteur de badges")
    await factories.login(client, "tech@desk.test")
    page = (await client.get("/tickets")).text
    assert f'name="ids" value="{ticket}" form="bulk-form"' in page
    assert 'id="bulk-form"' in page
    board = (await client.get("/board")).text
    assert f'value="{ticket}" form="bulk-form"' in board
    await factories.login(client, "alice@chu-a.test")
    assert 'name="ids"' not in (await client.get("/tickets")).text
    assert 'id="bulk-form"' not in (await client.get("/board")).text
    refused = await client.post(
        "/bulk",
        data={"action": "follow", "ids": str(ticket)},
        headers=factories.csrf_header(client),
    )
    assert refused.status_code == 404


async def test_a_bulk_change_answers_with_what_changed_and_why_not(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a, title=f"Poste {n}") for n in range(6)]
    version = (await Ticket.select(Ticket.version).where(Ticket.id == ids[0]).first())["version"]
    await tickets.change_status(w.tech, ids[0], Status.RESOLVED, version, "Réglé")
    await factories.login(client, "tech@desk.test")
    answer = await client.post(
        "/bulk",
        data={"action": "priority", "priority": "very_high", "ids": [str(i) for i in ids]},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )
    assert answer.status_code == 200, answer.text
    assert "6 tickets modifiés" in answer.text
    # Bad input: a translated 4xx, nothing changed.
    empty = await client.post(
        "/bulk",
        data={"action": "priority", "priority": "very_high"},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )
    assert empty.status_code == 422
    assert "Sélectionnez au moins un ticket." in empty.text
    closed = await client.post(
        "/bulk",
        data={"action": "status", "status": "pending", "ids": [str(i) for i in ids]},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )
    assert "5 tickets modifiés" in closed.text
    assert "1 ticket refusé" in closed.text
    assert f"#{ids[0]} · " in closed.text
    history = await HistoryEntry.select(HistoryEntry.ticket).where(
        (HistoryEntry.field == "status") & (HistoryEntry.new_value == "pending")
    )
    assert sorted(h["ticket"] for h in history) == sorted(ids[1:])


async def test_select_all_matching_uses_the_list_filters(client: AsyncTestClient) -> None:
    w = await factories.world()
    badges = [await factories.ticket(w.requester_a, title=f"Badge {n}") for n in range(30)]
    other = await factories.ticket(w.requester_a, title="Imprimante")
    await factories.login(client, "tech@desk.test")
    answer = await client.post(
        "/bulk",
        data={"action": "follow", "all_matching": "1", "query": "scope=all&q=Badge"},
        headers={**factories.csrf_header(client), "hx-request": "true"},
    )
    assert "30 tickets modifiés" in answer.text
    assert f"#{other}<" not in answer.text
    assert f"#{badges[-1]}<" in answer.text


async def test_bulk_api(client: AsyncTestClient) -> None:
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a, title=f"Poste {n}") for n in range(3)]
    token = await accounts.issue_api_token(w.tech.id)
    headers = {"authorization": f"Bearer {token}", "accept-language": "en"}
    answer = await client.post(
        "/api/v1/bulk",
        headers=headers,
        json={"ids": [*ids, 987654], "action": "assign", "group_id": w.group_id},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert sorted(body["changed"]) == sorted(ids)
    assert body["refused"] == [{"id": 987654, "reason": "Not found"}]
    bad = await client.post("/api/v1/bulk", headers=headers, json={"ids": ids, "action": "assign"})
    assert bad.status_code == 422
    assert bad.json()["fields"] == {"group_id": "Choose a group or a technician."}
    alice = await accounts.issue_api_token(w.requester_a.id)
    refused = await client.post(
        "/api/v1/bulk",
        headers={"authorization": f"Bearer {alice}"},
        json={"ids": ids, "action": "follow"},
    )
    assert refused.status_code == 404
