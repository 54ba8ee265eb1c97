"""The application factory: routes, templates, static files, security, lifespan."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from server import shutdown
from server.db import engine
from server.observability.metrics import process_stopped
from server.observability.middleware import ObservabilityMiddleware
from server.realtime.bus import make_bus
from server.realtime.hub import Hub
from server.realtime.publish import publish
from server.realtime.ws import live
from server.services.attachments import Storage
from server.services.inbound_imap import ImapPoller
from server.services.inbound_smtp import InboundReceiver
from server.services.mail_dispatcher import MailDispatcher
from server.services.scheduler import Scheduler
from server.settings import REPO_ROOT, Settings, get_settings
from server.web import (
    account_pages,
    admin,
    attachments,
    auth,
    board,
    bulk,
    canned,
    catalogue_admin,
    following,
    intake,
    knowledge,
    landing,
    links,
    notifications,
    organisation_admin,
    overview,
    reports,
    search,
    sla_admin,
    sso,
    tickets,
    wallboard,
)
from server.web.api import AttachmentApi, TicketApi
from server.web.api_alerts import AlertApi
from server.web.api_catalogue import CatalogueApi
from server.web.api_people import PeopleApi
from server.web.api_relations import BulkApi, RelationsApi
from server.web.db_session import DbSessionMiddleware
from server.web.errors import EXCEPTION_HANDLERS
from server.web.headers import SecurityHeadersMiddleware
from server.web.health import healthz
from server.web.identity import IdentityMiddleware
from server.web.metrics import metrics
from server.web.params import ids_in_range
from server.web.rendering import template_engine
from server.web.webhooks_admin import ROUTES as WEBHOOK_ADMIN_ROUTES
from server.web.webhooks_admin import WebhookApi

STATIC = REPO_ROOT / "frontend" / "static"


# Static files, the API, downloads and probes never show a banner: no query for them.
NOT_PAGES = ("/static/", "/api/", "/attachments/", "/healthz", "/schema")


async def load_banners(request: Request) -> None:
    """Announcements shown at the top of every page of a signed-in user."""
    account = request.scope.get("user")
    # Full pages only: htmx fragments keep the banners already on the page.
    page = (
        request.method == "GET"
        and not request.url.path.startswith(NOT_PAGES)
        and "hx-request" not in request.headers
    )
    if account is not None and page:
        from server.db.sla import banners_for

        request.state.banners = await banners_for(
            account.actor.establishment_id, account.actor.is_staff, datetime.now(UTC)
        )
        if account.actor.is_admin:
            from server.services.accounts import pending_count

            # Admins see, on every page, that accounts wait for an establishment.
            request.state.pending_accounts = await pending_count()


async def _stop_database(pool: bool) -> None:
    if not await shutdown.bounded("database pool", engine.stop(pool=pool)):
        # Connections still held by hung queries: drop them rather than wait.
        db_pool = getattr(engine.engine(), "pool", None)
        if db_pool is not None:
            db_pool.terminate()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    templates = template_engine()
    bus = make_bus(settings.channels, settings.database_url, settings.redis_url)
    hub = Hub(bus, templates.engine)
    # Every instance runs one: claims keep them from sending a mail twice.
    dispatcher = MailDispatcher(settings)
    app_ref: dict[str, Litestar] = {}

    async def publish_inbound(events: list[Any]) -> None:
        await publish(app_ref["app"], events)

    receiver = InboundReceiver(settings, publish_inbound) if settings.mail.inbound_port else None
    poller = ImapPoller(settings, publish_inbound) if settings.mail.imap_host else None
    # Every instance runs one too: each action locks its ticket, so none happens twice.
    scheduler = Scheduler(settings, bus.publish)

    async def on_startup(app: Litestar) -> None:
        await engine.start(pool=settings.db_pool)
        Storage(settings.storage_dir).purge_stale()
        await bus.start()
        await hub.start()
        dispatcher.start()
        scheduler.start()
        app.state.bus = bus
        app.state.hub = hub
        app.state.scheduler = scheduler
        app_ref["app"] = app
        if receiver is not None:
            await receiver.start()
        if poller is not None:
            await poller.start()
        # SIGTERM: sockets closed with 1012 at once, not after the requests in flight.
        shutdown.install(hub.close_all)

    async def on_shutdown() -> None:
        # Every step is bounded, so a frozen database, relay or bus cannot hold the process;
        # independent ones stop side by side.
        hub.close_all()
        await asyncio.gather(
            *([shutdown.bounded("mail receiver", receiver.stop())] if receiver else []),
            *([shutdown.bounded("IMAP poller", poller.stop())] if poller else []),
            shutdown.bounded("scheduler", scheduler.stop()),
            shutdown.bounded("mail dispatcher", dispatcher.stop()),
            shutdown.bounded("live hub", hub.stop()),
        )
        await asyncio.gather(
            shutdown.bounded("event bus", bus.stop()),
            _stop_database(settings.db_pool),
        )
        process_stopped()

    return Litestar(
        route_handlers=[
            *auth.ROUTES,
            *sso.ROUTES,
            *landing.ROUTES,
            *tickets.ROUTES,
            *intake.ROUTES,
            *following.ROUTES,
            *board.ROUTES,
            *attachments.ROUTES,
            *admin.ROUTES,
            *organisation_admin.ROUTES,
            *catalogue_admin.ROUTES,
            *account_pages.ROUTES,
            *overview.ROUTES,
            *notifications.ROUTES,
            *sla_admin.ROUTES,
            *reports.ROUTES,
            *wallboard.ROUTES,
            *knowledge.ROUTES,
            *search.ROUTES,
            *links.ROUTES,
            *bulk.ROUTES,
            *canned.ROUTES,
            search.SearchApi,
            live,
            TicketApi,
            RelationsApi,
            BulkApi,
            AttachmentApi,
            AlertApi,
            PeopleApi,
            WebhookApi,
            *WEBHOOK_ADMIN_ROUTES,
            CatalogueApi,
            healthz,
            metrics,
            create_static_files_router(
                path="/static", directories=[STATIC], name="static", include_in_schema=False
            ),
        ],
        middleware=[
            ObservabilityMiddleware(),
            DbSessionMiddleware(),
            SecurityHeadersMiddleware(),
            IdentityMiddleware(),
        ],
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
        # Every id route, HTML and API: an id no row can have is a plain 404.
        guards=[ids_in_range],
        openapi_config=OpenAPIConfig(
            title="Guichet API",
            version="1",
            path="/schema",
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        before_request=load_banners,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        # Attachments come later with their own, per-route limits; forms stay small.
        request_max_body_size=2_000_000,
        # Logging is ours (server/observability/logs.py, set up by server/asgi.py): Litestar's
        # default would replace the root handler, and with it the JSON format and request ids.
        logging_config=None,
    )
