"""Login, logout, CSRF, cookies, rate limit and language through the real app."""

from litestar.testing import AsyncTestClient

from server.services import accounts
from tests import factories


async def test_pages_require_login_and_redirect_back(client: AsyncTestClient) -> None:
    response = await client.get("/tickets/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/tickets/new"


async def test_login_sets_a_hardened_session_cookie(client: AsyncTestClient) -> None:
    await factories.user("a@x.test")
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": "a@x.test", "password": factories.PASSWORD, "next": "/tickets"},
        headers=factories.csrf_header(client),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("guichet_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert (await client.get("/tickets")).status_code == 200


async def test_wrong_password_is_a_translated_400(client: AsyncTestClient) -> None:
    await factories.user("a@x.test")
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": "a@x.test", "password": "nope nope"},
        headers={**factories.csrf_header(client), "accept-language": "fr"},
    )
    assert response.status_code == 400
    assert "Adresse e-mail ou mot de passe incorrect" in response.text or (
        "mot de passe" in response.text.lower()
    )


async def test_open_redirect_is_refused(client: AsyncTestClient) -> None:
    await factories.user("a@x.test")
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": "a@x.test", "password": factories.PASSWORD, "next": "//evil.example/phish"},
        headers=factories.csrf_header(client),
        follow_redirects=False,
    )
    assert response.headers["location"] == "/tickets"


async def test_post_without_csrf_token_is_refused(client: AsyncTestClient) -> None:
    w = await factories.world()
    await factories.login(client, "alice@chu-a.test")
    response = await client.post("/tickets", data={"title": "abc", "description": "x"})
    assert response.status_code == 403
    response = await client.post(
        "/tickets",
        data={"title": "abc", "description": "x"},
        headers={"x-csrftoken": "forged"},
    )
    assert response.status_code == 403
    from server.db.tables import Ticket

    assert await Ticket.count() == 0
    assert w.est_a


async def test_logout_revokes_the_server_side_session(client: AsyncTestClient) -> None:
    await factories.user("a@x.test")
    await factories.login(client, "a@x.test")
    stolen = client.cookies.get("guichet_session")
    response = await client.post(
        "/logout", headers=factories.csrf_header(client), follow_redirects=False
    )
    assert response.status_code == 303
    assert await accounts.session_account(stolen) is None
    client.cookies.set("guichet_session", stolen)
    assert (await client.get("/tickets", follow_redirects=False)).status_code == 303


async def test_login_attempts_are_rate_limited(client: AsyncTestClient) -> None:
    await factories.user("a@x.test")
    await client.get("/login")
    codes = []
    for _ in range(6):
        response = await client.post(
            "/login",
            data={"email": "a@x.test", "password": "bad bad bad"},
            headers=factories.csrf_header(client),
        )
        codes.append(response.status_code)
    assert codes == [400] * 5 + [429]


async def test_language_follows_browser_then_user_choice(client: AsyncTestClient) -> None:
    await factories.user("a@x.test")
    page = await client.get("/login", headers={"accept-language": "en-CA,en;q=0.9"})
    assert "Sign in" in page.text
    page = await client.get("/login", headers={"accept-language": "fr-FR"})
    assert "Se connecter" in page.text
    await factories.login(client, "a@x.test")
    await client.post(
        "/language", data={"lang": "en", "next": "/tickets"}, headers=factories.csrf_header(client)
    )
    page = await client.get("/tickets", headers={"accept-language": "fr"})
    assert "New ticket" in page.text
    assert "Nouveau ticket" not in page.text


async def test_security_headers(client: AsyncTestClient) -> None:
    response = await client.get("/login")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_healthz_reports_database(client: AsyncTestClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_unknown_address_is_a_translated_404(client: AsyncTestClient) -> None:
    response = await client.get("/nope", headers={"accept-language": "fr"})
    assert response.status_code == 404
    assert "Introuvable" in response.text
    api = await client.get("/api/v1/nope")
    assert api.status_code == 404
    assert "error" in api.json()
