"""A requester's own tickets by status, and newest first.

A requester with a long history (one ticket in a hundred at a million tickets: 10,600) had
"my open requests" read all 10,600 of them to find 22 open ones, and "my closed requests"
sort them all by date for a page of 25: 78-97 ms at a million tickets against 25 at 10,000.
``ticket (requester, status)`` finds the open ones at once; ``ticket (requester,
created_at)`` walks a history newest first and stops at the page.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T06:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "A requester's tickets by status, and newest first"

INDEXES = {
    "ticket_requester_status": "ticket (requester, status)",
    "ticket_requester_created": "ticket (requester, created_at)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        for name, on in INDEXES.items():
            await engine_finder().run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")

    async def down():
        for name in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
