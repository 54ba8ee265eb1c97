"""The fields each ticket's SLA state is counted under in the SLA report's tally
(``db.sla_tally``), filled by the next migration with the tally itself."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-27T11:38:27:464446"
VERSION = "1.38.0"
DESCRIPTION = "ticket_sla: fields counted in the SLA tally"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    manager.add_column(
        table_class_name="TicketSla",
        tablename="ticket_sla",
        column_name="counted_establishment",
        db_column_name="counted_establishment",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="TicketSla",
        tablename="ticket_sla",
        column_name="counted_group",
        db_column_name="counted_group",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="TicketSla",
        tablename="ticket_sla",
        column_name="counted_priority",
        db_column_name="counted_priority",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 20,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
