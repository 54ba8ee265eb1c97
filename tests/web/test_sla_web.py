"""Service-level pages: admin settings, due times shown, live breach and banners, report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from server.db.sla_tables import Announcement, BusinessCalendar, MaintenanceWindow, SlaPolicy
from server.domain.vocabulary import Role, Status
from server.services import tickets
from server.web.rendering import DISPLAY_TZ
from tests import factories
from tests.web.test_live import connect, in_app, receive, receive_until, session_of, use


async def admin(client: AsyncTestClient) -> None:
    await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    await factories.login(client, "admin@desk.test")


async def post(client: AsyncTestClient, url: str, data: dict[str, object]) -> object:
    return await client.post(
        url, data=data, headers=factories.csrf_header(client), follow_redirects=False
    )


def local(value: datetime) -> str:
    return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%dT%H:%M")


async def test_settings_pages_are_for_admins_only(client: AsyncTestClient) -> None:
    await factories.world()
    await factories.login(client, "sup@desk.test")
    assert (await client.get("/admin/sla")).status_code == 404
    assert (await client.get("/admin/sla/policies/new")).status_code == 404


async def test_admin_creates_edits_and_deletes_settings_with_translated_errors(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    await admin(client)
    assert (await client.get("/admin/sla")).status_code == 200
    bad = await post(client, "/admin/sla/policies/new", {"name": "Niveau 1", "priority": "high"})
    assert bad.status_code == 422
    assert "heures ouvrées ou un nombre de jours ouvrés" in bad.text
    assert 'value="Niveau 1"' in bad.text  # nothing typed is lost
    good = await post(
        client,
        "/admin/sla/policies/new",
        {
            "name": "Niveau 1",
            "priority": "high",
            "take_hours": "2",
            "resolve_days": "1",
            "active": "1",
            "category": str(w.category_id),
        },
    )
    assert good.status_code == 303
    row = await SlaPolicy.select().first()
    assert (row["take_minutes"], row["resolve_business_days"], row["category"]) == (
        120,
        1,
        w.category_id,
    )
    calendar = await post(
        client,
        "/admin/sla/calendars/new",
        {"name": "Paris", "timezone": "Europe/Nowhere", "day_0": "8h-18h", "holidays": "demain"},
    )
    assert calendar.status_code == 422
    for message in ("Fuseau horaire inconnu", "HH:MM", "AAAA-MM-JJ"):
        assert message in calendar.text
    calendar = await post(
        client,
        "/admin/sla/calendars/new",
        {
            "name": "Paris",
            "timezone": "Europe/Paris",
            "day_0": "08:00-12:00, 13:00-17:00",
            "holidays": "2026-12-25",
            "establishments": str(w.est_a),
        },
    )
    assert calendar.status_code == 303
    calendar_id = (await BusinessCalendar.select().first())["id"]
    refused = await post(client, f"/admin/sla/calendars/{calendar_id}/delete", {})
    assert refused.status_code == 422  # still attached to an establishment
    window = await post(
        client,
        "/admin/sla/windows/new",
        {
            "name": "Dimanche",
            "kind": "weekly",
            "weekday": "6",
            "start_time": "00:00",
            "end_time": "06:00",
        },
    )
    assert window.status_code == 303
    window_id = (await MaintenanceWindow.select().first())["id"]
    edited = await post(
        client,
        f"/admin/sla/windows/{window_id}",
        {
            "name": "Ponctuelle",
            "kind": "once",
            "starts_at": "2026-12-01T10:00",
            "ends_at": "2026-12-01T09:00",
        },
    )
    assert edited.status_code == 422 and "La fin doit" in edited.text
    assert (await post(client, f"/admin/sla/windows/{window_id}/delete", {})).status_code == 303
    assert await MaintenanceWindow.count() == 0
    assert (await client.get("/admin/sla/nothing/new")).status_code == 404


async def test_due_time_on_the_ticket_page_list_and_board(client: AsyncTestClient) -> None:
    w = await factories.world()
    await SlaPolicy.insert(
        SlaPolicy(name="N1", priority="high", take_minutes=120, resolve_minutes=600)
    )
    ticket_id = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    await factories.login(client, "tech@desk.test")
    page = await client.get(f"/tickets/{ticket_id}")
    assert "data-due=" in page.text and "Prise en charge" in page.text
    listing = await client.get("/tickets")
    assert "data-due=" in listing.text and "restant" in listing.text
    board = await client.get("/board")
    assert "data-due=" in board.text


async def test_a_breach_reaches_a_board_viewer_live(client: AsyncTestClient) -> None:
    w = await factories.world()
    await SlaPolicy.insert(
        SlaPolicy(
            name="N1", priority="high", take_minutes=30, resolve_minutes=60, breach_notify=False
        )
    )
    ticket_id = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    tech = await session_of(client, "tech@desk.test")
    ws = await connect(client, tech, "view=board")
    with ws:
        assert "sla-ok" in receive(ws)
        scheduler = client.app.state.scheduler
        later = datetime.now(UTC) + timedelta(minutes=45)
        await in_app(client, scheduler.run_once, later)
        pushed = receive_until(ws, f'id="card-{ticket_id}"')
        assert "sla-breached" in pushed and "Dépassé" in pushed
        assert "son niveau de service a changé" in pushed
    # The ticket page says what Guichet did, translated.
    page = await client.get(f"/tickets/{ticket_id}")
    assert "Niveau de service dépassé : prise en charge" in page.text


async def test_a_published_announcement_appears_live_for_those_it_targets(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    alice = await session_of(client, "alice@chu-a.test")
    bruno = await session_of(client, "bruno@clinique-b.test")
    boss = await session_of(client, "admin@desk.test")
    alice_ws = await connect(client, alice, "view=page")
    bruno_ws = await connect(client, bruno, "view=board")
    with alice_ws, bruno_ws:
        assert "Maintenance du DPI" not in receive(alice_ws)
        receive(bruno_ws)
        use(client, boss)
        now = datetime.now(UTC)
        response = await post(
            client,
            "/admin/sla/announcements/new",
            {
                "kind": "maintenance",
                "title": "Maintenance du DPI",
                "display_from": local(now - timedelta(minutes=5)),
                "starts_at": local(now + timedelta(hours=1)),
                "ends_at": local(now + timedelta(hours=2)),
                "establishments": str(w.est_a),
            },
        )
        assert response.status_code == 303
        assert "Maintenance du DPI" in receive_until(alice_ws, "Maintenance du DPI")
        assert "Maintenance du DPI" not in receive(bruno_ws)
    assert (await Announcement.select().first())["published_at"] is not None
    use(client, alice)
    assert "Maintenance du DPI" in (await client.get("/tickets/new")).text
    use(client, bruno)
    assert "Maintenance du DPI" not in (await client.get("/tickets/new")).text


async def test_report_with_chart_and_csv_safe_from_formulas(client: AsyncTestClient) -> None:
    w = await factories.world()
    evil = await factories.group("=HYPERLINK(1)", 1)
    await SlaPolicy.insert(
        SlaPolicy(name="N1", priority="high", take_minutes=120, resolve_minutes=600)
    )
    ticket_id = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    await tickets.assign(w.tech, ticket_id, 1, assignee_id=w.tech.id, group_id=evil)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 2, "Fait.")
    await factories.login(client, "alice@chu-a.test")
    assert (await client.get("/reports/sla")).status_code == 404
    client.cookies.clear()
    await factories.login(client, "sup@desk.test")
    page = await client.get("/reports/sla?by=establishment")
    assert page.status_code == 200 and "<svg" in page.text and "CHA" in page.text
    assert "1 / 1 (100\xa0%)" in page.text  # Babel: no-break space before % in French
    bad = await client.get("/reports/sla?from=hier")
    assert bad.status_code == 422 and "AAAA-MM-JJ" in bad.text
    csv_text = (await client.get("/reports/sla.csv?by=group")).text
    assert "'=HYPERLINK(1)" in csv_text and "\n=HYPERLINK" not in csv_text
    # French spreadsheets: UTF-8 mark, semicolons, decimal comma.
    assert csv_text.startswith("\ufeffGroupe;Tickets;")
    for lang, start in (("ru", "\ufeffГруппа;Заявки;"), ("en", "\ufeffGroup,Tickets,")):
        await client.post(
            "/language", data={"lang": lang, "next": "/"}, headers=factories.csrf_header(client)
        )
        assert (await client.get("/reports/sla.csv?by=group")).text.startswith(start)


async def test_the_api_gives_both_targets(client: AsyncTestClient) -> None:
    from server.services import accounts

    w = await factories.world()
    await SlaPolicy.insert(
        SlaPolicy(name="N1", priority="high", take_minutes=120, resolve_business_days=1)
    )
    with_sla = await factories.ticket(w.requester_a, category_id=str(w.category_id))
    without = await factories.ticket(w.requester_a, priority="low")
    token = await accounts.issue_api_token(w.requester_a.id)
    auth = {"authorization": f"Bearer {token}"}
    body = (await client.get(f"/api/v1/tickets/{with_sla}", headers=auth)).json()
    assert body["sla"]["take_in_charge"]["state"] == "ok"
    assert body["sla"]["resolve"]["due_at"] > body["sla"]["take_in_charge"]["due_at"]
    assert (await client.get(f"/api/v1/tickets/{without}", headers=auth)).json()["sla"] is None


async def test_lists_sort_by_the_next_due_time(client: AsyncTestClient) -> None:
    w = await factories.world()
    await SlaPolicy.insert(
        SlaPolicy(name="slow", priority="low", take_minutes=600, resolve_minutes=6000)
    )
    await SlaPolicy.insert(
        SlaPolicy(name="fast", priority="high", take_minutes=30, resolve_minutes=600)
    )
    none = await factories.ticket(w.requester_a, title="Sans délai", priority="medium")
    slow = await factories.ticket(w.requester_a, title="Lent", priority="low")
    fast = await factories.ticket(w.requester_a, title="Rapide", priority="high")
    await factories.login(client, "tech@desk.test")
    text = (await client.get("/tickets?sort=due")).text
    order = [text.index(f'id="row-{ticket_id}"') for ticket_id in (fast, slow, none)]
    assert order == sorted(order)


async def test_the_scheduler_pushes_a_banner_when_its_display_time_comes(
    client: AsyncTestClient,
) -> None:
    import asyncio

    await factories.world()
    # Signed in first, then a display time well after the page opens: a slow machine
    # (signing in takes most of a second under load) must not open it after that time.
    alice = await session_of(client, "alice@chu-a.test")
    display_from = datetime.now(UTC) + timedelta(seconds=3)
    await Announcement.insert(
        Announcement(
            kind="outage",
            title="Réseau coupé",
            display_from=display_from,
            starts_at=display_from,
            ends_at=display_from + timedelta(hours=1),
        )
    )
    ws = await connect(client, alice, "view=page")
    with ws:
        assert "Réseau coupé" not in receive(ws)  # opened before the display time
        # Until the display time has come (the wait is computed, not guessed).
        await asyncio.sleep((display_from - datetime.now(UTC)).total_seconds() + 0.2)
        report = await in_app(client, client.app.state.scheduler.run_once)
        assert len(report.announced) == 1
        assert "Réseau coupé" in receive_until(ws, "Réseau coupé")
