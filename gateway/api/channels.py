"""`/api/v1/channels` (admin scope): configure WeCom kf apps and official accounts, verify their credentials.

Secrets are write-only: accepted on create and update (merged key by key), sealed at rest, and
answered only as the list of names that are set (`secrets_set`).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, MediaType, Response, get, patch, post
from litestar.status_codes import HTTP_201_CREATED

from gateway.api import render
from gateway.api.auth import SECURITY, require_scope
from gateway.api.schemas import ChannelCreate, ChannelList, ChannelOut, ChannelSecrets, ChannelUpdate, ChannelVerified
from gateway.db.models import Channel
from gateway.db.repositories.channels import ChannelRepository
from gateway.db.repositories.directory import upsert_inbox
from gateway.errors import AesKeyError, ChannelNotFound, Conflict, InvalidRequest, PlatformError
from gateway.runtime import Runtime
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


def check_config(kind: str, settings: dict[str, Any], secrets: dict[str, str]) -> None:
    """What a channel needs to work: secret and token; an EncodingAESKey unless MP runs in plain mode."""
    for name, only in _KIND_SETTINGS.items():
        if name in settings and kind != only:
            raise InvalidRequest(f"settings.{name} applies to {only} channels only", field=f"settings.{name}")
    api_base = settings.get("api_base")
    if api_base is not None and not str(api_base).startswith(("http://", "https://")):
        raise InvalidRequest("api_base must be an http(s) URL", field="settings.api_base")
    for name in ("secret", "token"):
        if not secrets.get(name):
            raise InvalidRequest(f"secrets.{name} is required", field=f"secrets.{name}")
    key = secrets.get("encoding_aes_key")
    if key:
        try:
            decode_aes_key(key)
        except AesKeyError as exc:
            raise InvalidRequest(exc.message, field="secrets.encoding_aes_key") from None
    elif kind == "wecom" or settings.get("callback_mode", "safe") != "plain":
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
    def _out(runtime: Runtime, repo: ChannelRepository, row: Channel) -> ChannelOut:
        return render.channel_out(row, list(repo.secrets(row)), render.callback_base(runtime.settings))

    @post("/", status_code=HTTP_201_CREATED)
    async def create_channel(self, data: ChannelCreate, runtime: Runtime) -> ChannelOut:
        """Add a channel. MP channels default to callback_mode "safe" and get their one inbox now."""
        settings = _given(data.settings)
        if data.kind == "mp":
            settings.setdefault("callback_mode", "safe")
        secrets = {k: v for k, v in _given(data.secrets).items() if v}
        check_config(data.kind, settings, secrets)
        async with runtime.db.session() as session:
            repo = ChannelRepository(session, runtime.box)
            row = await repo.create(
                kind=data.kind, name=data.name, app_id=data.app_id, secrets=secrets, settings=settings
            )
            if data.kind == "mp":
                await upsert_inbox(session, row.id, data.app_id, name=data.name)
            return self._out(runtime, repo, row)

    @get("/")
    async def list_channels(
        self, runtime: Runtime, kind: Literal["wecom", "mp"] | None = None, enabled: bool | None = None
    ) -> ChannelList:
        async with runtime.db.sessions() as session:
            repo = ChannelRepository(session, runtime.box)
            return ChannelList(data=[self._out(runtime, repo, r) for r in await repo.list(kind=kind, enabled=enabled)])

    @get("/{channel_id:int}")
    async def get_channel(self, channel_id: int, runtime: Runtime) -> ChannelOut:
        async with runtime.db.sessions() as session:
            repo = ChannelRepository(session, runtime.box)
            return self._out(runtime, repo, await repo.get(channel_id))

    @patch("/{channel_id:int}")
    async def update_channel(self, channel_id: int, data: ChannelUpdate, runtime: Runtime) -> ChannelOut:
        """Partial update: settings and secrets merge into what is stored (a secret given as "" is removed)."""
        async with runtime.db.session() as session:
            repo = ChannelRepository(session, runtime.box)
            row = await repo.get(channel_id)
            settings = _given(data.settings) if isinstance(data.settings, msgspec.Struct) else None
            secrets = _given(data.secrets) if isinstance(data.secrets, ChannelSecrets) else None
            merged = {k: v for k, v in {**repo.secrets(row), **(secrets or {})}.items() if v}
            check_config(row.kind, {**row.settings, **(settings or {})}, merged)
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
            out = self._out(runtime, repo, row)
        runtime.forget_channel(channel_id)
        return out

    @post("/{channel_id:int}/disable", status_code=200)
    async def disable_channel(self, channel_id: int, runtime: Runtime) -> ChannelOut:
        """Stop using the channel: callbacks answer 404, sync and sends skip it. Nothing is deleted."""
        return await self._set_enabled(channel_id, runtime, False)

    @post("/{channel_id:int}/enable", status_code=200)
    async def enable_channel(self, channel_id: int, runtime: Runtime) -> ChannelOut:
        return await self._set_enabled(channel_id, runtime, True)

    async def _set_enabled(self, channel_id: int, runtime: Runtime, enabled: bool) -> ChannelOut:
        async with runtime.db.session() as session:
            repo = ChannelRepository(session, runtime.box)
            row = await repo.update(await repo.get(channel_id), enabled=enabled)
            out = self._out(runtime, repo, row)
        runtime.forget_channel(channel_id)
        return out

    @post("/{channel_id:int}/verify", status_code=200)
    async def verify_channel(self, channel_id: int, runtime: Runtime) -> Response[Any]:
        """Fetch an access token with the stored credentials. A platform refusal answers 502 with the
        platform's errcode/errmsg (e.g. 40001 bad secret, 40013 bad corpid / appid)."""
        async with runtime.db.sessions() as session:
            row = await ChannelRepository(session, runtime.box).get(channel_id)
        if not row.enabled:
            raise Conflict(f"channel {channel_id} is disabled; enable it first")
        try:
            adapter = await runtime.channel(channel_id)
            await adapter.verify()
        except ChannelNotFound:
            raise Conflict(f"channel {channel_id} is disabled; enable it first") from None
        except PlatformError as exc:
            body = {"code": exc.code, "message": exc.message, "errcode": exc.errcode, "errmsg": exc.errmsg}
            return Response({"error": body}, status_code=502, media_type=MediaType.JSON)
        return Response(ChannelVerified(id=channel_id), status_code=200)
