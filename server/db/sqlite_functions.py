"""SQL functions that Guichet's SQLite connections carry (PostgreSQL has its own).

The full-text triggers call ``guichet_stems(text, language)`` to index word stems (see
``server.domain.stems``). Every
connection that writes tickets, follow-ups or articles must therefore be opened with
``factory=GuichetConnection`` (the Piccolo engine is; so are the benchmark's bulk loads):
another one fails with "no such function: guichet_stems".
"""

from __future__ import annotations

import sqlite3
from typing import Any

from server.domain.stems import document_stems


class GuichetConnection(sqlite3.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        register(self)


def register(connection: sqlite3.Connection) -> None:
    # Deterministic: SQLite may then use it in triggers, views and indexes.
    connection.create_function("guichet_stems", 2, document_stems, deterministic=True)
