"""The application factory: routes, templates, static files, security, lifespan."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from server.db import engine
from server.realtime.bus import make_bus
from server.realtime.hub import Hub
from server.realtime.ws import live
from server.services.attachments import Storage
from server.services.mail_dispatcher import MailDispatcher
from server.settings import REPO_ROOT, Settings, get_settings
from server.web import admin, attachments, auth, board, knowledge, search, tickets
from server.web.api import TicketApi
from server.web.errors import EXCEPTION_HANDLERS
from server.web.headers import SecurityHeadersMiddleware
from server.web.health import healthz
from server.web.identity import IdentityMiddleware
from server.web.rendering import template_engine

STATIC = REPO_ROOT / "frontend" / "static"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    templates = template_engine()
    bus = make_bus(settings.channels, settings.database_url)
    hub = Hub(bus, templates.engine)
    # Every instance runs one: claims keep them from sending a mail twice.
    dispatcher = MailDispatcher(settings)

    async def on_startup(app: Litestar) -> None:
        await engine.start(pool=settings.db_pool)
        Storage(settings.storage_dir).purge_stale()
        await bus.start()
        await hub.start()
        dispatcher.start()
        app.state.bus = bus
        app.state.hub = hub

    async def on_shutdown() -> None:
        await dispatcher.stop()
        await hub.stop()
        await bus.stop()
        await engine.stop(pool=settings.db_pool)

    return Litestar(
        route_handlers=[
            *auth.ROUTES,
            *tickets.ROUTES,
            *board.ROUTES,
            *attachments.ROUTES,
            *admin.ROUTES,
            *knowledge.ROUTES,
            *search.ROUTES,
            search.SearchApi,
            live,
            TicketApi,
            healthz,
            create_static_files_router(
                path="/static", directories=[STATIC], name="static", include_in_schema=False
            ),
        ],
        middleware=[SecurityHeadersMiddleware(), IdentityMiddleware()],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(instance=templates),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="guichet_csrf",
            cookie_secure=settings.secure_cookies,
            # Pages carry the token in hx-headers and forms; no script needs the cookie.
            cookie_httponly=True,
            # The API authenticates with bearer tokens only, never cookies: no CSRF risk there.
            exclude=["^/api/", "^/healthz$"],
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Guichet API",
            version="1",
            path="/schema",
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        # Attachments come later with their own, per-route limits; forms stay small.
        request_max_body_size=2_000_000,
    )
