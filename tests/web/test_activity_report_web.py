"""The activity report: numbers checked against hand-built fixtures, scope, CSV, errors."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from server.db import report_tally, time_spent
from server.db.engine import write_transaction
from server.db.tables import Ticket
from server.domain.forms import NewFollowUp
from server.domain.vocabulary import Role, Status
from server.services import tickets
from tests import factories
from tests.web.test_live import session_of

PARIS = ZoneInfo("Europe/Paris")


def figure(html: str, name: str) -> str:
    found = re.search(rf'id="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1).strip()


def day_row(html: str, day: str) -> list[str]:
    row = html.split(f'id="day-{day}">', 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td>([^<]*)</td>", row)


async def _past_week(est: int, group: int, tech_id: int) -> None:
    """Hand-built history, through the read model's own entry points: three days ago (Paris
    noon), four tickets created, two resolved (after 10 minutes and 3 hours), one reopened,
    90 minutes spent by the technician, one first answer after 20 minutes."""
    noon = datetime.now(PARIS).replace(hour=12, minute=0, second=0, microsecond=0)
    moment = (noon - timedelta(days=3)).astimezone(UTC)
    row = {"establishment": est, "assigned_group": group, "category": None, "assignee": None}
    async with write_transaction():
        for _ in range(4):
            await report_tally.on_open({**row, "created_at": moment})
        for took in (timedelta(minutes=10), timedelta(hours=3)):
            after = {**row, "assignee": tech_id, "status": "resolved", "created_at": moment - took}
            await report_tally.on_change({"status": "assigned"}, after, moment)
        await report_tally.on_change(
            {"status": "resolved"}, {**row, "status": "assigned", "created_at": moment}, moment
        )
        answered = {**row, "created_at": moment - timedelta(minutes=20)}
        await report_tally.on_follow_up(answered, tech_id, 90, True, moment)


async def test_report_numbers_match_hand_built_fixtures(client: AsyncTestClient) -> None:
    w = await factories.world()
    await _past_week(w.est_a, w.group_id, w.tech.id)
    # Today, through the use cases: two tickets, one answered and resolved at once.
    first = await factories.ticket(w.requester_a, category_id=w.category_id)
    await factories.ticket(w.requester_b)
    await tickets.add_follow_up(w.tech, first, NewFollowUp("On it.", False, 15))
    version = (await Ticket.select(Ticket.version).where(Ticket.id == first).first())["version"]
    await tickets.move(w.tech, first, Status.RESOLVED, version, "Done.")

    await session_of(client, "sup@desk.test")
    today = datetime.now(PARIS).date()
    three_days_ago = (today - timedelta(days=3)).isoformat()
    html = (await client.get("/reports")).text
    assert figure(html, "total-created") == "6"
    assert figure(html, "total-resolved") == "3"
    assert figure(html, "reopen-rate").replace("\u202f", " ").replace("\xa0", " ") in (
        "33,3 %",
        "33.3%",
    )
    assert day_row(html, three_days_ago) == ["4", "2", "1", "90"]
    assert day_row(html, today.isoformat()) == ["2", "1", "0", "15"]
    # First answers: 20 minutes (bucket up to 30) and at once (up to 5): median under 5 min
    # (the lower of two), 90% under 30 minutes.
    assert "5" in figure(html, "first-median") and "30" in figure(html, "first-p90")
    assert "Théo Tech" in html.split('id="spent-table"', 1)[1]
    spent = html.split('id="spent-table"', 1)[1].split("</table>", 1)[0]
    assert "105" in spent  # 90 + 15 minutes
    assert '<svg class="chart" role="img"' in html and "<desc" in html

    older = (await client.get(f"/reports?from={three_days_ago}&to={three_days_ago}")).text
    assert figure(older, "total-created") == "4"


async def test_report_scope_csv_and_errors(client: AsyncTestClient) -> None:
    w = await factories.world()
    narrow = await factories.user("nora@desk.test", Role.SUPERVISOR, w.est_b, "Nora Scope")
    await factories.scope(narrow.id, w.est_b)
    await factories.ticket(w.requester_a)
    await factories.ticket(w.requester_a)
    await factories.ticket(w.requester_b)

    await session_of(client, "nora@desk.test")
    html = (await client.get("/reports")).text
    assert figure(html, "total-created") == "1"  # only B, never A
    assert (await client.get(f"/reports?establishment={w.est_a}")).status_code == 422
    for wrong in ("from=yesterday", "from=2026-02-01&to=2026-01-01", "group=x"):
        response = await client.get(f"/reports?{wrong}")
        assert response.status_code == 422, wrong

    export = await client.get("/reports.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    text = export.text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Jour", "Créés", "Résolu", "Rouverts", "Temps passé (minutes)"]
    today = datetime.now(PARIS).date().isoformat()
    assert [today, "1", "0", "0", "0"] in rows
    assert len(rows) == 31  # header and thirty days

    await session_of(client, "tech@desk.test")
    assert (await client.get("/reports")).status_code == 404


async def test_tickets_most_worked_on_are_listed_within_the_viewers_scope(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    busy = await factories.ticket(w.requester_a, title="Scanner du bloc")
    quiet = await factories.ticket(w.requester_a, title="Souris")
    elsewhere = await factories.ticket(w.requester_b, title="Autre établissement")
    for ticket_id, minutes in ((busy, 30), (busy, 45), (quiet, 10), (elsewhere, 120)):
        await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Travail.", True, minutes))
    await tickets.add_follow_up(w.tech, quiet, NewFollowUp("Sans temps.", True, 0))

    await session_of(client, "sup@desk.test")
    html = (await client.get(f"/reports?establishment={w.est_a}")).text
    table = html.split('id="spent-by-ticket"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'href="/tickets/(\d+)".*?<td>([^<]*)</td>', table)
    # Most minutes first, within the chosen establishment.
    assert rows == [(str(busy), "75"), (str(quiet), "10")]


async def test_tickets_most_worked_on_are_the_same_when_checked_in_small_chunks(
    clean_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tickets worked on are checked against the viewer's reach in chunks of ids: the
    ranking does not depend on where a chunk ends."""
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a, title=f"Poste {n}") for n in range(5)]
    hidden = await factories.ticket(w.requester_b, title="Ailleurs")
    for ticket_id, minutes in zip([*ids, hidden], (5, 40, 15, 40, 25, 90), strict=True):
        await tickets.add_follow_up(w.tech, ticket_id, NewFollowUp("Travail.", True, minutes))
    requester = w.requester_a
    start, end = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(hours=1)
    whole = await time_spent.top_tickets(requester, start, end)
    monkeypatch.setattr(time_spent, "CHUNK", 2)
    chunked = await time_spent.top_tickets(requester, start, end)
    assert chunked == whole
    # Most minutes first, ties by number; the other establishment's ticket is not theirs.
    assert [(t["id"], t["minutes"]) for t in whole] == [
        (ids[1], 40), (ids[3], 40), (ids[4], 25), (ids[2], 15), (ids[0], 5)
    ]
