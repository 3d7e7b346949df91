"""Helpers for the REST API tests: a keyed HTTP client and data builders over the real write path."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from gateway.db.engine import Database
from gateway.db.repositories.apikeys import create_key
from gateway.db.repositories.channels import ChannelRepository
from gateway.db.types import utcnow
from gateway.domain import (
    Batch,
    ContactProfile,
    ContentType,
    ConversationStatus,
    InboundMessage,
    MessageType,
    SenderType,
    StateChange,
    WindowTrigger,
)
from gateway.inbound.ingest import IngestResult, ingest_batch
from gateway.sealing import SecretBox
from gateway.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.harness import Harness

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SCOPES = ("read", "write", "admin")


@dataclass
class Api:
    """An HTTP client for the gateway plus a key per scope; `as_` picks the key (None: no header)."""

    client: httpx.AsyncClient
    db: Database
    box: SecretBox
    keys: dict[str, str] = field(default_factory=dict)
    bodies: list[str] = field(default_factory=list)  # every response body, for secret-leak checks

    def headers(self, as_: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[as_]}"} if as_ else {}

    async def call(self, method: str, path: str, *, as_: str | None = "admin", **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(as_), **kwargs.pop("headers", {})}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        self.bodies.append(response.text)
        return response

    async def get(self, path: str, *, as_: str | None = "read", **kwargs: Any) -> httpx.Response:
        return await self.call("GET", path, as_=as_, **kwargs)

    async def post(self, path: str, *, as_: str | None = "write", **kwargs: Any) -> httpx.Response:
        return await self.call("POST", path, as_=as_, **kwargs)

    async def patch(self, path: str, *, as_: str | None = "write", **kwargs: Any) -> httpx.Response:
        return await self.call("PATCH", path, as_=as_, **kwargs)

    async def delete(self, path: str, *, as_: str | None = "write", **kwargs: Any) -> httpx.Response:
        return await self.call("DELETE", path, as_=as_, **kwargs)


async def make_keys(db: Database) -> dict[str, str]:
    keys = {}
    async with db.session() as session:
        for scope in SCOPES:
            _, keys[scope] = await create_key(session, name=f"test-{scope}", scope=scope)
    return keys


def api_settings(db: Database, **env: str) -> Settings:
    return Settings.from_env({"GATEWAY_DATABASE_URL": db.url, "GATEWAY_SECRET_KEY": TEST_SECRET_KEY, **env})


@dataclass
class SimApi(Api):
    h: Harness | None = None


# --------------------------------------------------------------------------- data builders


async def add_channel(
    db: Database,
    box: SecretBox,
    *,
    kind: str = "wecom",
    name: str = "corp",
    app_id: str = "ww1",
    secret: str = "app-secret-value",
    **settings: Any,
) -> int:
    async with db.session() as session:
        row = await ChannelRepository(session, box).create(
            kind=kind,
            name=name,
            app_id=app_id,
            secrets={"secret": secret, "token": "callback-token", "encoding_aes_key": AES_KEY},
            settings=settings,
        )
        return row.id


def message(
    inbox: str,
    contact: str,
    text: str,
    at: datetime,
    *,
    source_id: str | None = None,
    outgoing: bool = False,
    seq: int = 0,
) -> InboundMessage:
    return InboundMessage(
        source_id=source_id or f"m-{inbox}-{contact}-{at.timestamp()}-{seq}",
        inbox_source_id=inbox,
        contact_source_id=contact,
        message_type=MessageType.OUTGOING if outgoing else MessageType.INCOMING,
        sender_type=SenderType.AGENT if outgoing else SenderType.CONTACT,
        content_type=ContentType.TEXT,
        content=text,
        sent_at=at,
        raw={"msgid": source_id, "text": {"content": text}},
        window_trigger=None if outgoing else WindowTrigger.USER_MESSAGE,
        seq=seq,
    )


async def say(
    db: Database,
    channel_id: int,
    inbox: str,
    contact: str,
    text: str = "hello",
    *,
    at: datetime | None = None,
    name: str | None = None,
    unionid: str | None = None,
    source_id: str | None = None,
) -> IngestResult:
    """A contact writes one text message (their profile comes along when `name`/`unionid` is given)."""
    batch = Batch(channel_id=channel_id, messages=[message(inbox, contact, text, at or utcnow(), source_id=source_id)])
    if name is not None or unionid is not None:
        batch.profiles.append(ContactProfile(source_id=contact, name=name, unionid=unionid))
    return await ingest_batch(db, batch)


async def change_state(
    db: Database,
    channel_id: int,
    inbox: str,
    contact: str,
    *,
    status: ConversationStatus,
    platform_state: str | None = None,
    assignee: str | None = None,
    at: datetime | None = None,
) -> None:
    change = StateChange(
        inbox_source_id=inbox,
        contact_source_id=contact,
        at=at or utcnow(),
        status=status,
        platform_state=platform_state,
        assignee_source_id=assignee,
    )
    await ingest_batch(db, Batch(channel_id=channel_id, state_changes=[change]))


def ago(**delta: float) -> datetime:
    return utcnow() - timedelta(**delta)
