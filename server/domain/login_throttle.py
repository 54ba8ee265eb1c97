"""How long a login must wait after failures: a delay that grows, never a wall for everyone.

Failures are counted in three scopes over a window: the (address, account) pair, the account
from any address, and the address for any account. Each scope lets a few failures through,
then asks for a delay that doubles with every further failure (capped). The pair is the
strictest; the account allows more (so an attacker elsewhere cannot lock its owner out as
quickly); the address allows many more, because one hospital's NAT puts hundreds of people
behind one address: one account being brute-forced there must not stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed logins of one scope within the window, and when the last one happened."""

    count: int
    last: datetime | None


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_per_pair: int
    free_per_account: int
    free_per_address: int
    first_delay_seconds: float = 30.0
    max_delay_seconds: float = 900.0

    @classmethod
    def from_limit(cls, limit: int) -> ThrottlePolicy:
        """``limit`` (a setting) is what one address may get wrong on one account."""
        return cls(free_per_pair=limit, free_per_account=3 * limit, free_per_address=20 * limit)

    def delay(self, failures: int, free: int) -> float:
        """Seconds to wait after the last failure: none below ``free``, then 1x, 2x, 4x..."""
        if failures < free:
            return 0.0
        return min(self.max_delay_seconds, self.first_delay_seconds * 2 ** (failures - free))


def seconds_to_wait(
    policy: ThrottlePolicy,
    *,
    pair: Failures,
    account: Failures,
    address: Failures,
    now: datetime,
) -> int:
    """Whole seconds before the next attempt may be checked (0: now)."""
    waits = [0.0]
    for failures, free in (
        (pair, policy.free_per_pair),
        (account, policy.free_per_account),
        (address, policy.free_per_address),
    ):
        delay = policy.delay(failures.count, free)
        if failures.last is None or not delay:
            continue
        waits.append(delay - (now - failures.last).total_seconds())
    return max(0, round(max(waits) + 0.499))
