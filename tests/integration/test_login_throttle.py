"""Failed logins slow down the account under attack, not everybody behind its address.

Behind a hospital's NAT every person shares one address: one account being brute-forced
there must not lock out the others. The attacked account's delay grows with each failure;
the limits live in the database, so every instance applies them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.db.tables import LoginAttempt
from server.domain.login_throttle import Failures, ThrottlePolicy, seconds_to_wait
from server.services import accounts
from tests import factories

NAT = "10.20.30.40"  # GUICHET_LOGIN_ATTEMPTS_PER_MINUTE=5 in tests


async def _attack(
    email: str, address: str, tries: int, start: datetime
) -> tuple[list[int], datetime]:
    """Try wrong passwords, each as soon as allowed; return the waits asked for and when the
    attack ended."""
    now, waits = start, []
    for _ in range(tries):
        try:
            assert await accounts.authenticate(email, "wrong guess", address, now=now) is None
        except accounts.TooManyAttempts as refused:
            waits.append(refused.retry_after)
            now += timedelta(seconds=refused.retry_after)
            assert await accounts.authenticate(email, "wrong guess", address, now=now) is None
        now += timedelta(milliseconds=10)
    return waits, now


async def test_others_behind_the_same_address_still_sign_in() -> None:
    await factories.user("victim@chu.test")
    colleagues = [f"ide{i}@chu.test" for i in range(12)]
    for email in colleagues:
        await factories.user(email)
    _, now = await _attack("victim@chu.test", NAT, 12, datetime.now(UTC))
    assert await accounts.login_wait("victim@chu.test", NAT, now) > 0
    # Everyone else behind the NAT: no wait, and their password works.
    for email in colleagues:
        assert await accounts.login_wait(email, NAT, now) == 0
        assert await accounts.authenticate(email, factories.PASSWORD, NAT, now=now) is not None


async def test_the_attacked_accounts_delay_grows() -> None:
    await factories.user("victim@chu.test")
    waits, _ = await _attack("victim@chu.test", NAT, 9, datetime.now(UTC))
    assert len(waits) >= 4
    assert waits == sorted(waits) and waits[-1] >= 4 * waits[0], waits
    assert waits[-1] <= 900  # capped: a delay, never a lock-out for the day


async def test_a_few_slips_cost_nothing_and_the_right_password_clears_them() -> None:
    await factories.user("ide@chu.test")
    now = datetime.now(UTC)
    for _ in range(4):
        assert await accounts.authenticate("ide@chu.test", "typo", NAT, now=now) is None
    assert await accounts.authenticate("ide@chu.test", factories.PASSWORD, NAT, now=now)
    assert await LoginAttempt.count() == 0


async def test_the_limits_are_in_the_database_for_every_instance() -> None:
    """Failures written by another instance (rows in the shared table) count here."""
    await factories.user("victim@chu.test")
    now = datetime.now(UTC)
    await LoginAttempt.insert(
        *[LoginAttempt(email="victim@chu.test", address=NAT, created_at=now) for _ in range(5)]
    )
    with pytest.raises(accounts.TooManyAttempts):
        await accounts.authenticate("victim@chu.test", factories.PASSWORD, NAT, now=now)
    # The same account from another address is not slowed by this pair alone.
    assert await accounts.login_wait("victim@chu.test", "192.0.2.7", now) == 0


async def test_one_address_spraying_many_accounts_meets_a_much_higher_ceiling() -> None:
    now = datetime.now(UTC)
    policy = ThrottlePolicy.from_limit(5)
    await LoginAttempt.insert(
        *[
            LoginAttempt(email=f"guess{i}@chu.test", address=NAT, created_at=now)
            for i in range(policy.free_per_address)
        ]
    )
    assert await accounts.login_wait("someone-new@chu.test", NAT, now) > 0
    assert await accounts.login_wait("someone-new@chu.test", "192.0.2.7", now) == 0


def test_the_delay_doubles_and_is_capped() -> None:
    policy = ThrottlePolicy.from_limit(5)
    now = datetime.now(UTC)
    none = Failures(0, None)
    waits = [
        seconds_to_wait(policy, pair=Failures(n, now), account=none, address=none, now=now)
        for n in range(4, 12)
    ]
    assert waits == [0, 30, 60, 120, 240, 480, 900, 900]
