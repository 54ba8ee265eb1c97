"""Board columns: backfill the priority rank and index the order each column is read in."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-21T23:30:17:522937"
VERSION = "1.38.0"
DESCRIPTION = "board index"

RANKS = {"very_high": 1, "high": 2, "medium": 3, "low": 4, "very_low": 5}
BACKFILL = "UPDATE ticket SET priority_rank = CASE priority " + " ".join(
    f"WHEN '{name}' THEN {rank}" for name, rank in RANKS.items()
) + " ELSE 3 END"
UP = [
    BACKFILL,
    # Each column lists one status, most urgent then oldest first, keyset-paginated.
    "CREATE INDEX ticket_board_order ON ticket (status, priority_rank, created_at, id)",
    "CREATE INDEX ticket_establishment_status ON ticket (establishment, status)",
]
DOWN = [
    "DROP INDEX IF EXISTS ticket_board_order",
    "DROP INDEX IF EXISTS ticket_establishment_status",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    async def up():
        engine = engine_finder()
        for sql in UP:
            await engine.run_ddl(sql)

    async def down():
        engine = engine_finder()
        for sql in DOWN:
            await engine.run_ddl(sql)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager
