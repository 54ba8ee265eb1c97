"""Through the login form: one account brute-forced behind a shared address (a hospital's
NAT) is slowed down with a growing delay and Retry-After; colleagues behind the same address
still sign in."""

from litestar.testing import AsyncTestClient

from tests import factories


async def test_colleagues_behind_one_address_sign_in_during_an_attack(
    client: AsyncTestClient,
) -> None:
    for victim in ("victim1", "victim2", "victim3"):
        await factories.user(f"{victim}@chu.test")
    for i in range(5):
        await factories.user(f"ide{i}@chu.test")
    await client.get("/login")
    codes: dict[str, list[int]] = {}
    for victim in ("victim1", "victim2", "victim3"):
        for _ in range(12):
            response = await client.post(
                "/login",
                data={"email": f"{victim}@chu.test", "password": "guess"},
                headers=factories.csrf_header(client),
            )
            codes.setdefault(victim, []).append(response.status_code)
    # Everyone else behind the same address still signs in.
    for i in range(5):
        await factories.login(client, f"ide{i}@chu.test")
        await client.post("/logout", headers=factories.csrf_header(client))
    for victim_codes in codes.values():
        assert victim_codes == [400] * 5 + [429] * 7
    assert int(response.headers["retry-after"]) > 0
    assert "Trop de tentatives : attendez" in response.text
