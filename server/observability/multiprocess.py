"""The metrics folder shared by the worker processes of one ``guichet serve --workers N``.

prometheus_client reads ``PROMETHEUS_MULTIPROC_DIR`` when it is first imported, so the parent
sets it before uvicorn starts the workers (fresh interpreters that inherit the environment).
The folder is private to this one server: two servers sharing ``var/`` (instances behind a
proxy) must not add up each other's counts, and a restart starts from empty files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

FOLDER_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_metrics_folder(workers: int) -> Iterator[None]:
    """For several workers, a fresh folder named in the environment, removed at the end."""
    if workers <= 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="guichet-metrics-")
    previous = os.environ.get(FOLDER_VARIABLE)
    os.environ[FOLDER_VARIABLE] = folder
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(FOLDER_VARIABLE, None)
        else:
            os.environ[FOLDER_VARIABLE] = previous
        shutil.rmtree(folder, ignore_errors=True)
