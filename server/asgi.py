"""ASGI entry point: ``uvicorn server.asgi:app``."""

from server.app import create_app
from server.gc_tuning import freeze_startup_objects
from server.observability.logs import configure_logging
from server.settings import get_settings

# Every process that serves (``guichet serve``, each of its workers, or uvicorn started by
# hand) logs through the one handler: text, or JSON lines, each with its request id. A worker
# is a fresh interpreter: nothing set up by its parent reaches it.
configure_logging(get_settings().log_format, get_settings().log_level)
app = create_app()
# Last of the start-up hooks: everything the server keeps is built by then.
app.on_startup.append(freeze_startup_objects)
