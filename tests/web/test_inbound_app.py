"""The SMTP receiver runs inside the application when GUICHET_INBOUND_SMTP_PORT is set, and
what it creates reaches live pages like any other change."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import sys
import time
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid

import anyio.to_thread
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.db.tables import Ticket
from server.settings import MailSettings, get_settings
from tests import factories
from tests.web.test_live import connect, receive, session_of


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _mail(sender: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "desk@guichet.test"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.chu-a.test")
    message.set_content("Plus de tonalité depuis ce matin.")
    return message


def _send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


async def test_mail_received_by_the_app_shows_live(tmp_path) -> None:
    port = _free_port()
    settings = replace(
        get_settings(),
        mail=MailSettings(sender="desk@guichet.test", inbound_port=port, reply_secret="s"),
    )
    await factories.world()
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as c:
        alice = await session_of(c, "alice@chu-a.test")
        ws = await connect(c, alice, "view=list")
        with ws:
            assert 'data-unread="0"' in receive(ws)
            await anyio.to_thread.run_sync(_send, port, _mail("alice@chu-a.test", "Téléphone muet"))
            pushed = ""
            for _ in range(5):
                pushed += receive(ws)
                if "Téléphone muet" in pushed and 'data-unread="1"' in pushed:
                    break
            assert "Téléphone muet" in pushed  # the list follows
            assert 'data-unread="1"' in pushed  # the acknowledgement rings the bell
    assert await Ticket.count() == 1


async def test_guichet_inbound_runs_the_receiver_alone(tmp_path) -> None:
    await factories.world()
    port = _free_port()
    log = tmp_path / "inbound.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "inbound", "--port", str(port),
            stdout=out, stderr=out,
        )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                await anyio.sleep(0.1)
        else:
            raise AssertionError(log.read_text())
        await anyio.to_thread.run_sync(_send, port, _mail("alice@chu-a.test", "Badge refusé"))
        assert [r["title"] for r in await Ticket.select(Ticket.title)] == ["Badge refusé"]
    finally:
        process.terminate()
        await process.wait()
