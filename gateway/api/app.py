"""`create_app`: the gateway's Litestar app with explicit wiring (every controller listed here)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from litestar import Litestar
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components

import gateway
from gateway.api import (
    actions,
    agents,
    apikeys,
    callbacks,
    canned,
    channels,
    contacts,
    conversations,
    events,
    inboxes,
    labels,
    media,
    media_files,
    migration,
    notes,
    operators,
    ops,
    reading,
    render,
    reopen,
    sending,
    signin,
    webhooks,
)
from gateway.api.admission import AdmissionMiddleware
from gateway.api.auth import SECURITY_SCHEMES, ApiKeyMiddleware
from gateway.api.contract import operation_id
from gateway.api.docs_ui import render_plugins
from gateway.api.errors import EXCEPTION_HANDLERS
from gateway.api.nul import refuse_nul
from gateway.api.requests import RequestMiddleware
from gateway.runtime import Runtime
from gateway.settings import Settings, get_settings
from gateway.web import routes as web


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
            ops.readyz,
            ops.metrics,
            apikeys.ApiKeyController,
            signin.SignInController,
            operators.OperatorController,
            channels.ChannelController,
            inboxes.InboxController,
            agents.AgentController,
            contacts.ContactController,
            conversations.ConversationController,
            webhooks.WebhookController,
            events.EventController,
            actions.ActionController,
            labels.LabelController,
            labels.ConversationLabelController,
            labels.ContactLabelController,
            canned.CannedResponseController,
            notes.create_note,
            reopen.reopen_conversation,
            migration.MigrationController,
            media.upload_media,
            media_files.get_media_file,
            sending.send_with_upload,
            conversations.list_messages,  # after ActionController: same path (see conversations.py)
            reading.mark_read,
            reading.unread_total,
            web.inbox_page,  # the web inbox at / (gateway.web)
            web.asset_router(),
        ],
        # ids and access lines first (outermost), then admission, then: every /api/v1 route but
        # sign-in needs an API key or an operator's session
        middleware=[
            RequestMiddleware(runtime.metrics),
            # shed load before a key is checked or a body read (callbacks never pass here)
            DefineMiddleware(AdmissionMiddleware, requests=runtime.admission, uploads=runtime.upload_admission),
            ApiKeyMiddleware(runtime.db, session_idle=runtime.settings.sign_in.idle),
        ],
        request_max_body_size=settings.limits.max_json_body,  # uploads and callbacks set their own
        dependencies=_dependencies(runtime),
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
            use_handler_docstrings=True,  # each handler's docstring is its operation's description
            operation_id_creator=operation_id,
            render_plugins=render_plugins("/schema"),  # the finished document, Swagger UI served locally
        ),
    )
    return app


def _dependencies(runtime: Runtime) -> dict[str, Provide]:
    """What a handler may ask for by parameter name: the narrow pieces, never the whole runtime."""
    pieces: dict[str, object] = {
        "db": runtime.db,
        "box": runtime.box,
        "channels": runtime.channels,
        "jobs": runtime.jobs,
        "callback_base": render.callback_base(runtime.settings),  # where platforms reach /callbacks
        "metrics": runtime.metrics,
        # the callback route's pieces as one dependency (two or more would cost a task each per callback)
        "intake": callbacks.CallbackIntake(runtime.callbacks, runtime.channels, runtime.metrics, runtime.syncer),
        "security": runtime.settings.security,  # what admin keys may point the gateway at
        "readiness": runtime.settings.readiness,  # /readyz limits
        "netguard": runtime.netguard,  # webhook targets
        "sessions": runtime.sessions,
        "sign_in_policy": signin.SignInPolicy(
            secret_key=runtime.settings.require_secret_key(),
            max_age=runtime.settings.sign_in.max_age,
            secure=runtime.settings.server.public_url.startswith("https://"),
        ),
        "media_dir": runtime.settings.media_dir,  # the vault GET /media/{id} serves from
        "streams": runtime.streams,  # open event streams per actor and in total
    }
    return {name: Provide(_constant(value), sync_to_thread=False, use_cache=True) for name, value in pieces.items()}


def _constant(value: object) -> Callable[[], object]:
    return lambda: value
