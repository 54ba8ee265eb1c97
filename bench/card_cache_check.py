"""How many times one board event renders its card: a check of ``EventContext.placed_card``.

The hub's design says a live update renders each card once per (role, language) and sends
the same bytes to every viewer of that kind. This drives one real ``EventContext`` the way
the hub does (every viewer's task asks for the card at once) and counts the renders. The card
row load is replaced by a 5 ms stand-in so no database is needed; nothing in ``server/`` is
changed (the patches live in this process only).

    .venv/bin/python bench/card_cache_check.py --viewers 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


async def check(viewers: int) -> None:
    from server.db import board as board_db
    from server.domain.vocabulary import Role
    from server.realtime import hub, render
    from server.web.rendering import make_environment

    now = datetime.now(UTC)
    row = {
        "id": 42,
        "title": "Imprimante hors ligne",
        "status": "planned",
        "priority": "high",
        "priority_rank": 2,
        "ticket_type": "incident",
        "created_at": now,
        "version": 3,
        "requester": 7,
        "assignee": 3,
        "assignee_name": "Théo Tech",
        "establishment_code": "CHA",
        "follow_ups": 0,
        "closed_at": None,
        "establishment": 1,
        "shared": True,
        "category": None,
        "assigned_group": None,
        "attachments": 0,
    }

    async def card(ticket_id: int) -> dict:
        await asyncio.sleep(0.005)  # what three SQLite queries cost, roughly
        return dict(row)

    async def add_follow_up_counts(viewer: object, rows: list[dict]) -> None:
        for r in rows:
            r["follow_ups"] = 1
            r["attachments"] = 0

    renders = 0
    real_card_html = render.card_html

    def counting_card_html(*args: object, **kwargs: object) -> str:
        nonlocal renders
        renders += 1
        return real_card_html(*args, **kwargs)

    board_db.card = card  # type: ignore[assignment]
    board_db.add_follow_up_counts = add_follow_up_counts  # type: ignore[assignment]
    render.card_html = counting_card_html  # type: ignore[assignment]

    facts = {
        "id": 42,
        "status": "planned",
        "priority_rank": 2,
        "created_at": now.isoformat(),
        "closed_at": None,
        "establishment_id": 1,
        "requester_id": 7,
        "shared": True,
        "category_id": None,
        "group_id": None,
        "assignee_id": 3,
        "title": "Imprimante",
    }
    message = {
        "kind": "ticket.moved",
        "ticket_id": 42,
        "before": {**facts, "status": "pending"},
        "after": facts,
    }
    event = hub.EventContext(message, make_environment(), seq=1)
    kinds = [(role, locale) for role in Role for locale in ("fr", "en")]
    started = time.perf_counter()
    # The hub offers the event to every connection's inbox; each task then asks for the card.
    await asyncio.gather(*(event.placed_card(*kinds[i % len(kinds)]) for i in range(viewers)))
    elapsed = time.perf_counter() - started
    print(
        f"{viewers} viewers, {len(kinds)} (role, language) kinds: card rendered {renders} "
        f"times in {elapsed * 1000:.0f} ms (the design intends {len(kinds)})"
    )

    # Viewers arriving after the first render has been stored do hit the cache:
    renders = 0
    await asyncio.gather(*(event.placed_card(*kinds[i % len(kinds)]) for i in range(viewers)))
    print(f"same event asked again by {viewers} viewers: {renders} more renders")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--viewers", type=int, default=1000)
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="guichet-cardcheck-")
    os.environ.update(
        {
            "GUICHET_VAR_DIR": tmp,
            "GUICHET_DATABASE_URL": f"sqlite:///{tmp}/unused.sqlite3",
            "GUICHET_SECRET_KEY": "bench",
        }
    )
    sys.path.insert(0, str(REPO))
    try:
        asyncio.run(check(args.viewers))
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
