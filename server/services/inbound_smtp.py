"""The SMTP receiver (aiosmtpd) that hands received mail to ``services.inbound``.

It runs on the application's own event loop (database pool, live bus), started by the app's
lifespan when ``GUICHET_INBOUND_SMTP_PORT`` is set, or alone with ``guichet inbound``. Put it
behind the organisation's mail relay (it listens on loopback by default): the relay accepts
mail for the reply domain and forwards it here.

A mail is answered 250 only once what it creates is committed; on an unexpected error the
answer is 451, so the relay retries later, and the Message-ID record makes the retry safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP

from server.db.engine import db_session
from server.domain.events import TicketEvent
from server.services import inbound
from server.settings import Settings

log = logging.getLogger("guichet.inbound")

Publish = Callable[[list[TicketEvent]], Awaitable[None]]


class InboundHandler:
    def __init__(self, settings: Settings, publish: Publish) -> None:
        self.settings = settings
        self.publish = publish

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            # One database connection for the whole mail, as for a request.
            async with db_session("inbound mail"):
                outcome = await inbound.receive(
                    envelope.original_content or envelope.content,
                    envelope.mail_from or "",
                    list(envelope.rcpt_tos),
                    self.settings,
                )
        except Exception:
            log.exception("Inbound mail could not be processed")
            return "451 4.3.0 Temporary failure, please try again later"
        log.info("Inbound mail from %s: %s %s", envelope.mail_from, outcome.kind, outcome.reason)
        if outcome.events:
            await self.publish(outcome.events)
        return "250 2.0.0 Message accepted"


class InboundReceiver:
    def __init__(self, settings: Settings, publish: Publish, port: int | None = None) -> None:
        self.settings = settings
        self.handler = InboundHandler(settings, publish)
        self.host = settings.mail.inbound_host
        self.port = settings.mail.inbound_port if port is None else port
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(
                self.handler,
                data_size_limit=self.settings.mail.inbound_max_bytes,
                enable_SMTPUTF8=True,
                hostname="guichet",
                ident="Guichet",
                loop=loop,
            ),
            host=self.host,
            port=self.port,
        )
        log.info("Receiving mail on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
