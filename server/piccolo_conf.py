"""Piccolo configuration: the engine comes from ``GUICHET_DATABASE_URL``."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from server.db.connections import postgres_engine, sqlite_engine
from server.db.sqlite_functions import GuichetConnection
from server.settings import get_settings


def make_engine() -> Engine:
    settings = get_settings()
    if settings.is_postgres:
        return postgres_engine(settings.database_url)
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    # The functions the full-text triggers call travel with every connection (sqlite3 factory).
    return sqlite_engine(str(settings.sqlite_path), factory=GuichetConnection)


DB = make_engine()
APP_REGISTRY = AppRegistry(apps=["server.piccolo_app"])
