"""Channels: create/list/update with secrets sealed at rest; secrets are readable only in-process."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Channel, Inbox
from gateway.domain import ChannelKind
from gateway.errors import Conflict, InvalidRequest, NotFound
from gateway.sealing import SecretBox

KINDS = tuple(ChannelKind)


class ChannelRepository:
    """Channel rows; `secrets` dicts go in and out only through the SecretBox."""

    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self.session = session
        self.box = box

    async def create(
        self, *, kind: str, name: str, app_id: str, secrets: dict[str, str], settings: dict[str, Any] | None = None
    ) -> Channel:
        if kind not in KINDS:
            raise InvalidRequest(f"kind must be one of {', '.join(KINDS)}", field="kind")
        if await self.session.scalar(select(Channel.id).where(Channel.name == name)) is not None:
            raise Conflict(f"a channel named {name!r} already exists")
        channel = Channel(
            kind=kind,
            name=name,
            app_id=app_id,
            settings=dict(settings or {}),
            secrets_sealed=self.box.seal_json(secrets),
        )
        self.session.add(channel)
        await self.session.flush()
        return channel

    async def get(self, channel_id: int) -> Channel:
        channel = await self.session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} not found")
        return channel

    async def list(
        self,
        *,
        kind: str | None = None,
        enabled: bool | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> list[Channel]:
        query = select(Channel).order_by(Channel.id).limit(limit)
        if after_id is not None:
            query = query.where(Channel.id > after_id)
        if kind is not None:
            query = query.where(Channel.kind == kind)
        if enabled is not None:
            query = query.where(Channel.enabled == enabled)
        return list(await self.session.scalars(query))

    def secrets(self, channel: Channel) -> dict[str, str]:
        return self.box.open_json(channel.secrets_sealed)

    async def update(
        self,
        channel: Channel,
        *,
        name: str | None = None,
        settings: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        enabled: bool | None = None,
    ) -> Channel:
        """Partial update; `secrets` merge into the sealed set (a key set to "" is removed)."""
        if name is not None:
            channel.name = name
        if settings is not None:
            channel.settings = {**channel.settings, **settings}
        if secrets is not None:
            merged = {**self.secrets(channel), **secrets}
            channel.secrets_sealed = self.box.seal_json({k: v for k, v in merged.items() if v})
        if enabled is not None:
            channel.enabled = enabled
        await self.session.flush()
        return channel


async def pull_streams(session: AsyncSession, kinds: Collection[str]) -> list[tuple[int, str]]:
    """(channel id, stream) of every enabled inbox of an enabled channel of `kinds`.

    Only inboxes: a sync cursor without one (a stream some callback once announced) is not polled, so
    an id no directory lists cannot keep the gateway calling the platform (docs/security.md).
    """
    enabled = select(Channel.id).where(Channel.kind.in_(list(kinds)), Channel.enabled.is_(True))
    inboxes = await session.execute(
        select(Inbox.channel_id, Inbox.source_id).where(Inbox.channel_id.in_(enabled), Inbox.enabled.is_(True))
    )
    return sorted((c, s) for c, s in inboxes)


async def enabled_channel_ids(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(Channel.id).where(Channel.enabled.is_(True)).order_by(Channel.id)))
