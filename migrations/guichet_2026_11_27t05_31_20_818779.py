from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-27T05:31:20:878387"
VERSION = "1.38.0"
DESCRIPTION = "in-app notifications fold unread changes of one ticket into one line"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="guichet", description=DESCRIPTION)

    manager.add_column(
        table_class_name="InAppNotification",
        tablename="in_app_notification",
        column_name="changes",
        db_column_name="changes",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 1,
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
