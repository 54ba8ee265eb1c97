"""The establishment tree (id -> parent), read once per change of the configuration.

Access (a technician's establishments with their children), articles (those of an
establishment's parents apply to it), intake and webhooks all walk it; it changes a few
times a year (``server.db.config_cache``)."""

from __future__ import annotations

from server.db.config_cache import cached
from server.db.tables import Establishment


async def establishment_parents() -> dict[int, int | None]:
    async def read() -> dict[int, int | None]:
        rows = await Establishment.select(Establishment.id, Establishment.parent)
        return {r["id"]: r["parent"] for r in rows}

    return await cached("establishment_parents", read)
