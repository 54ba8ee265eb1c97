"""Run a test's statements on one database connection, as a request's are.

The suite has no pool (``GUICHET_DB_POOL=false``, see ``tests/conftest.py``), so outside a
session every statement opens a connection of its own; on PostgreSQL each is a new backend.
A test of hundreds of random changes and checks spent most of its time starting them (48 s
against 34 for one of them). Only for tests whose statements run one after another: tasks
started inside would share the connection.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server.db.engine import db_session

T = TypeVar("T")


def one_connection(test: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(test)  # keeps the signature pytest reads the fixtures from
    async def in_session(*args: Any, **kwargs: Any) -> T:
        async with db_session(test.__name__):
            return await test(*args, **kwargs)

    return in_session
