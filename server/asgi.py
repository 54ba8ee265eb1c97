"""ASGI entry point: ``uvicorn server.asgi:app``."""

from server.app import create_app
from server.gc_tuning import freeze_startup_objects

app = create_app()
# Last of the start-up hooks: everything the server keeps is built by then.
app.on_startup.append(freeze_startup_objects)
