"""Administration of the organisation and an account's life, through the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient

from server.db.tables import AccountToken, Establishment, User, UserSession
from server.domain.vocabulary import Role
from server.services import mailbox
from server.services.mail_dispatcher import MailDispatcher
from server.settings import get_settings
from tests import factories
from tests.web.test_live import connect, in_app, receive, session_of, use
from tests.web.test_tickets_web import post

ADMIN_EMAIL = "admin@desk.test"


async def admin_world() -> factories.World:
    w = await factories.world()
    await factories.user(ADMIN_EMAIL, Role.ADMIN, None, "Ada Admin")
    return w


async def last_link_to(address: str, kind: str) -> str:
    # Account mails are queued: deliver what waits (the app's own dispatcher may be first).
    await MailDispatcher(get_settings(), name="web-test").run_once()
    directory = get_settings().var_dir / "mail"
    for stored in mailbox.list_mails(directory):
        if stored.to == address:
            content = mailbox.read_mail(directory, stored.name)
            assert content is not None
            match = re.search(rf"https?://\S+(/{kind}/[A-Za-z0-9_\-]+)", content.text)
            assert match, content.text
            return match.group(1)
    raise AssertionError(f"no mail to {address}")


async def last_mail_to(address: str) -> str:
    """The text of the newest mail to ``address`` (queued mails delivered first)."""
    await MailDispatcher(get_settings(), name="web-test").run_once()
    directory = get_settings().var_dir / "mail"
    found = [m for m in mailbox.list_mails(directory) if m.to == address]
    assert found, f"no mail to {address}"
    content = mailbox.read_mail(directory, found[0].name)  # the newest first
    assert content is not None
    return content.text


async def test_admin_pages_do_not_exist_for_anyone_else(client: AsyncTestClient) -> None:
    await admin_world()
    for email in ("sup@desk.test", "tech@desk.test", "alice@chu-a.test"):
        client.cookies.clear()
        await factories.login(client, email)
        for path in ("/admin", "/admin/establishments", "/admin/users", "/admin/groups"):
            assert (await client.get(path)).status_code == 404, (email, path)
    client.cookies.clear()
    anonymous = await client.get("/admin/users", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)


async def test_establishment_tree_is_edited_and_guarded(client: AsyncTestClient) -> None:
    w = await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    created = await post(
        client,
        "/admin/establishments",
        {
            "name": "Annexe Nord",
            "code": "anx",
            "parent_id": str(w.est_a),
            "timezone": "Europe/Paris",
        },
    )
    assert created.status_code == 303
    annex = await Establishment.select().where(Establishment.code == "ANX").first()
    assert annex["parent"] == w.est_a

    bad = await post(
        client,
        "/admin/establishments",
        {"name": "X", "code": "ANX", "parent_id": "", "timezone": "Mars/Olympus"},
    )
    assert bad.status_code == 422
    assert "fuseau" in bad.text.lower()

    duplicate = await post(
        client, "/admin/establishments", {"name": "Autre", "code": "CHA", "timezone": ""}
    )
    assert duplicate.status_code == 422
    assert "déjà ce code" in duplicate.text

    # Moving CHA under its own child would make a loop.
    loop = await post(
        client,
        f"/admin/establishments/{w.est_a}",
        {"name": "CHU Anselme", "code": "CHA", "parent_id": str(annex["id"]), "timezone": ""},
    )
    assert loop.status_code == 422
    assert "sous lui-même" in loop.text
    assert (await Establishment.select().where(Establishment.id == w.est_a).first())[
        "parent"
    ] is None

    off = await post(client, f"/admin/establishments/{annex['id']}/active", {"active": "0"})
    assert off.status_code == 303
    assert not (await Establishment.select().where(Establishment.id == annex["id"]).first())[
        "active"
    ]


async def test_invitation_link_sets_the_password_once(client: AsyncTestClient) -> None:
    w = await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    invited = await post(
        client,
        "/admin/users",
        {
            "email": "Nouvelle@CHU-A.test",
            "full_name": "Nina Nouvelle",
            "role": "requester",
            "establishment_id": str(w.est_a),
        },
    )
    assert invited.status_code == 303
    assert "sent=1" in invited.headers["location"]
    link = await last_link_to("nouvelle@chu-a.test", "activate")

    client.cookies.clear()
    # No password yet: signing in fails until the link is used.
    await client.get("/login")
    refused = await post(
        client, "/login", {"email": "nouvelle@chu-a.test", "password": "", "next": "/tickets"}
    )
    assert refused.status_code == 400
    page = await client.get(link)
    assert page.status_code == 200 and "Nina Nouvelle" in page.text
    short = await post(
        client, link, {"full_name": "Nina Nouvelle", "password": "court", "confirm": "court"}
    )
    assert short.status_code == 422
    done = await post(
        client,
        link,
        {
            "full_name": "Nina Nouvelle",
            "password": factories.PASSWORD,
            "confirm": factories.PASSWORD,
        },
    )
    assert done.status_code == 200
    await factories.login(client, "nouvelle@chu-a.test")
    client.cookies.clear()
    again = await client.get(link)
    assert again.status_code == 404
    assert "déjà été utilisé" in again.text


async def test_expired_links_do_not_work(client: AsyncTestClient) -> None:
    w = await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    await post(
        client,
        "/admin/users",
        {
            "email": "tard@chu-a.test",
            "full_name": "Tom Tard",
            "role": "requester",
            "establishment_id": str(w.est_a),
        },
    )
    link = await last_link_to("tard@chu-a.test", "activate")
    await AccountToken.update(
        {AccountToken.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
    ).where(AccountToken.purpose == "activate")
    client.cookies.clear()
    assert (await client.get(link)).status_code == 404


async def test_self_registration_is_pending_until_linked(client: AsyncTestClient) -> None:
    w = await admin_world()
    await client.get("/register")
    form = {
        "email": "dr.libre@exemple.test",
        "full_name": "Dr Libre",
        "organisation": "Cabinet de radiologie du port",
        "password": factories.PASSWORD,
        "confirm": factories.PASSWORD,
    }
    registered = await post(client, "/register", form)
    assert registered.status_code == 200
    assert "administrateur" in registered.text
    # The same address again: same answer, nothing created (no account enumeration).
    again = await post(client, "/register", {**form, "full_name": "Quelqu'un d'autre"})
    assert again.status_code == 200 and again.text.count("administrateur") >= 1
    assert await User.count().where(User.email == "dr.libre@exemple.test") == 1

    # Not pending (nor able to sign in) until the address is verified by its link (issue 14).
    client.cookies.clear()
    await factories.login(client, ADMIN_EMAIL)
    assert "Cabinet de radiologie du port" not in (await client.get("/admin/users?pending=1")).text
    client.cookies.clear()
    link = await last_link_to("dr.libre@exemple.test", "register/verify")
    shown = await client.get(link)
    assert shown.status_code == 200 and "dr.libre@exemple.test" in shown.text
    assert await User.count().where(User.active == False) == 1  # noqa: E712 - a GET changes nothing
    confirmed = await post(client, link, {})
    assert confirmed.status_code == 200
    assert (await post(client, link, {})).status_code == 404  # single use
    # Every admin is told by mail, in their language.
    admin_mail = await last_mail_to(ADMIN_EMAIL)
    assert "Dr Libre" in admin_mail and "/admin/users?pending=1" in admin_mail

    await factories.login(client, "dr.libre@exemple.test")
    page = await client.get("/tickets/new")
    assert 'id="pending-account"' in page.text
    refused = await post(
        client,
        "/tickets",
        {"title": "Imprimante", "description": "Ne marche pas", "type": "incident"},
    )
    assert refused.status_code == 403
    assert "pas encore rattaché" in refused.text

    user = await User.select().where(User.email == "dr.libre@exemple.test").first()
    client.cookies.clear()
    await factories.login(client, ADMIN_EMAIL)
    pending = await client.get("/admin/users?pending=1")
    assert "Cabinet de radiologie du port" in pending.text
    assert 'class="badge pending-accounts"' in pending.text  # told in the app too
    linked = await post(
        client, f"/admin/users/{user['id']}/establishment", {"establishment_id": str(w.est_a)}
    )
    assert linked.status_code == 303
    # The person is told, in the language they registered in.
    told = await last_mail_to("dr.libre@exemple.test")
    assert "CHU Anselme" in told and "ouvrir des tickets" in told
    client.cookies.clear()
    await factories.login(client, "dr.libre@exemple.test")
    filed = await post(
        client,
        "/tickets",
        {"title": "Imprimante", "description": "Ne marche pas", "type": "incident"},
    )
    assert filed.status_code == 303


async def test_password_reset_by_single_use_link_ends_old_sessions(
    client: AsyncTestClient,
) -> None:
    await admin_world()
    await client.get("/reset")
    unknown = await post(client, "/reset", {"email": "personne@nulle-part.test"})
    known = await post(client, "/reset", {"email": "alice@chu-a.test"})
    # The same words whether the address has an account or not.
    assert unknown.status_code == known.status_code == 200
    assert unknown.text.replace("personne@nulle-part.test", "") == known.text.replace(
        "alice@chu-a.test", ""
    )
    link = await last_link_to("alice@chu-a.test", "reset")
    await factories.login(client, "alice@chu-a.test")
    alice = await User.select().where(User.email == "alice@chu-a.test").first()
    assert await UserSession.count().where(UserSession.user == alice["id"]) == 1
    client.cookies.clear()
    await client.get("/login")
    new_password = "une phrase de passe neuve"
    done = await post(client, link, {"password": new_password, "confirm": new_password})
    assert done.status_code == 200
    assert await UserSession.count().where(UserSession.user == alice["id"]) == 0
    await factories.login(client, "alice@chu-a.test", new_password)
    assert (await client.get(link)).status_code == 404


async def test_admin_changes_email_role_groups_and_scope(client: AsyncTestClient) -> None:
    w = await admin_world()
    await factories.login(client, ADMIN_EMAIL)
    taken = await post(client, f"/admin/users/{w.tech.id}/email", {"email": "sup@desk.test"})
    assert taken.status_code == 422
    changed = await post(client, f"/admin/users/{w.tech.id}/email", {"email": "theo@desk.test"})
    assert changed.status_code == 303
    assert await User.exists().where(User.email == "theo@desk.test")

    # The supervisor's scope narrows to establishment B: A's tickets disappear for them.
    ticket_a = await factories.ticket(w.requester_a)
    scoped = await post(
        client, f"/admin/users/{w.supervisor.id}/scope", {"establishments": [str(w.est_b)]}
    )
    assert scoped.status_code == 303
    client.cookies.clear()
    await factories.login(client, "sup@desk.test")
    assert (await client.get(f"/tickets/{ticket_a}")).status_code == 404

    # A requester never gets a scope or groups.
    client.cookies.clear()
    await factories.login(client, ADMIN_EMAIL)
    refused = await post(
        client, f"/admin/users/{w.requester_a.id}/groups", {"groups": [str(w.group_id)]}
    )
    assert refused.status_code == 422


async def test_deactivating_from_the_admin_page_closes_sockets_at_once(
    client: AsyncTestClient,
) -> None:
    w = await admin_world()
    admin = await session_of(client, ADMIN_EMAIL)
    alice = await session_of(client, "alice@chu-a.test")
    ws = await connect(client, alice, "view=board")
    with ws:
        receive(ws)
        use(client, admin)
        response = await post(client, f"/admin/users/{w.requester_a.id}/active", {"active": "0"})
        assert response.status_code == 303
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 4401
    use(client, alice)
    assert (await client.get("/tickets", follow_redirects=False)).status_code != 200
    use(client, admin)
    back = await post(client, f"/admin/users/{w.requester_a.id}/active", {"active": "1"})
    assert back.status_code == 303
    assert in_app  # the helper module is shared with the live tests
