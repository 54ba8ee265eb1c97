"""Where ``/`` leads, per role: a technician lands on their own work."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.connections import observing
from server.domain.vocabulary import Role
from server.services import tickets
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.web.test_live import session_of


async def test_a_technician_lands_on_their_tickets_and_their_groups_backlog(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    other_group = await factories.group("Réseau (N2)", 2, serves=(w.est_a,))
    mine = await factories.ticket(w.requester_a, title="Écran noir au bloc")
    queued = await factories.ticket(w.requester_a, title="Badge refusé", category_id=w.category_id)
    elsewhere = await factories.ticket(w.requester_a, title="Switch du 3e étage")
    await tickets.take(w.tech, mine, 1)
    await tickets.assign(w.supervisor, elsewhere, 1, group_id=other_group, assignee_id=None)

    await session_of(client, "tech@desk.test")
    await client.get("/", follow_redirects=False)  # the configuration cache filled
    with observing() as seen:
        page = await client.get("/", follow_redirects=False)
    assert page.status_code == 200
    # The caller's session, each list's rows (and their SLA, and on PostgreSQL their names)
    # and the two counts from the tally: the lists count nothing of their own.
    counts = [n for label, n in seen if label == "GET /"]
    assert counts and counts[0] <= (9 if IS_POSTGRES else 7), counts
    html = page.text
    assert 'id="mine-count">1<' in html
    assert 'id="backlog-count">1<' in html
    mine_part, backlog_part = html.split('id="backlog-title"', 1)
    assert f"#{mine} Écran noir au bloc" in mine_part
    assert f"#{queued} Badge refusé" in backlog_part
    assert "Switch du 3e étage" not in html  # another group's backlog
    assert 'href="/tickets?scope=mine"' in html and 'href="/tickets?scope=backlog"' in html


async def test_everyone_else_keeps_their_landing(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, w.est_a, "Adèle Admin")
    for email in ("alice@chu-a.test", "sup@desk.test", "admin@desk.test"):
        await session_of(client, email)
        response = await client.get("/", follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/tickets"), email
    client.cookies.clear()
    response = await client.get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/tickets")
