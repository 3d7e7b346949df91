"""The adapter cache: one live adapter per enabled channel row, rebuilt when the row changes.

Callbacks come in bursts, so an adapter is trusted for `ttl` seconds without a look at its row;
changes made through this process (the API) take effect at once (`forget`), changes made elsewhere
(another replica, the CLI) within `ttl`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import httpx

from gateway.channels import channel_class
from gateway.channels.base import Channel
from gateway.channels.config import ChannelConfig
from gateway.db.engine import Database
from gateway.db.models import Channel as ChannelRow
from gateway.db.repositories.channels import ChannelRepository
from gateway.errors import ChannelNotFound
from gateway.logs import REDACTOR
from gateway.sealing import SecretBox
from gateway.wechat.tokens import TokenManager


class ChannelPool:
    """`await pool.get(channel_id)` → the channel's adapter; ChannelNotFound when missing or disabled."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        http: httpx.AsyncClient,
        tokens: TokenManager,
        *,
        ttl: float = 5.0,
        on_call: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.db = db
        self.on_call = on_call  # every platform call's path, outcome and time (metrics)
        self.box = box
        self.http = http
        self.tokens = tokens
        self.ttl = ttl
        self._cache: dict[int, tuple[datetime, float, Channel]] = {}  # id → (row updated_at, checked at, adapter)

    async def get(self, channel_id: int, *, db: Database | None = None) -> Channel:
        """`db`: read the row through this database instead (the callback path reads through its own pool)."""
        cached = self._cache.get(channel_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self.ttl:
            return cached[2]
        async with (db or self.db).sessions() as session:
            row = await session.get(ChannelRow, channel_id)
            if row is None or not row.enabled:
                self._cache.pop(channel_id, None)
                raise ChannelNotFound(f"channel {channel_id} not found or disabled")
            if cached is not None and cached[0] == row.updated_at:
                self._cache[channel_id] = (row.updated_at, now, cached[2])
                return cached[2]
            secrets = ChannelRepository(session, self.box).secrets(row)
        REDACTOR.add(*secrets.values())
        adapter = channel_class(row.kind)(
            ChannelConfig(
                channel_id=row.id,
                app_id=row.app_id,
                settings=row.settings,
                secrets=secrets,
                http=self.http,
                tokens=self.tokens,
                on_call=self.on_call,
            )
        )
        self._cache[channel_id] = (row.updated_at, now, adapter)
        return adapter

    def forget(self, channel_id: int) -> None:
        """The channel row changed (after its commit): the next `get()` reads it again."""
        self._cache.pop(channel_id, None)
