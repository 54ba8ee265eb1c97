"""Mail after trouble: a relay that comes back gets the waiting mail within seconds (not after
the backoff), and the claims of a dispatcher that was killed are taken over after its short,
heartbeat-renewed lease, while a slow but living dispatcher keeps its own.

Real aiosmtpd relays on loopback; the dispatchers' clocks (poll, probe, claim) are settings.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.db.tables import Outbox
from server.services.mail_dispatcher import RELAY_DOWN, Backoff, backlog
from tests import factories
from tests.integration.test_notifications import SmtpServer, dispatcher

FAST = {"poll_seconds": 0.05, "probe_seconds": 0.2}


async def until(condition: Callable[[], Awaitable[bool]], what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within}s: {what}")


class SlowInbox:
    """Accepts each message after ``delay`` seconds (a slow relay)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.message_ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        for line in envelope.original_content.decode(errors="replace").splitlines():
            if line.lower().startswith("message-id:"):
                self.message_ids.append(line.split(":", 1)[1].strip())
        return "250 Message accepted for delivery"


class HangingInbox:
    """Never answers DATA: the sender is stuck mid-send (until it is killed)."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(3600)
        return "250 too late"


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_mail_leaves_within_seconds_of_the_relay_coming_back(relay: SmtpServer) -> None:
    w = await factories.world()
    # A backoff of an hour: without the probe the mail would wait that long.
    d = dispatcher(relay, mail=FAST, backoff=Backoff(base_seconds=3600))
    relay.stop()
    d.start()
    try:
        await factories.ticket(w.requester_a, title="Imprimante du bloc")

        async def postponed() -> bool:
            row = await Outbox.select(Outbox.attempts, Outbox.last_error).first()
            return row is not None and row["attempts"] >= 1

        await until(postponed, "the dispatcher tried and postponed the mail")
        row = await Outbox.select().first()
        assert row["last_error"].startswith(RELAY_DOWN)
        assert row["next_attempt_at"] > datetime.now(UTC) + timedelta(minutes=30)
        state = await backlog()
        assert state.waiting == 1 and state.relay_down
        assert state.since == row["created_at"]

        relay.start()

        async def delivered() -> bool:
            return len(relay.inbox.received) == 1

        await until(delivered, "the mail reached the relay once it was back")
        await until(
            lambda: Outbox.exists().where(Outbox.sent_at.is_not_null()), "the mail is stamped"
        )
        assert (await backlog()).waiting == 0
    finally:
        await d.stop()


async def test_a_refused_mail_keeps_its_backoff(relay: SmtpServer) -> None:
    """Only mails postponed because the relay was unreachable are made due by a probe."""
    w = await factories.world()
    await factories.ticket(w.requester_a)
    later = datetime.now(UTC) + timedelta(hours=1)
    await Outbox.update(
        {Outbox.attempts: 3, Outbox.next_attempt_at: later, Outbox.last_error: "SMTP 550 no"}
    ).where(Outbox.id > 0)
    d = dispatcher(relay, mail=FAST)
    assert await d.probe_if_waiting() == 0
    assert (await Outbox.select(Outbox.attempts).first())["attempts"] == 3


async def test_a_long_batch_keeps_its_claims_by_renewing_them() -> None:
    slow = SlowInbox(delay=2.0)
    relay = SmtpServer()
    relay.inbox = slow  # type: ignore[assignment]
    relay.start()
    try:
        w = await factories.world()
        for i in range(3):
            await factories.ticket(w.requester_a, title=f"Panne {i}")
        # Three mails at 2 s each: twice the 3 s lease, renewed every second.
        busy = dispatcher(relay, name="busy", mail={**FAST, "claim_seconds": 3})
        other = dispatcher(relay, name="other", mail={**FAST, "claim_seconds": 3})
        sending = asyncio.create_task(busy.run_once())
        await until(lambda: Outbox.exists().where(Outbox.claimed_by == "busy"), "busy claims")
        while not sending.done():
            await other.run_once()  # never finds a row whose lease lapsed
            await asyncio.sleep(0.2)
        assert sending.result() == 3
        assert len(slow.message_ids) == 3
        assert len(set(slow.message_ids)) == 3
    finally:
        relay.stop()


DOOMED = """
import asyncio
from server.services.mail_dispatcher import MailDispatcher
from server.settings import get_settings
asyncio.run(MailDispatcher(get_settings(), name="doomed").run_once())
"""


async def test_claims_of_a_killed_dispatcher_are_taken_over_after_its_lease() -> None:
    hanging = SmtpServer()
    hanging.inbox = HangingInbox()  # type: ignore[assignment]
    hanging.start()
    relay = SmtpServer()
    relay.start()
    process = None
    try:
        w = await factories.world()
        await factories.ticket(w.requester_a, title="Scanner des urgences")
        # Another process claims the mail and hangs mid-send; its lease comes from the
        # settings, as in a real deployment.
        env = {
            **os.environ,
            "GUICHET_SMTP_HOST": "127.0.0.1",
            "GUICHET_SMTP_PORT": str(hanging.port),
            "GUICHET_MAIL_CLAIM_SECONDS": "2",
        }
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", DOOMED, env=env)
        await until(
            lambda: Outbox.exists().where(Outbox.claimed_by == "doomed"), "the batch is claimed"
        )
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 30)
        assert await Outbox.exists().where(Outbox.claimed_by == "doomed")

        survivor = dispatcher(relay, name="survivor", mail={**FAST, "claim_seconds": 2})

        async def taken_over() -> bool:
            await survivor.run_once()
            return len(relay.inbox.received) == 1

        await until(taken_over, "the survivor delivers the killed dispatcher's mail")
        row = await Outbox.select().first()
        assert row["sent_at"] is not None and row["claimed_by"] is None
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), 30)
        hanging.stop()
        relay.stop()


def test_the_default_lease_is_short_and_renewed() -> None:
    d = dispatcher(None)
    assert d.lease <= timedelta(minutes=1)


async def test_sent_mails_are_stamped_a_few_at_a_time_and_all_in_the_end(
    relay: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One commit per STAMP_EVERY mails, not one per mail; none is left unstamped.
    from server.services import mail_dispatcher

    w = await factories.world()
    for i in range(7):
        await factories.ticket(w.requester_a, title=f"Badge {i}")
    waiting = await Outbox.count().where(Outbox.sent_at.is_null())
    assert waiting >= 7
    stamps: list[int] = []
    real = mail_dispatcher.MailDispatcher._stamp_sent

    async def counted(self: Any, table: Any, row_ids: list[int]) -> None:
        if row_ids:
            stamps.append(len(row_ids))
        await real(self, table, row_ids)

    monkeypatch.setattr(mail_dispatcher.MailDispatcher, "_stamp_sent", counted)
    sent = await dispatcher(relay, batch_size=50).run_once()
    assert sent == waiting == len(relay.inbox.received)
    every = mail_dispatcher.STAMP_EVERY
    assert stamps == [every] * (waiting // every) + ([waiting % every] if waiting % every else [])
    assert not await Outbox.exists().where(Outbox.sent_at.is_null())
    assert not await Outbox.exists().where(Outbox.claimed_by.is_not_null())


async def test_the_queues_waiting_rows_are_read_from_their_partial_indexes() -> None:
    # Sent rows stay forever: a claim or a backlog count that walked them grew with every
    # mail ever sent (60 ms a claim at 420,000 mails, under SQLite's write lock).
    from server.db.webhook_tables import WebhookDelivery
    from server.services import mail_dispatcher as md

    now = datetime.now(UTC)
    for table in (*md.QUEUES, WebhookDelivery):
        name = table._meta.tablename
        db: Any = table._meta.db
        if db.engine_type == "postgres":
            claim = md._sql(md._CLAIM_POSTGRES, table)
            async with db.transaction():
                await table.raw("SET LOCAL enable_seqscan = off")
                rows = await table.raw(f"EXPLAIN {claim}", "x", 60, 20)
                rows += await table.raw(
                    f"EXPLAIN SELECT count(*) FROM {name} WHERE sent_at IS NULL"
                )
            plan = " ".join(r["QUERY PLAN"] for r in rows)
        else:
            claim = md._sql(md._CLAIM_SQLITE, table)
            rows = await table.raw(f"EXPLAIN QUERY PLAN {claim}", "x", now, now, now, 20)
            rows += await table.raw(
                f"EXPLAIN QUERY PLAN SELECT count(*) FROM {name} WHERE sent_at IS NULL"
            )
            plan = " ".join(r["detail"] for r in rows)
        assert plan.count(f"{name}_waiting") >= 2, plan


async def test_mails_wait_for_a_pause_in_the_requests(relay: SmtpServer) -> None:
    # Rendering a mail costs about a ticket creation's CPU: requests go first.
    from server.observability import inflight

    w = await factories.world()
    await factories.ticket(w.requester_a, title="Badge refusé")
    waiting = await Outbox.count().where(Outbox.sent_at.is_null())
    assert waiting >= 1

    async def parked() -> bool:
        return inflight.waiting() == 1

    inflight.request_started()
    try:
        sending = asyncio.create_task(dispatcher(relay, lull_seconds=60).run_once())
        await until(parked, "the dispatcher waits for the request")
        assert relay.inbox.received == []
    finally:
        inflight.request_answered()
    assert await asyncio.wait_for(sending, 60) == waiting == len(relay.inbox.received)
