"""Access tokens: cache with an expiry margin, single-flight refresh, shared across replicas.

A `Credential` knows how to fetch its token (WeCom gettoken, MP stable_token or token) and has a
cache `key` that tells credentials apart without containing the secret. `TokenManager` keeps
tokens in memory and in a `TokenStore`; refreshes are single-flight per key inside a process
(an asyncio.Lock) and across processes (the store's lock: a row lock on PostgreSQL, the database
write lock on SQLite), so one refresher runs at a time and the others reuse what it fetched.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeGuard

import httpx

from gateway.errors import ChannelMisconfigured, PlatformError, TransportError
from gateway.wechat.errcodes import platform_error

DEFAULT_MARGIN = 300.0  # refresh this many seconds before the platform's expiry


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Credential:
    """One app's credentials. `kind`: "wecom" (gettoken), "mp" (stable_token) or "mp-token"."""

    kind: str
    app_id: str
    secret: str = field(repr=False)
    api_base: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.app_id}:{_fingerprint(self.secret)}"

    async def fetch(self, http: httpx.AsyncClient, *, timeout: float = 10.0, force: bool = False) -> tuple[str, int]:
        """Ask the platform for a token → (access_token, expires_in seconds)."""
        base = self.api_base.rstrip("/")
        try:
            async with asyncio.timeout(timeout):
                if self.kind == "wecom":
                    response = await http.get(
                        f"{base}/cgi-bin/gettoken", params={"corpid": self.app_id, "corpsecret": self.secret}
                    )
                elif self.kind == "mp":
                    body: dict[str, str | bool] = {
                        "grant_type": "client_credential",
                        "appid": self.app_id,
                        "secret": self.secret,
                    }
                    if force:
                        body["force_refresh"] = True
                    response = await http.post(f"{base}/cgi-bin/stable_token", json=body)
                else:
                    response = await http.get(
                        f"{base}/cgi-bin/token",
                        params={"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret},
                    )
        except (TimeoutError, httpx.HTTPError) as exc:
            raise TransportError(f"token fetch failed: {type(exc).__name__}", path="token") from None
        if response.status_code >= 500:
            raise TransportError(f"token fetch: HTTP {response.status_code}", path="token", status=response.status_code)
        try:
            data = response.json()
        except ValueError:
            raise TransportError("token fetch: response is not JSON", path="token") from None
        errcode = data.get("errcode", 0)
        if errcode:
            raise platform_error(errcode, str(data.get("errmsg", "")), path="token")
        return str(data["access_token"]), int(data.get("expires_in", 7200))


@dataclass(slots=True)
class StoredToken:
    token: str
    expires_at: float  # epoch seconds


class TokenStore(Protocol):
    """Where tokens live between processes. `locked` holds the cross-process refresh lock."""

    async def load(self, key: str) -> StoredToken | None: ...

    def locked(self, key: str) -> AbstractAsyncContextManager[LockedSlot]: ...


class LockedSlot(Protocol):
    async def read(self) -> StoredToken | None: ...

    async def write(self, token: StoredToken) -> None: ...


class MemoryTokenStore:
    """A process-local store (tests, single-process tools)."""

    def __init__(self) -> None:
        self._tokens: dict[str, StoredToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, key: str) -> StoredToken | None:
        return self._tokens.get(key)

    @asynccontextmanager
    async def locked(self, key: str) -> AsyncIterator[LockedSlot]:
        async with self._locks.setdefault(key, asyncio.Lock()):
            yield _MemorySlot(self._tokens, key)


@dataclass(slots=True)
class _MemorySlot:
    tokens: dict[str, StoredToken]
    key: str

    async def read(self) -> StoredToken | None:
        return self.tokens.get(self.key)

    async def write(self, token: StoredToken) -> None:
        self.tokens[self.key] = token


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """How this process's last token fetch for one credential went (what /readyz reports).

    `credential_error`: the platform refused the credentials themselves (ChannelMisconfigured:
    wrong secret, unknown app id…), which no retry mends; an outage or a rate limit is not one.
    Never holds the secret or the token.
    """

    at: float  # the manager's clock (unix seconds)
    ok: bool
    credential_error: bool = False
    code: str | None = None  # the stable error code (docs/errors.md)
    errcode: int | None = None
    message: str = ""


class TokenManager:
    """Hands out valid tokens; `invalidate` after a token error makes the next `get` refresh."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        store: TokenStore | None = None,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.time,
        on_refresh: Callable[[Credential], Awaitable[None] | None] | None = None,
    ) -> None:
        self.http = http
        self.store = store or MemoryTokenStore()
        self.margin = margin
        self.clock = clock
        self.on_refresh = on_refresh
        self._cache: dict[str, StoredToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.refreshes = 0  # platform fetches made by this process
        self.outcomes: dict[str, FetchOutcome] = {}  # credential key → the last fetch of this process

    def last_fetch(self, credential: Credential) -> FetchOutcome | None:
        return self.outcomes.get(credential.key)

    async def _fetch(self, credential: Credential, *, force: bool = False) -> tuple[str, int]:
        try:
            fetched = await credential.fetch(self.http, force=force)
        except PlatformError as exc:
            self.outcomes[credential.key] = FetchOutcome(
                at=self.clock(),
                ok=False,
                credential_error=isinstance(exc, ChannelMisconfigured),
                code=exc.code,
                errcode=exc.errcode,
                message=str(exc)[:300],
            )
            raise
        self.outcomes[credential.key] = FetchOutcome(at=self.clock(), ok=True)
        return fetched

    def _fresh(self, token: StoredToken | None, stale: str | None = None) -> TypeGuard[StoredToken]:
        return token is not None and token.token != stale and token.expires_at - self.margin > self.clock()

    async def get(self, credential: Credential) -> str:
        key = credential.key
        cached = self._cache.get(key)
        if self._fresh(cached):
            return cached.token
        return await self._refresh(credential, stale=None)

    async def invalidate(self, credential: Credential, token: str) -> str:
        """The platform refused `token`: get another (unless someone already replaced it)."""
        return await self._refresh(credential, stale=token)

    async def _refresh(self, credential: Credential, *, stale: str | None) -> str:
        key = credential.key
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._cache.get(key)
            if self._fresh(cached, stale):
                return cached.token
            stored = await self.store.load(key)
            if self._fresh(stored, stale):
                self._cache[key] = stored
                return stored.token
            async with self.store.locked(key) as slot:
                stored = await slot.read()  # another replica may have refreshed while we waited
                if not self._fresh(stored, stale):
                    value, expires_in = await self._fetch(credential)
                    if value == stale and credential.kind == "mp":
                        # stable_token hands back the same token while it is valid; force a new one
                        value, expires_in = await self._fetch(credential, force=True)
                    stored = StoredToken(value, self.clock() + expires_in)
                    await slot.write(stored)
                    self.refreshes += 1
                    if self.on_refresh is not None:
                        result = self.on_refresh(credential)
                        if result is not None:
                            await result
            self._cache[key] = stored
            return stored.token
