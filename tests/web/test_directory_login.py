"""LDAP / Active Directory login against a real slapd on loopback, through the login form."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from server.db.directory_tables import DirectoryLink
from server.db.tables import Group, GroupMember, LoginAttempt, SupervisorScope, User
from server.domain.vocabulary import Role
from server.services import accounts
from server.settings import get_settings
from tests import factories
from tests.ldap_server import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    GROUPS,
    PASSWORD,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SUFFIX,
    Slapd,
    free_port,
)

GROUP_MAP = {
    "desk-n1": {"role": "technician", "groups": ["Support N1"]},
    "cn=chu-staff,ou=groups,dc=example,dc=org": {"establishments": ["CHU"]},
    "desk-admins": {"role": "admin", "groups": ["Support N1"], "establishments": ["CHU"]},
}


@pytest.fixture(scope="module")
def slapd() -> Iterator[Slapd]:
    server = Slapd()
    server.start()
    yield server
    server.stop()


def _configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"GUICHET_{name}", value)
    get_settings.cache_clear()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def bind_as_user(settings_env: pytest.MonkeyPatch, slapd: Slapd) -> None:
    """OpenLDAP style: the DN comes from a template, groups are searched."""
    _configure(
        settings_env,
        LDAP_URL=slapd.url,
        LDAP_USER_DN_TEMPLATE=f"uid={{username}},{PEOPLE}",
        LDAP_GROUP_BASE=GROUPS,
        LDAP_DISABLED_FILTER="(employeeType=disabled)",
        DIRECTORY_GROUPS=json.dumps(GROUP_MAP),
    )


@pytest.fixture
def search_then_bind(settings_env: pytest.MonkeyPatch, slapd: Slapd) -> None:
    """Active Directory style: a service account finds sAMAccountName, groups in memberOf."""
    _configure(
        settings_env,
        LDAP_URL=slapd.url,
        LDAP_BIND_DN=SERVICE_DN,
        LDAP_BIND_PASSWORD=SERVICE_PASSWORD,
        LDAP_USER_BASE=SUFFIX,
        LDAP_USER_FILTER="(sAMAccountName={username})",
        DIRECTORY_GROUPS=json.dumps(GROUP_MAP),
    )


async def _post_login(client: AsyncTestClient, login: str, password: str, lang: str = "en"):
    await client.get("/login")
    return await client.post(
        "/login",
        data={"email": login, "password": password, "next": "/tickets"},
        headers={**factories.csrf_header(client), "accept-language": lang},
        follow_redirects=False,
    )


async def _desk() -> tuple[int, int]:
    chu = await factories.establishment("CHU Directory", "CHU")
    n1 = await factories.group("Support N1", serves=(chu,))
    return chu, n1


async def _account(email: str) -> dict:
    row = await User.select().where(User.email == email).first()
    assert row is not None, email
    return row


async def test_first_login_creates_the_account_from_the_directory(
    bind_as_user: None, client: AsyncTestClient
) -> None:
    chu, n1 = await _desk()
    response = await _post_login(client, "alice", PASSWORD)
    assert response.status_code == 303, response.text
    assert (await client.get("/tickets")).status_code == 200
    row = await _account("alice.martin@example.org")
    assert row["full_name"] == "Alice Martin"
    assert row["role"] == Role.TECHNICIAN.value
    assert row["establishment"] == chu
    assert row["password_hash"] == ""  # no local password: the directory decides
    assert await GroupMember.exists().where(
        (GroupMember.user == row["id"]) & (GroupMember.group == n1)
    )
    assert await DirectoryLink.count() == 1
    # A directory login that succeeds leaves no failed attempt behind for the throttle.
    assert await LoginAttempt.count() == 0


async def test_next_login_follows_the_directory_groups(
    bind_as_user: None, client: AsyncTestClient, slapd: Slapd
) -> None:
    _, n1 = await _desk()
    other = await factories.group("Not managed")
    assert (await _post_login(client, "alice", PASSWORD)).status_code == 303
    alice = await _account("alice.martin@example.org")
    # A group the map does not name is Guichet's business: the directory leaves it alone.
    await GroupMember.insert(GroupMember(user=alice["id"], group=other))
    group_dn = f"cn=desk-n1,{GROUPS}"
    _ldapmodify(
        slapd,
        f"dn: {group_dn}\nchangetype: modify\ndelete: member\n"
        f"member: uid=alice,{PEOPLE}\n-\nadd: member\nmember: uid=bruno,{PEOPLE}\n",
    )
    try:
        client.cookies.clear()
        assert (await _post_login(client, "alice", PASSWORD)).status_code == 303
    finally:
        _ldapmodify(
            slapd,
            f"dn: {group_dn}\nchangetype: modify\ndelete: member\n"
            f"member: uid=bruno,{PEOPLE}\n-\nadd: member\nmember: uid=alice,{PEOPLE}\n",
        )
    again = await _account("alice.martin@example.org")
    assert again["id"] == alice["id"]
    assert again["role"] == Role.REQUESTER.value
    groups = {r["group"] for r in await GroupMember.select().where(GroupMember.user == alice["id"])}
    assert groups == {other}
    assert n1 not in groups


async def test_service_account_search_and_member_of(
    search_then_bind: None, client: AsyncTestClient
) -> None:
    chu, _ = await _desk()
    response = await _post_login(client, "EMMA", PASSWORD)
    assert response.status_code == 303, response.text
    emma = await _account("emma.leroy@example.org")
    assert emma["role"] == Role.ADMIN.value
    scopes = await SupervisorScope.select().where(SupervisorScope.user == emma["id"])
    assert [s["establishment"] for s in scopes] == [chu]
    assert await GroupMember.exists().where(GroupMember.user == emma["id"])


async def test_wrong_password_and_injection_are_refused(
    search_then_bind: None, client: AsyncTestClient
) -> None:
    for login, password in [("alice", "wrong password"), ("*", PASSWORD), ("alice", "")]:
        response = await _post_login(client, login, password)
        assert response.status_code == 400, (login, response.status_code)
        assert "Wrong e-mail or password" in response.text
    assert await User.count() == 0


async def test_empty_password_is_not_an_anonymous_bind(
    bind_as_user: None, client: AsyncTestClient
) -> None:
    response = await _post_login(client, "alice", "")
    assert response.status_code == 400
    assert (await client.get("/tickets", follow_redirects=False)).status_code == 303


async def test_disabled_directory_accounts_are_refused(
    bind_as_user: None, client: AsyncTestClient, settings_env: pytest.MonkeyPatch
) -> None:
    response = await _post_login(client, "chloe", PASSWORD, lang="fr")
    assert response.status_code == 403
    assert "Ce compte de l&#39;annuaire est désactivé" in response.text
    # The Active Directory flag (userAccountControl 514), found through a service account.
    settings_env.setenv("GUICHET_LDAP_USER_DN_TEMPLATE", "")
    settings_env.setenv("GUICHET_LDAP_BIND_DN", SERVICE_DN)
    settings_env.setenv("GUICHET_LDAP_BIND_PASSWORD", SERVICE_PASSWORD)
    settings_env.setenv("GUICHET_LDAP_USER_BASE", PEOPLE)
    get_settings.cache_clear()
    response = await _post_login(client, "denis", PASSWORD)
    assert response.status_code == 403
    assert "This directory account is disabled" in response.text
    assert await User.count() == 0


async def test_accounts_deactivated_in_guichet_stay_out(
    bind_as_user: None, client: AsyncTestClient
) -> None:
    await _desk()
    assert (await _post_login(client, "alice", PASSWORD)).status_code == 303
    alice = await _account("alice.martin@example.org")
    await accounts.set_active(alice["id"], False)
    client.cookies.clear()
    assert (await _post_login(client, "alice", PASSWORD)).status_code == 400


async def test_local_break_glass_admin_is_never_taken_over(
    bind_as_user: None, client: AsyncTestClient
) -> None:
    admin = await factories.user("admin@example.org", Role.ADMIN, name="Break Glass")
    response = await _post_login(client, "root", PASSWORD)
    assert response.status_code == 403
    assert await DirectoryLink.count() == 0
    assert (await _post_login(client, "admin@example.org", factories.PASSWORD)).status_code == 303
    assert (await _account("admin@example.org"))["id"] == admin.id


async def test_directory_down_is_a_clear_error_and_local_login_still_works(
    settings_env: pytest.MonkeyPatch, client: AsyncTestClient
) -> None:
    _configure(
        settings_env,
        LDAP_URL=f"ldap://127.0.0.1:{free_port()}",
        LDAP_USER_DN_TEMPLATE=f"uid={{username}},{PEOPLE}",
        LDAP_TIMEOUT_SECONDS="3",
    )
    await factories.user("admin@example.org", Role.ADMIN)
    response = await _post_login(client, "alice", PASSWORD, lang="fr")
    assert response.status_code == 503
    assert "annuaire est injoignable" in response.text
    assert (await _post_login(client, "admin@example.org", factories.PASSWORD)).status_code == 303


def _ldapmodify(slapd: Slapd, ldif: str) -> None:
    subprocess.run(
        ["ldapmodify", "-x", "-H", slapd.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
        input=ldif.encode(),
        check=True,
        capture_output=True,
    )


async def test_group_rules_name_real_groups(bind_as_user: None) -> None:
    # The map refers to groups by name; a rename in Guichet must not break logins.
    await _desk()
    await Group.update({Group.name: "Support N1 (renamed)"}).where(Group.name == "Support N1")
    from server.services.directory import ldap_login

    found = await ldap_login("alice", PASSWORD)
    assert found is not None
    assert found.group_ids == frozenset()


async def test_start_tls_checks_the_directory_certificate(
    bind_as_user: None, client: AsyncTestClient, settings_env: pytest.MonkeyPatch, slapd: Slapd
) -> None:
    await _desk()
    settings_env.setenv("GUICHET_LDAP_START_TLS", "true")
    get_settings.cache_clear()
    # Self-signed: unknown to the system's authorities, so refused...
    assert (await _post_login(client, "alice", PASSWORD)).status_code == 503
    assert await User.count() == 0
    # ...and accepted once its authority is configured.
    settings_env.setenv("GUICHET_LDAP_CA_FILE", str(slapd.certificate))
    get_settings.cache_clear()
    assert (await _post_login(client, "alice", PASSWORD)).status_code == 303
