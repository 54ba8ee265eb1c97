"""Shim so the ``piccolo`` command line finds the configuration from the repository root."""

from server.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
