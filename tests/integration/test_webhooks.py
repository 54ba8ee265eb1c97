"""Outbound webhooks against a real HTTP receiver on loopback: queued with the change,
delivered by the mail dispatcher, signed, retried with backoff while the receiver is down,
and one logical delivery (a stable id) whatever the number of attempts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import pytest

from server.db.webhook_tables import WebhookDelivery
from server.domain import webhooks as rules
from server.domain.errors import Forbidden, ValidationFailed
from server.domain.forms import NewFollowUp
from server.domain.vocabulary import Role, Status
from server.services import tickets, webhooks
from server.services.mail_dispatcher import Backoff, MailDispatcher
from server.settings import get_settings
from tests import factories
from tests.webhook_receiver import WebhookReceiver


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


def dispatcher() -> MailDispatcher:
    # A short backoff so a retry is due within the test (the rule itself is unchanged).
    return MailDispatcher(get_settings(), name="hooks", backoff=Backoff(0.2, 1.0))


async def deliver_until(d: MailDispatcher, done: Callable[[], bool], within: float = 30) -> None:
    """Run dispatcher passes until ``done()`` holds (retries become due as time passes)."""
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "not delivered in time"
        await d.run_once()
        await asyncio.sleep(0.05)


async def test_events_are_signed_scoped_and_carry_no_more_than_the_mail(
    receiver: WebhookReceiver,
) -> None:
    w = await factories.world()
    child = await factories.establishment("Annexe Anselme", "ANX", parent=w.est_a)
    kid = await factories.user("kid@annexe.test", Role.REQUESTER, child, "Kim Kid")
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    hook_id, secret = await webhooks.create(
        admin, url=receiver.url, events=["ticket.created", "follow_up"], establishment_id=w.est_a
    )
    own = await factories.ticket(w.requester_a, description="Patient Jean Dupont, lit 12")
    in_child = await factories.ticket(kid)
    await factories.ticket(w.requester_b)  # another establishment: not announced
    await tickets.add_follow_up(w.tech, own, NewFollowUp("note interne", True, 0))
    await tickets.add_follow_up(w.tech, own, NewFollowUp("Nous regardons", False, 0))
    assert await WebhookDelivery.count() == 3

    await deliver_until(dispatcher(), lambda: len(receiver.requests) >= 3)
    got = receiver.requests
    bodies = [json.loads(r.body) for r in got]
    assert [(b["event"], b["ticket"]["id"]) for b in bodies] == [
        ("ticket.created", own),
        ("ticket.created", in_child),
        ("ticket.follow_up", own),
    ]
    for request, body in zip(got, bodies, strict=True):
        assert request.method == "POST" and request.path == "/hooks/guichet"
        assert rules.verify(secret, request.body, request.headers["x-guichet-signature"])
        assert not rules.verify(
            "another secret", request.body, request.headers["x-guichet-signature"]
        )
        assert request.headers["x-guichet-delivery"] == body["id"]
        assert request.headers["x-guichet-event"] == body["event"]
        assert set(body["ticket"]) == {
            "id",
            "number",
            "title",
            "status",
            "establishment",
            "version",
            "url",
        }
    assert bodies[0]["ticket"]["establishment"] == "CHA"
    assert bodies[1]["ticket"]["establishment"] == "ANX"
    assert bodies[0]["ticket"]["url"].endswith(f"/tickets/{own}")
    # Neither the description nor the follow-up's text leaves.
    assert b"Dupont" not in b"".join(r.body for r in got)
    assert b"regardons" not in b"".join(r.body for r in got)
    assert await WebhookDelivery.count().where(WebhookDelivery.sent_at.is_null()) == 0
    listed = await webhooks.listing()
    assert listed[0]["id"] == hook_id and "secret" not in listed[0]


async def test_a_receiver_down_then_up_gets_each_event_once(receiver: WebhookReceiver) -> None:
    w = await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    _id, secret = await webhooks.create(
        admin, url=receiver.url, events=["created", "resolved"], establishment_id=None
    )
    await receiver.stop()
    ticket_id = await factories.ticket(w.requester_a)
    d = dispatcher()
    await d.run_once()
    row = await WebhookDelivery.select().first()
    assert row["sent_at"] is None and row["attempts"] == 1
    assert "ConnectError" in row["last_error"] or "connect" in row["last_error"].lower()
    assert row["next_attempt_at"] > row["created_at"]
    await receiver.start()  # same port
    await deliver_until(d, lambda: len(receiver.requests) >= 1)
    for _ in range(5):  # further passes send nothing again
        await d.run_once()
    assert len(receiver.requests) == 1
    body = json.loads(receiver.requests[0].body)
    assert body["ticket"]["id"] == ticket_id and body["id"] == row["delivery_id"]
    assert rules.verify(
        secret, receiver.requests[0].body, receiver.requests[0].headers["x-guichet-signature"]
    )
    sent = await WebhookDelivery.select().first()
    assert sent["sent_at"] is not None and sent["last_error"] == ""


async def test_a_refused_attempt_is_retried_with_the_same_delivery_id(
    receiver: WebhookReceiver,
) -> None:
    w = await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    await webhooks.create(admin, url=receiver.url, events=["resolved"], establishment_id=None)
    ticket_id = await factories.ticket(w.requester_a)
    await tickets.change_status(w.tech, ticket_id, Status.RESOLVED, 1, "Redémarrage")
    receiver.status = 503
    d = dispatcher()
    await deliver_until(d, lambda: len(receiver.requests) >= 2)
    receiver.status = 200
    await deliver_until(
        d,
        lambda: len(receiver.requests) >= 3,
    )
    for _ in range(5):
        await d.run_once()
    ids = {r.headers["x-guichet-delivery"] for r in receiver.requests}
    assert len(ids) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert len(receiver.requests) == 3
    row = await WebhookDelivery.select().first()
    assert row["attempts"] == 2 and row["sent_at"] is not None


async def test_only_admins_configure_and_only_http_urls() -> None:
    w = await factories.world()
    admin = await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    with pytest.raises(Forbidden):
        await webhooks.create(
            w.tech, url="https://x.test/h", events=["created"], establishment_id=None
        )
    for url in (
        "file:///etc/passwd",
        "gopher://x.test/",
        "https://user:pw@x.test/",
        "http://",
        "javascript:alert(1)",
    ):
        with pytest.raises(ValidationFailed):
            await webhooks.create(admin, url=url, events=["created"], establishment_id=None)
    with pytest.raises(ValidationFailed):
        await webhooks.create(
            admin, url="https://x.test/h", events=["shared"], establishment_id=None
        )
    with pytest.raises(ValidationFailed):
        await webhooks.create(admin, url="https://x.test/h", events=[], establishment_id=None)
