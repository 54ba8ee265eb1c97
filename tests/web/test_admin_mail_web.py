"""The development mailbox: mails written under var/mail, readable by administrators only."""

from litestar.testing import AsyncTestClient

from server.domain.vocabulary import Role
from server.services.mail_dispatcher import MailDispatcher
from server.settings import get_settings
from tests import factories


async def test_admin_reads_the_mails_written_to_files(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.user("admin@desk.test", Role.ADMIN, w.est_a, "Ada Admin")
    ticket_id = await factories.ticket(w.requester_a, title="Clavier du standard")
    # The app's own dispatcher may get there first: either way the mail is written once.
    await MailDispatcher(get_settings(), name="web-test").run_once()
    await factories.login(client, "admin@desk.test")
    page = await client.get("/admin/mail")
    assert page.status_code == 200
    assert f"[Guichet #{ticket_id} CHA] Clavier du standard" in page.text
    assert "alice@chu-a.test" in page.text
    name = page.text.split('href="/admin/mail/', 1)[1].split('"', 1)[0]
    mail = await client.get(f"/admin/mail/{name}")
    assert mail.status_code == 200
    assert f"/tickets/{ticket_id}" in mail.text
    assert "Message-ID" in mail.text
    # Only names the file backend writes are opened (no other file of var/, no path).
    for bad in ("secret_key", "nope.eml", "x.txt", ".hidden.eml"):
        assert (await client.get(f"/admin/mail/{bad}")).status_code == 404


async def test_the_mailbox_does_not_exist_for_anyone_else(client: AsyncTestClient) -> None:
    await factories.world()
    await factories.login(client, "tech@desk.test")
    assert (await client.get("/admin/mail")).status_code == 404
    await client.post("/logout", headers=factories.csrf_header(client))
    await factories.login(client, "alice@chu-a.test")
    assert (await client.get("/admin/mail")).status_code == 404
