"""`create_app`: the gateway's Litestar app with explicit wiring (every controller listed here)."""

from __future__ import annotations

import httpx
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components

import gateway
from gateway.api import (
    actions,
    agents,
    apikeys,
    callbacks,
    channels,
    contacts,
    conversations,
    events,
    inboxes,
    media,
    ops,
    webhooks,
)
from gateway.api.auth import SECURITY_SCHEMES, ApiKeyMiddleware
from gateway.api.errors import EXCEPTION_HANDLERS
from gateway.api.nul import refuse_nul
from gateway.runtime import Runtime
from gateway.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    http_client: httpx.AsyncClient | None = None,
    runtime: Runtime | None = None,
    background: bool = True,
) -> Litestar:
    """Build the app. `background=False` leaves sync and jobs to the caller (tests drive them)."""
    settings = settings or get_settings()
    runtime = runtime or Runtime(settings, http_client=http_client)

    async def startup() -> None:
        if background:
            await runtime.start()

    async def shutdown() -> None:
        await runtime.stop()

    app = Litestar(
        route_handlers=[
            callbacks.callback,
            ops.healthz,
            ops.metrics,
            apikeys.ApiKeyController,
            channels.ChannelController,
            inboxes.InboxController,
            agents.AgentController,
            contacts.ContactController,
            conversations.ConversationController,
            webhooks.WebhookController,
            events.EventController,
            actions.ActionController,
            media.upload_media,
            conversations.list_messages,  # after ActionController: same path (see conversations.py)
        ],
        middleware=[ApiKeyMiddleware(runtime.db)],  # every /api/v1 route needs an API key
        dependencies={"runtime": Provide(lambda: runtime, sync_to_thread=False, use_cache=True)},
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=refuse_nul,  # PostgreSQL stores no U+0000: a clear 422, not a 500
        on_startup=[startup],
        on_shutdown=[shutdown],
        logging_config=None,  # gateway.logs configures logging (redacted); Litestar's default would not
        openapi_config=OpenAPIConfig(
            title="kefu-gateway",
            version=gateway.__version__,
            path="/schema",
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
    )
    app.state.runtime = runtime
    return app
