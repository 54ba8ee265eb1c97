"""Tell a database that cannot be reached (or text it cannot store) from a bug.

The drivers say "unreachable" in different ways: asyncpg with connection errors (refused,
reset, closed, the server shutting down), the socket layer with OSError while connecting,
sqlite3 with an OperationalError when the file cannot be opened or read.
"""

from __future__ import annotations

import sqlite3
from enum import Enum

try:  # PostgreSQL's driver is always installed, but the web layer does not need it to load.
    import asyncpg
except ImportError:  # pragma: no cover
    asyncpg = None  # type: ignore[assignment]


class Fault(Enum):
    UNAVAILABLE = "unavailable"
    UNSTORABLE_TEXT = "unstorable_text"
    OTHER = "other"


# sqlite3 messages that mean the file is out of reach (moved, unmounted, unreadable, full).
_SQLITE_UNREACHABLE = (
    "unable to open database file",
    "disk i/o error",
    "readonly database",
    "database or disk is full",
    "no such file",
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        return any(text in message for text in _SQLITE_UNREACHABLE)
    if asyncpg is not None:
        if isinstance(
            exc,
            asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError
            | asyncpg.AdminShutdownError
            | asyncpg.ConnectionDoesNotExistError,
        ):
            return True
        if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc).lower():
            return True
    # Refused, reset or timed out while reaching the server (asyncpg connects with sockets).
    return isinstance(exc, ConnectionError | TimeoutError | OSError) and _from_driver(exc)


def _from_driver(exc: BaseException) -> bool:
    """An OSError raised from inside a database driver, not from, say, attachment storage."""
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg", "piccolo.engine", "aiosqlite")):
            return True
        tb = tb.tb_next
    return False


def classify(exc: BaseException) -> Fault:
    for link in _chain(exc):
        if _unavailable(link):
            return Fault.UNAVAILABLE
        if asyncpg is not None and isinstance(
            link, asyncpg.CharacterNotInRepertoireError | asyncpg.UntranslatableCharacterError
        ):
            return Fault.UNSTORABLE_TEXT
    return Fault.OTHER
