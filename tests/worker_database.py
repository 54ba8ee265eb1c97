"""One database per pytest-xdist worker, chosen before the suite imports ``server``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def worker_database(url: str, worker: str) -> str:
    """``url`` itself outside xdist; otherwise a SQLite file ``<stem>_<worker>`` beside the
    given one, or a PostgreSQL database ``<name>_<worker>`` created on the same server. Workers
    inherit the controller's environment, so without this they would share one database."""
    if not worker:
        return url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(f'{path.stem}_{worker}{path.suffix}')}"
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{worker}"
    asyncio.run(_create(urlunsplit(parts._replace(path="/postgres")), name))
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
