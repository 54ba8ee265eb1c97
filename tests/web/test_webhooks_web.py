"""Webhooks are configured by admins, on /admin/webhooks and through /api/v1/webhooks; the
secret is shown once."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from server.db.webhook_tables import Webhook, WebhookDelivery
from server.domain.vocabulary import Role
from tests import factories
from tests.web.test_api import bearer
from tests.web.test_tickets_web import post


async def test_admin_page_creates_shows_the_secret_once_and_deletes(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    await factories.login(client, "admin@desk.test")
    assert "/admin/webhooks" in (await client.get("/admin")).text
    refused = await post(
        client,
        "/admin/webhooks",
        {"url": "ftp://files.chu-a.test/in", "events": "created"},
    )
    assert refused.status_code == 422
    assert "ftp://files.chu-a.test/in" in refused.text  # what was typed is kept
    created = await post(
        client,
        "/admin/webhooks",
        {
            "url": "https://itsm.chu-a.test/hooks",
            "events": ["created", "resolved"],
            "establishment_id": str(w.est_a),
        },
    )
    assert created.status_code == 201, created.text
    hook = await Webhook.select().first()
    assert hook["events"] == "created,resolved" and hook["establishment"] == w.est_a
    assert hook["secret"] in created.text
    page = await client.get("/admin/webhooks")
    assert "https://itsm.chu-a.test/hooks" in page.text
    assert hook["secret"] not in page.text
    off = await post(client, f"/admin/webhooks/{hook['id']}/active", {"active": "0"})
    assert off.status_code in (200, 303)
    assert (await Webhook.select(Webhook.active).first())["active"] is False
    gone = await post(client, f"/admin/webhooks/{hook['id']}/delete", {})
    assert gone.status_code in (200, 303)
    assert await Webhook.count() == 0


async def test_webhook_api_is_for_admins(client: AsyncTestClient) -> None:
    w = await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    headers = await bearer(admin.id)
    created = await client.post(
        "/api/v1/webhooks",
        headers=headers,
        json={"url": "http://127.0.0.1:9/h", "events": ["ticket.created", "ticket.closed"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert len(body["secret"]) >= 32
    assert body["events"] == ["ticket.created", "ticket.closed"]
    listed = await client.get("/api/v1/webhooks", headers=headers)
    assert [h["id"] for h in listed.json()] == [body["id"]]
    assert "secret" not in listed.json()[0]
    await factories.ticket(w.requester_a)
    assert await WebhookDelivery.count() == 1
    assert (await client.get("/api/v1/webhooks", headers=headers)).json()[0]["waiting"] == 1
    bad = await client.post(
        "/api/v1/webhooks",
        headers=headers,
        json={"url": "file:///etc/passwd", "events": ["created"]},
    )
    assert bad.status_code == 422 and "url" in bad.json()["fields"]
    tech = await bearer(w.tech.id)
    assert (await client.get("/api/v1/webhooks", headers=tech)).status_code == 404
    assert (
        await client.post(f"/api/v1/webhooks/{body['id']}/delete", headers=tech)
    ).status_code == 404
    off = await client.post(
        f"/api/v1/webhooks/{body['id']}/active", headers=headers, json={"active": False}
    )
    assert off.status_code == 200 and off.json()["active"] is False
    deleted = await client.post(f"/api/v1/webhooks/{body['id']}/delete", headers=headers)
    assert deleted.status_code == 204
    assert await Webhook.count() == 0 and await WebhookDelivery.count() == 0
