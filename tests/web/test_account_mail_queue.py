"""Account mails (password reset, invitation) are queued like every other mail: the request
never talks to the relay, so a relay outage changes neither the page nor its timing, and the
mail leaves later through the dispatcher."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.mail_tables import AccountMail
from server.domain.vocabulary import Role
from server.services import account_mail
from server.settings import MailSettings, get_settings
from tests import factories
from tests.integration.test_notifications import SmtpServer, text_of
from tests.web.test_tickets_web import post


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    """A relay for the whole application, not started yet (down)."""
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
async def client(relay: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """The application and its own dispatcher, sending through ``relay`` (quick clocks)."""
    mail = MailSettings(
        smtp_host="127.0.0.1",
        smtp_port=relay.port,
        sender="desk@guichet.test",
        poll_seconds=0.1,
        probe_seconds=0.2,
    )
    settings = replace(get_settings(), mail=mail)
    monkeypatch.setattr(account_mail, "get_settings", lambda: settings)
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as c:
        yield c


async def delivered_to(relay: SmtpServer, address: str) -> EmailMessage:
    deadline = time.monotonic() + 60
    while not relay.inbox.to(address):
        assert time.monotonic() < deadline, f"no mail to {address} within 60 s"
        await asyncio.sleep(0.05)
    [message] = relay.inbox.to(address)
    return message


async def test_reset_with_the_relay_down_answers_the_same_and_mails_later(
    client: AsyncTestClient, relay: SmtpServer
) -> None:
    await factories.world()
    await client.get("/reset")
    unknown = await post(client, "/reset", {"email": "personne@nulle-part.test"})
    known = await post(client, "/reset", {"email": "alice@chu-a.test"})
    assert unknown.status_code == known.status_code == 200
    assert unknown.text.replace("personne@nulle-part.test", "") == known.text.replace(
        "alice@chu-a.test", ""
    )
    # Nothing was lost while the relay was away: the mail waits in the queue.
    [queued] = await AccountMail.select()
    assert queued["sent_at"] is None and "alice@chu-a.test" in queued["recipient"]

    relay.start()
    # The application's own dispatcher sends it once the relay answers.
    message = await delivered_to(relay, "alice@chu-a.test")
    link = re.search(r"https?://\S+(/reset/[A-Za-z0-9_\-]+)", text_of(message))
    assert link, text_of(message)
    assert (await client.get(link.group(1))).status_code == 200
    # The single-use link does not stay in the database once the mail left.
    deadline = time.monotonic() + 60
    while (sent := (await AccountMail.select())[0])["sent_at"] is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert sent["message"] == ""


async def test_an_invitation_is_queued_not_sent_in_the_request(
    client: AsyncTestClient, relay: SmtpServer
) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, None, "Ada Admin")
    await factories.login(client, "admin@desk.test")
    invited = await post(
        client,
        "/admin/users",
        {
            "email": "nouvelle@chu-a.test",
            "full_name": "Nina Nouvelle",
            "role": "requester",
            "establishment_id": str(w.est_a),
        },
    )
    assert invited.status_code == 303
    assert await AccountMail.count() == 1
    relay.start()
    message = await delivered_to(relay, "nouvelle@chu-a.test")
    assert "/activate/" in text_of(message)
