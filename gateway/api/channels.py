"""`/api/v1/channels` (admin scope): configure WeCom kf apps and official accounts, verify their credentials.

Secrets are write-only: accepted on create and update (merged key by key), sealed at rest, and
answered only as the list of names that are set (`secrets_set`). An admin key must not be able to
make the gateway send a stored secret somewhere new: `api_base` stays on the platform hosts unless
`GATEWAY_ALLOW_CUSTOM_API_BASE` is set, and changing it needs the app secret in the same request
(docs/security.md).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.status_codes import HTTP_201_CREATED

from gateway.api import listing, render
from gateway.api.actor import audited
from gateway.api.auth import SECURITY, require_scope
from gateway.api.listing import CursorParam, Limit
from gateway.api.schemas import (
    ChannelCreate,
    ChannelHealthOut,
    ChannelList,
    ChannelOut,
    ChannelSecrets,
    ChannelUpdate,
    ChannelVerified,
)
from gateway.channels.config import REDIRECTING_SETTINGS, check_api_base, effective_api_base
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.models import Channel
from gateway.db.repositories.channels import ChannelRepository
from gateway.db.repositories.directory import upsert_inbox
from gateway.db.repositories.health import ChannelHealth, channel_health
from gateway.domain import ChannelKind
from gateway.errors import AesKeyError, ChannelNotFound, Conflict, InvalidRequest
from gateway.sealing import SecretBox
from gateway.settings import SecuritySettings
from gateway.wechat.crypto import decode_aes_key

# settings that mean something to one kind only
_KIND_SETTINGS = {
    "callback_mode": "mp",
    "token_kind": "mp",
    "welcome_message": "wecom",
    "voice_format": "wecom",
}


def _given(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields of a partial Struct that were given (UNSET dropped)."""
    return {k: v for k, v in msgspec.structs.asdict(struct).items() if v is not msgspec.UNSET}


class SecretReentryRequired(InvalidRequest):
    """A change of where platform calls go, without the app secret in the same request."""

    code = "secret_reentry_required"


def check_redirect(
    kind: str, stored: dict[str, Any], given: dict[str, Any] | None, secrets: dict[str, Any] | None
) -> None:
    """Changing a setting that redirects platform calls needs `secrets.secret` in the same request, so a
    key that can change settings cannot send the stored secret (or tokens fetched with it) elsewhere."""
    if not given or (secrets and secrets.get("secret")):
        return
    changed = [
        name
        for name in REDIRECTING_SETTINGS
        if name in given and effective_api_base(kind, {name: given[name]}) != effective_api_base(kind, stored)
    ]
    if changed:
        raise SecretReentryRequired(
            f"changing settings.{changed[0]} changes where the channel's secret is sent: "
            "give secrets.secret in the same request",
            field="secrets.secret",
        )


def check_config(kind: str, settings: dict[str, Any], secrets: dict[str, str]) -> None:
    """What a channel needs to work: secret and token; an EncodingAESKey unless MP runs in plain mode."""
    for name, only in _KIND_SETTINGS.items():
        if name in settings and kind != only:
            raise InvalidRequest(f"settings.{name} applies to {only} channels only", field=f"settings.{name}")
    for name in ("secret", "token"):
        if not secrets.get(name):
            raise InvalidRequest(f"secrets.{name} is required", field=f"secrets.{name}")
    key = secrets.get("encoding_aes_key")
    if key:
        try:
            decode_aes_key(key)
        except AesKeyError as exc:
            raise InvalidRequest(exc.message, field="secrets.encoding_aes_key") from None
    elif kind == ChannelKind.WECOM or settings.get("callback_mode", "safe") != "plain":
        raise InvalidRequest(
            "secrets.encoding_aes_key is required (MP can do without it only in plain mode)",
            field="secrets.encoding_aes_key",
        )


class ChannelController(Controller):
    path = "/api/v1/channels"
    tags = ("channels",)
    guards = (require_scope("admin"),)
    security = SECURITY

    @staticmethod
    def _out(
        callback_base: str, repo: ChannelRepository, row: Channel, health: ChannelHealth | None = None
    ) -> ChannelOut:
        out = render.channel_out(row, list(repo.secrets(row)), callback_base)
        if health is not None:
            out.health = ChannelHealthOut(
                last_callback_at=health.last_callback_at, last_pull_at=health.last_pull_at, errors=health.errors
            )
        return out

    @post("/", status_code=HTTP_201_CREATED)
    async def create_channel(
        self,
        request: Request,
        data: ChannelCreate,
        box: SecretBox,
        db: Database,
        callback_base: str,
        security: SecuritySettings,
    ) -> ChannelOut:
        """Add a channel. MP channels default to callback_mode "safe" and get their one inbox now."""
        settings = _given(data.settings)
        if ChannelKind(data.kind) == ChannelKind.MP:
            settings.setdefault("callback_mode", "safe")
        secrets = {k: v for k, v in _given(data.secrets).items() if v}
        check_config(data.kind, settings, secrets)
        if "api_base" in settings:
            check_api_base(data.kind, settings["api_base"], allow_custom=security.allow_custom_api_base)
        async with db.session() as session:
            repo = ChannelRepository(session, box)
            row = await repo.create(
                kind=data.kind, name=data.name, app_id=data.app_id, secrets=secrets, settings=settings
            )
            if ChannelKind(data.kind) == ChannelKind.MP:
                await upsert_inbox(session, row.id, data.app_id, name=data.name)
            detail = {"kind": row.kind, "name": row.name, "app_id": row.app_id}  # secrets never
            await audited(session, request, "channel.created", subject_type="channel", subject_id=row.id, detail=detail)
            return self._out(callback_base, repo, row)

    @get("/")
    async def list_channels(
        self,
        box: SecretBox,
        db: Database,
        callback_base: str,
        kind: Literal["wecom", "mp"] | None = None,
        enabled: bool | None = None,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
    ) -> ChannelList:
        """Each channel with its health (the last callback, the last successful pull and standing pull
        errors), by id."""
        after = listing.decode(cursor, "channels", (int,))
        async with db.sessions() as session:
            repo = ChannelRepository(session, box)
            rows = await repo.list(
                kind=kind, enabled=enabled, after_id=int(after[0]) if after else None, limit=limit + 1
            )
            page, more = listing.cut(rows, limit, "channels", lambda r: (r.id,))
            health = await channel_health(session, [r.id for r in page])
            return ChannelList(data=[self._out(callback_base, repo, r, health[r.id]) for r in page], next_cursor=more)

    @get("/{channel_id:int}")
    async def get_channel(self, channel_id: int, box: SecretBox, db: Database, callback_base: str) -> ChannelOut:
        """One channel with its health; secrets are named, never shown."""
        async with db.sessions() as session:
            repo = ChannelRepository(session, box)
            row = await repo.get(channel_id)
            health = await channel_health(session, [row.id])
            return self._out(callback_base, repo, row, health[row.id])

    @patch("/{channel_id:int}")
    async def update_channel(
        self,
        request: Request,
        channel_id: int,
        data: ChannelUpdate,
        box: SecretBox,
        channels: ChannelPool,
        db: Database,
        callback_base: str,
        security: SecuritySettings,
    ) -> ChannelOut:
        """Partial update: settings and secrets merge into what is stored (a secret given as "" is removed).
        Changing `api_base` needs `secrets.secret` in the same request (422 secret_reentry_required)."""
        async with db.session() as session:
            repo = ChannelRepository(session, box)
            row = await repo.get(channel_id)
            settings = _given(data.settings) if isinstance(data.settings, msgspec.Struct) else None
            secrets = _given(data.secrets) if isinstance(data.secrets, ChannelSecrets) else None
            merged = {k: v for k, v in {**repo.secrets(row), **(secrets or {})}.items() if v}
            check_config(row.kind, {**row.settings, **(settings or {})}, merged)
            if settings and "api_base" in settings:  # a stored base is not judged again: only what changes
                check_api_base(row.kind, settings["api_base"], allow_custom=security.allow_custom_api_base)
            check_redirect(row.kind, row.settings, settings, secrets)
            if isinstance(data.name, str) and data.name != row.name:
                if any(other.name == data.name for other in await repo.list()):
                    raise Conflict(f"a channel named {data.name!r} already exists", field="name")
            await repo.update(
                row,
                name=data.name if isinstance(data.name, str) else None,
                settings=settings,
                secrets=secrets,
                enabled=data.enabled if isinstance(data.enabled, bool) else None,
            )
            detail = {
                "name": data.name if isinstance(data.name, str) else None,
                "settings": sorted(settings or {}),
                "secrets": sorted(secrets or {}),  # which secrets changed, never their values
                "enabled": data.enabled if isinstance(data.enabled, bool) else None,
            }
            await audited(session, request, "channel.updated", subject_type="channel", subject_id=row.id, detail=detail)
            out = self._out(callback_base, repo, row)
        channels.forget(channel_id)
        return out

    @post("/{channel_id:int}/disable", status_code=200)
    async def disable_channel(
        self, request: Request, channel_id: int, box: SecretBox, channels: ChannelPool, db: Database, callback_base: str
    ) -> ChannelOut:
        """Stop using the channel: callbacks answer 404, sync and sends skip it. Nothing is deleted."""
        return await self._set_enabled(request, channel_id, box, channels, db, callback_base, False)

    @post("/{channel_id:int}/enable", status_code=200)
    async def enable_channel(
        self, request: Request, channel_id: int, box: SecretBox, channels: ChannelPool, db: Database, callback_base: str
    ) -> ChannelOut:
        """Enable a disabled channel: its callbacks are accepted and its kf accounts pulled again."""
        return await self._set_enabled(request, channel_id, box, channels, db, callback_base, True)

    async def _set_enabled(
        self,
        request: Request,
        channel_id: int,
        box: SecretBox,
        channels: ChannelPool,
        db: Database,
        callback_base: str,
        enabled: bool,
    ) -> ChannelOut:
        async with db.session() as session:
            repo = ChannelRepository(session, box)
            row = await repo.update(await repo.get(channel_id), enabled=enabled)
            action = "channel.enabled" if enabled else "channel.disabled"
            await audited(session, request, action, subject_type="channel", subject_id=channel_id)
            out = self._out(callback_base, repo, row)
        channels.forget(channel_id)
        return out

    @post("/{channel_id:int}/verify", status_code=200)
    async def verify_channel(
        self, channel_id: int, box: SecretBox, channels: ChannelPool, db: Database
    ) -> Response[Any]:
        """Fetch an access token with the stored credentials. A refusal answers as docs/errors.md maps
        its errcode, with the platform's errcode/errmsg: stored credentials the platform rejects
        (40001 bad secret, 40013 bad corpid / appid) are 424 `channel_misconfigured`, the caller's to
        fix; an outage is 502/503 with Retry-After."""
        async with db.sessions() as session:
            row = await ChannelRepository(session, box).get(channel_id)
        if not row.enabled:
            raise Conflict(f"channel {channel_id} is disabled; enable it first")
        try:
            adapter = await channels.get(channel_id)
            await adapter.verify()
        except ChannelNotFound:
            raise Conflict(f"channel {channel_id} is disabled; enable it first") from None
        return Response(ChannelVerified(id=channel_id), status_code=200)
