"""OpenID Connect login against a provider the tests run on loopback (tests/oidc_provider.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar.testing import AsyncTestClient

from server.db.directory_tables import DirectoryLink
from server.db.tables import GroupMember, User
from server.domain.vocabulary import Role
from server.services import oidc
from server.settings import get_settings
from tests import factories
from tests.log_capture import json_log_lines
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, RunningProvider

PERSON = {
    "sub": "248289761001",
    "email": "jeanne.moreau@example.org",
    "email_verified": True,
    "name": "Jeanne Moreau",
    "groups": ["desk-n1", "chu-staff"],
}


@pytest.fixture(scope="module")
def running() -> Iterator[RunningProvider]:
    server = RunningProvider()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def provider(running: RunningProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    provider = running.provider
    provider.person = dict(PERSON)
    provider.tamper = ""
    provider.token_errors.clear()
    provider.authorization_requests.clear()
    env = {
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_LABEL": "Pro Santé Test",
        "DIRECTORY_GROUPS": json.dumps(
            {
                "desk-n1": {"role": "technician", "groups": ["Support N1"]},
                "chu-staff": {"establishments": ["CHU"]},
            }
        ),
    }
    for name, value in env.items():
        monkeypatch.setenv(f"GUICHET_{name}", value)
    get_settings.cache_clear()
    oidc.forget_provider_cache()
    yield provider
    monkeypatch.undo()
    get_settings.cache_clear()
    oidc.forget_provider_cache()


async def _to_provider(client: AsyncTestClient, next_page: str = "/board") -> str:
    """Start at Guichet, follow the browser to the provider; return the callback path."""
    response = await client.get(f"/login/oidc?next={next_page}", follow_redirects=False)
    assert response.status_code == 303, response.text
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(response.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/login/oidc/callback"
    return f"{back.path}?{back.query}"


async def test_sign_in_creates_the_account_and_logout_ends_the_session(
    provider: Provider, client: AsyncTestClient
) -> None:
    chu = await factories.establishment("CHU OIDC", "CHU")
    n1 = await factories.group("Support N1", serves=(chu,))
    page = await client.get("/login")
    assert "Pro Santé Test" in page.text
    callback = await _to_provider(client)
    request = provider.authorization_requests[-1]
    assert request["code_challenge_method"] == "S256"
    assert request["nonce"] and request["state"]
    response = await client.get(callback, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/board"
    assert provider.token_errors == []
    row = await User.select().where(User.email == PERSON["email"]).first()
    assert row["role"] == Role.TECHNICIAN.value
    assert row["establishment"] == chu
    assert row["full_name"] == "Jeanne Moreau"
    assert await GroupMember.exists().where(
        (GroupMember.user == row["id"]) & (GroupMember.group == n1)
    )
    assert (await client.get("/board")).status_code == 200
    # Logout ends Guichet's session: the old cookie no longer opens anything.
    session = client.cookies.get("guichet_session")
    await client.post("/logout", headers=factories.csrf_header(client))
    client.cookies.set("guichet_session", session)
    assert (await client.get("/board", follow_redirects=False)).status_code == 303


async def test_second_sign_in_updates_the_same_account(
    provider: Provider, client: AsyncTestClient
) -> None:
    response = await client.get(await _to_provider(client), follow_redirects=False)
    assert response.status_code == 303
    provider.person = {**PERSON, "email": "jeanne.moreau@chu.example.org", "groups": []}
    client.cookies.clear()
    response = await client.get(await _to_provider(client), follow_redirects=False)
    assert response.status_code == 303
    rows = await User.select(User.email, User.role)
    assert rows == [{"email": "jeanne.moreau@chu.example.org", "role": Role.REQUESTER.value}]
    assert await DirectoryLink.count() == 1


async def test_tampered_state_is_refused(provider: Provider, client: AsyncTestClient) -> None:
    callback = await _to_provider(client)
    forged = callback.replace("state=", "state=x")
    response = await client.get(forged, headers={"accept-language": "fr"})
    assert response.status_code == 400
    assert "La connexion par le fournisseur d&#39;identité a échoué" in response.text
    assert await User.count() == 0


@pytest.mark.parametrize("tamper", ["nonce", "signature", "audience"])
async def test_tampered_id_token_is_refused(
    provider: Provider, client: AsyncTestClient, tamper: str
) -> None:
    provider.tamper = tamper
    response = await client.get(await _to_provider(client), headers={"accept-language": "en"})
    assert response.status_code == 400
    assert "Sign-in with the identity provider failed" in response.text
    assert await User.count() == 0
    assert (await client.get("/tickets", follow_redirects=False)).status_code == 303


async def test_callback_without_the_flow_cookie_is_refused(
    provider: Provider, client: AsyncTestClient
) -> None:
    callback = await _to_provider(client)
    client.cookies.clear()  # another browser, or a forged link
    response = await client.get(callback)
    assert response.status_code == 400
    assert await User.count() == 0
    assert provider.token_errors == []  # the code was not even spent


async def test_an_unverified_email_does_not_take_an_existing_account(
    provider: Provider, client: AsyncTestClient
) -> None:
    await factories.user(PERSON["email"], Role.REQUESTER)
    provider.person = {**PERSON, "email_verified": False}
    response = await client.get(await _to_provider(client))
    assert response.status_code == 403
    assert await DirectoryLink.count() == 0


async def test_provider_down_is_a_clear_error(
    provider: Provider, client: AsyncTestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ldap_server import free_port

    monkeypatch.setenv("GUICHET_OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    response = await client.get("/login/oidc", headers={"accept-language": "fr"})
    assert response.status_code == 503
    assert "fournisseur d&#39;identité est injoignable" in response.text


async def test_routes_are_missing_when_not_configured(client: AsyncTestClient) -> None:
    assert (await client.get("/login/oidc")).status_code == 404
    assert "Sign in with" not in (await client.get("/login")).text


def test_pkce_verifier_matches_the_challenge_sent() -> None:
    cfg = get_settings().oidc
    provider = oidc.Provider(
        "https://idp", "https://idp/auth", "https://idp/token", "https://idp/k"
    )
    url, flow = oidc.start(cfg, provider, "https://desk/cb", "/tickets")
    query = parse_qs(urlsplit(url).query)
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    assert query["code_challenge"] == [create_s256_code_challenge(flow.verifier)]
    assert query["state"] == [flow.state] and query["nonce"] == [flow.nonce]


async def test_the_use_case_logs_with_the_request_id(
    provider: Provider, client: AsyncTestClient
) -> None:
    callback = await _to_provider(client)
    with json_log_lines() as lines:
        response = await client.get(
            callback, headers={"x-request-id": "sso-req-7"}, follow_redirects=False
        )
    assert response.status_code == 303
    created = [line for line in lines if line["message"].startswith("directory account")]
    assert [line["request_id"] for line in created] == ["sso-req-7"]
