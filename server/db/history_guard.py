"""The audit trail's guard: the database refuses to update or delete history entries.

The triggers are created by the migration "append-only history"; this module holds the same
statements for the one sanctioned exception, moving a *demo* database's dates to today, which
lifts the guard inside its own transaction and puts it back before committing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from server.db.engine import engine

_SQLITE_ON = [
    """CREATE TRIGGER history_entry_no_update BEFORE UPDATE ON history_entry
       BEGIN SELECT RAISE(ABORT, 'history_entry is append-only'); END""",
    """CREATE TRIGGER history_entry_no_delete BEFORE DELETE ON history_entry
       BEGIN SELECT RAISE(ABORT, 'history_entry is append-only'); END""",
]
_SQLITE_OFF = [
    "DROP TRIGGER IF EXISTS history_entry_no_update",
    "DROP TRIGGER IF EXISTS history_entry_no_delete",
]
_POSTGRES_ON = [
    """CREATE TRIGGER history_entry_append_only BEFORE UPDATE OR DELETE ON history_entry
       FOR EACH ROW EXECUTE FUNCTION history_entry_append_only()""",
]
_POSTGRES_OFF = ["DROP TRIGGER IF EXISTS history_entry_append_only ON history_entry"]


@asynccontextmanager
async def history_unguarded() -> AsyncIterator[None]:
    """Lift the guard for the body. Call it inside a write transaction: if anything fails, the
    rollback restores the triggers with everything else."""
    db = engine()
    sqlite = db.engine_type == "sqlite"
    for sql in _SQLITE_OFF if sqlite else _POSTGRES_OFF:
        await db.run_ddl(sql)
    yield
    for sql in _SQLITE_ON if sqlite else _POSTGRES_ON:
        await db.run_ddl(sql)
