"""Nothing on a request's way runs in a worker thread by accident.

Litestar runs a plain-function guard (or handler) in its thread pool: a hop to a thread and
back on every request, which on a busy server also waits for the event loop's next turn.
Guards and handlers are coroutines; blocking work (password hashing, files) takes its thread
explicitly where it is done.
"""

from __future__ import annotations

from typing import Any

from litestar.utils.sync import AsyncCallable


def _handlers(app: Any) -> list[Any]:
    found = []
    for route in app.routes:
        found.extend(getattr(route, "route_handlers", None) or [route.route_handler])
    return found


def test_every_guard_and_handler_runs_on_the_event_loop() -> None:
    from server.app import create_app

    handlers = _handlers(create_app())
    guarded = [h for h in handlers if h.resolve_guards()]
    assert len(guarded) > 50  # the guards are still there
    threaded_guards = sorted(
        f"{handler}: {getattr(guard, 'func', guard)}"
        for handler in handlers
        for guard in handler.resolve_guards()
        if isinstance(guard, AsyncCallable)
    )
    assert threaded_guards == []
    threaded_handlers = sorted(
        str(handler) for handler in handlers if getattr(handler, "sync_to_thread", None)
    )
    assert threaded_handlers == []

