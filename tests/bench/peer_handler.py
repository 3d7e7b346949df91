"""The peer of benchmark 1: a typical hand-written WeChat callback handler, built on wechatpy.

What someone would write without the gateway, served the same way as the bare endpoint and the
gateway (`python -m tests.bench.serve_app peer`: Litestar under uvicorn, uvloop + httptools, one
worker), on the same route shape (POST /callbacks/{id}, channel 1 WeCom, channel 2 MP):

- MP (safe mode): `wechatpy.utils.check_signature` on the query's `signature`, then
  `wechatpy.crypto.WeChatCrypto.decrypt_message` (msg_signature, AES, appid) and
  `wechatpy.parse_message`; one row per message (MsgId, openid, type, content, time).
- WeCom `kf_msg_or_event`: `wechatpy.enterprise.crypto.WeChatCrypto.decrypt_message` (corp id) and
  `wechatpy.enterprise.parse_message`; one row per event with its sync Token, keyed like the
  gateway's inbound event (`kf:{OpenKfId}:{Token}`).

Each callback inserts its row with `ON CONFLICT DO NOTHING` (a retried callback is a no-op) and
commits before answering "success"; one commit per callback, no batching:

- SQLite: one aiosqlite connection in WAL mode with synchronous=NORMAL (the gateway's settings);
  an asyncio.Lock makes each callback's INSERT + COMMIT its own transaction (SQLite has one writer
  anyway, and without the lock concurrent callbacks on one connection would share commits).
- PostgreSQL: asyncpg, a pool of 10 connections (the gateway's pool size); each callback is one
  `pool.execute(INSERT …)` in autocommit, i.e. its own transaction and commit. No SQLAlchemy.

It keeps none of the gateway's other guarantees (no timestamp window, no contacts or conversations,
no outbox or jobs, no sync): it is the floor a durable hand-written handler sets, which the
gateway's figures are compared with.

Configuration, from the environment: PEER_DATABASE_URL (`sqlite:///path` or `postgresql://…`),
PEER_AES_KEY, PEER_MP_TOKEN, PEER_MP_APPID, PEER_WECOM_TOKEN, PEER_WECOM_CORPID.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, get, route
from litestar.exceptions import NotFoundException, PermissionDeniedException

WECOM_CHANNEL, MP_CHANNEL = 1, 2

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS peer_mp_messages (msg_id BIGINT PRIMARY KEY, openid TEXT NOT NULL, "
    "msg_type TEXT NOT NULL, content TEXT, created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS peer_wecom_events (event_key TEXT PRIMARY KEY, open_kfid TEXT NOT NULL, "
    "token TEXT NOT NULL, created_at BIGINT NOT NULL)",
)
MP_INSERT = (
    "INSERT INTO peer_mp_messages (msg_id, openid, msg_type, content, created_at) "
    "VALUES ({}, {}, {}, {}, {}) ON CONFLICT DO NOTHING"
)
WECOM_INSERT = (
    "INSERT INTO peer_wecom_events (event_key, open_kfid, token, created_at) "
    "VALUES ({}, {}, {}, {}) ON CONFLICT DO NOTHING"
)


class SqliteStore:
    """One aiosqlite connection (WAL, synchronous=NORMAL); each insert commits on its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = asyncio.Lock()
        self.conn: Any = None
        self.mp_insert = MP_INSERT.format(*"?" * 5)
        self.wecom_insert = WECOM_INSERT.format(*"?" * 4)

    async def open(self) -> None:
        import aiosqlite

        self.conn = await aiosqlite.connect(self.path, timeout=30)
        await self.conn.execute("PRAGMA journal_mode=WAL")
        await self.conn.execute("PRAGMA synchronous=NORMAL")
        for statement in SCHEMA:
            await self.conn.execute(statement)
        await self.conn.commit()

    async def insert(self, statement: str, params: tuple[Any, ...]) -> None:
        async with self.lock:
            await self.conn.execute(statement, params)
            await self.conn.commit()

    async def close(self) -> None:
        await self.conn.close()


class PostgresStore:
    """An asyncpg pool; each insert is one autocommitted statement (its own transaction)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: Any = None
        self.mp_insert = MP_INSERT.format(*(f"${n}" for n in range(1, 6)))
        self.wecom_insert = WECOM_INSERT.format(*(f"${n}" for n in range(1, 5)))

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=10, max_size=10)
        async with self.pool.acquire() as conn:
            for statement in SCHEMA:
                await conn.execute(statement)

    async def insert(self, statement: str, params: tuple[Any, ...]) -> None:
        await self.pool.execute(statement, *params)

    async def close(self) -> None:
        await self.pool.close()


def open_store(url: str) -> SqliteStore | PostgresStore:
    """`sqlite:///path` (also `sqlite+aiosqlite:///`) or `postgresql://` (also `postgresql+asyncpg://`)."""
    scheme, _, rest = url.partition("://")
    if scheme.startswith("sqlite"):
        return SqliteStore(rest[1:])
    if scheme.startswith("postgresql"):
        return PostgresStore("postgresql://" + rest)
    raise ValueError(f"unsupported PEER_DATABASE_URL {url!r}")


def peer() -> Litestar:
    """The peer app (a factory, for uvicorn)."""
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.enterprise import parse_message as parse_work_message
    from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    env = os.environ
    aes_key = env["PEER_AES_KEY"]
    mp_token = env["PEER_MP_TOKEN"]
    mp_crypto = WeChatCrypto(mp_token, aes_key, env["PEER_MP_APPID"])
    work_crypto = WorkCrypto(env["PEER_WECOM_TOKEN"], aes_key, env["PEER_WECOM_CORPID"])
    store = open_store(env["PEER_DATABASE_URL"])

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()

    @route("/callbacks/{channel_id:int}", http_method=["POST"], status_code=200, media_type=MediaType.TEXT)
    async def callback(request: Request[Any, Any, Any], channel_id: int) -> str:
        q = request.query_params
        body = await request.body()
        timestamp, nonce, msg_signature = q.get("timestamp", ""), q.get("nonce", ""), q.get("msg_signature", "")
        try:
            if channel_id == MP_CHANNEL:
                check_signature(mp_token, q.get("signature", ""), timestamp, nonce)
                msg = parse_message(mp_crypto.decrypt_message(body, msg_signature, timestamp, nonce))
                await store.insert(store.mp_insert, (msg.id, msg.source, msg.type, msg.content, msg.time))
            elif channel_id == WECOM_CHANNEL:
                event = parse_work_message(work_crypto.decrypt_message(body, msg_signature, timestamp, nonce))
                data = event._data  # kf_msg_or_event is not one of wechatpy's event classes: read the fields
                token, open_kfid = data["Token"], data["OpenKfId"]
                await store.insert(store.wecom_insert, (f"kf:{open_kfid}:{token}", open_kfid, token, event.time))
            else:
                raise NotFoundException("unknown channel")
        except InvalidSignatureException as exc:
            raise PermissionDeniedException("invalid signature") from exc
        return "success"

    @get("/healthz", media_type=MediaType.TEXT)
    async def healthz() -> str:
        return "ok"

    return Litestar(route_handlers=[callback, healthz], lifespan=[lifespan], logging_config=None)
