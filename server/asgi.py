"""ASGI entry point: ``uvicorn server.asgi:app``."""

from server.app import create_app

app = create_app()
