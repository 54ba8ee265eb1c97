"""Guichet: a live service desk for healthcare IT support."""

import os

# Piccolo finds its configuration through this variable (the CLI and the app alike).
os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")
