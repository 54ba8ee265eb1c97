"""Monitoring intake: one open ticket per alert key and establishment, even when identical
alerts arrive at the same moment."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from server.db.tables import FollowUp, Ticket
from server.domain.forms import parse_new_ticket
from server.domain.vocabulary import Role
from server.services import monitoring
from tests import factories
from tests.web.test_api import bearer


def alert(key: str, text: str = "Disque plein sur srv-pacs-02") -> dict[str, str]:
    return {"dedup_key": key, "title": "Alerte supervision PACS", "description": text}


async def test_same_alert_adds_a_follow_up_until_the_ticket_is_resolved(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    probe = await factories.user("zabbix@chu-a.test", Role.REQUESTER, w.est_a, "Supervision")
    headers = await bearer(probe.id)
    first = await client.post("/api/v1/alerts", headers=headers, json=alert("pacs/disk"))
    assert first.status_code == 201, first.text
    ticket_id = first.json()["id"]
    row = await Ticket.select(Ticket.source, Ticket.dedup_key).where(Ticket.id == ticket_id).first()
    assert row == {"source": "monitoring", "dedup_key": "pacs/disk"}
    again = await client.post(
        "/api/v1/alerts", headers=headers, json=alert("pacs/disk", "Toujours plein")
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == ticket_id
    assert [f["text"] for f in again.json()["follow_ups"]] == ["Toujours plein"]
    other = await client.post("/api/v1/alerts", headers=headers, json=alert("pacs/cpu"))
    assert other.status_code == 201 and other.json()["id"] != ticket_id
    # Another establishment's monitoring with the same key has its own ticket.
    probe_b = await factories.user("zabbix@clb.test", Role.REQUESTER, w.est_b, "Supervision B")
    elsewhere = await client.post(
        "/api/v1/alerts", headers=await bearer(probe_b.id), json=alert("pacs/disk")
    )
    assert elsewhere.status_code == 201 and elsewhere.json()["id"] != ticket_id
    # Once resolved, the same alert is a new incident.
    tech = await bearer(w.tech.id)
    resolved = await client.post(
        f"/api/v1/tickets/{ticket_id}/status",
        headers={**tech, "if-match": again.headers["etag"]},
        json={"status": "resolved", "solution": "Purge des journaux"},
    )
    assert resolved.status_code == 200, resolved.text
    later = await client.post("/api/v1/alerts", headers=headers, json=alert("pacs/disk"))
    assert later.status_code == 201 and later.json()["id"] not in (ticket_id,)
    bad = await client.post("/api/v1/alerts", headers=headers, json=alert("  "))
    assert bad.status_code == 422 and "dedup_key" in bad.json()["fields"]


async def test_simultaneous_identical_alerts_give_one_ticket(client: AsyncTestClient) -> None:
    w = await factories.world()
    probe = await factories.user("zabbix@chu-a.test", Role.REQUESTER, w.est_a, "Supervision")
    headers = await bearer(probe.id)
    keys = [f"srv-{n}/ping" for n in range(4)]
    copies = 4
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/alerts", headers=headers, json=alert(key))
            for _ in range(copies)
            for key in keys
        )
    )
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    assert sorted(r.status_code for r in responses).count(201) == len(keys)
    for key in keys:
        tickets = await Ticket.select(Ticket.id).where(Ticket.dedup_key == key)
        assert len(tickets) == 1, key
        follow_ups = await FollowUp.count().where(FollowUp.ticket == tickets[0]["id"])
        assert follow_ups == copies - 1, key


async def test_use_case_race_on_the_engine_itself() -> None:
    """The use case alone, many at once (no HTTP in between to serialise anything)."""
    w = await factories.world()
    probe = await factories.user("zabbix@chu-a.test", Role.REQUESTER, w.est_a, "Supervision")
    data = parse_new_ticket({"title": "Alerte sauvegarde", "description": "Job en échec"})
    outcomes = await asyncio.gather(
        *(monitoring.file_alert(probe, "backup/nightly", data, "Encore") for _ in range(6))
    )
    assert sum(o.created for o in outcomes) == 1
    assert len({o.ticket_id for o in outcomes}) == 1
    assert await Ticket.count() == 1
    assert await FollowUp.count() == 5
