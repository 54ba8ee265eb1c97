"""/admin/mail says how many mails wait and since when, and why when the relay is away."""

from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from server.db.tables import Outbox
from server.domain.vocabulary import Role
from server.services.mail_dispatcher import RELAY_DOWN
from tests import factories


async def test_the_mail_page_shows_the_waiting_mail(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, w.est_a, "Ada Admin")
    await factories.login(client, "admin@desk.test")
    await Outbox.delete(force=True)
    page = await client.get("/admin/mail")
    assert "Aucun message en attente" in page.text

    await factories.ticket(w.requester_a)
    await factories.ticket(w.colleague_a)
    await Outbox.update(
        {
            Outbox.attempts: 2,
            Outbox.next_attempt_at: datetime.now(UTC) + timedelta(minutes=2),
            Outbox.last_error: f"{RELAY_DOWN}ConnectionRefusedError: refused",
        }
    ).where(Outbox.id > 0)
    page = await client.get("/admin/mail")
    assert page.status_code == 200
    backlog = page.text.split('id="mail-backlog"', 1)[1].split("</section>", 1)[0]
    assert "2 messages en attente d'envoi, le plus ancien depuis" in backlog
    assert "injoignable" in backlog
