"""Piccolo app configuration: one app, migrations in the top-level ``migrations/`` folder."""

from piccolo.conf.apps import AppConfig

from server.db.tables import ALL_TABLES
from server.settings import REPO_ROOT

APP_CONFIG = AppConfig(
    app_name="guichet",
    migrations_folder_path=str(REPO_ROOT / "migrations"),
    table_classes=ALL_TABLES,
    migration_dependencies=[],
    commands=[],
)
