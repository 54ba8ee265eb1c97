"""The collector's full passes kept short: objects that live as long as the process are
frozen once the server has started.

A full collection walks every object the collector tracks. A started server holds about
200,000 that never go away (modules, Piccolo's tables, templates, Babel's locale data); under
load a full pass came every 5 s and took 60-80 ms, stopping every request in flight: the one
slow request of most 40-request samples in ``bench/pages.py``. ``gc.freeze`` moves them out of
every later pass (the Python documentation's advice for a process past its start-up).
Only the served application does this (``server.asgi``): a test process builds many apps, and
frozen ones would never be collected.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    gc.collect()
    gc.freeze()
