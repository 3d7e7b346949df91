"""The one request path of both Tencent APIs: token injection, errcode → exception, careful retries.

* `access_token` always travels in the query (docs/platforms.md §0).
* `errcode != 0` raises the class the errcode registry names (gateway/wechat/errcodes.py).
* Token errors (40001/40014/42001) invalidate the token, refresh it and retry once — safe for
  every call, because the platform refused the request before doing anything.
* `-1`, HTTP 5xx and timeouts are retried with exponential backoff only when the caller says the
  call is idempotent (reads, and WeCom sends that carry their own `msgid`); a blind retry of a
  send could deliver it twice (WxJava#2098).
* Timeouts are enforced with asyncio as well as httpx, so they hold for in-process transports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from gateway.backoff import exponential, full_jitter
from gateway.errors import PlatformError, TransportError
from gateway.wechat.errcodes import platform_error
from gateway.wechat.tokens import Credential, TokenManager

log = logging.getLogger(__name__)

TOKEN_ERRCODES = frozenset({40001, 40014, 42001})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3  # total tries for idempotent calls on transient failures
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter for retry number `attempt` (1-based)."""
        return full_jitter(exponential(attempt, base=self.base_delay, cap=self.max_delay))


class ApiClient:
    """Requests for one credential against one API base (the real host or the simulator).

    `on_call(path, outcome, seconds)` is an optional hook for metrics, once per attempt (outcome: "ok",
    an errcode, "transport"; seconds: that attempt's round trip).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        credential: Credential,
        tokens: TokenManager,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        on_call: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.http = http
        self.credential = credential
        self.tokens = tokens
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.on_call = on_call
        self.base = credential.api_base.rstrip("/")

    async def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, idempotent: bool = True
    ) -> dict[str, Any]:
        return await self.call("GET", path, params=params, idempotent=idempotent)

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
        files: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self.call("POST", path, params=params, body=body, files=files, idempotent=idempotent)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool,
    ) -> dict[str, Any]:
        response = await self.request(method, path, params=params, body=body, files=files, idempotent=idempotent)
        return self._decode(path, response)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool,
    ) -> httpx.Response:
        """Send with token handling and retries; returns the raw response (JSON errors raised).

        Binary answers (media downloads) come back untouched; JSON answers with errcode != 0 raise.
        """
        token_retried = False
        attempt = 0
        while True:
            attempt += 1
            token = await self.tokens.get(self.credential)
            started = time.perf_counter()
            try:
                response = await self._send(method, path, token, params, body, files)
                errcode, errmsg = _errcode(response)
                if errcode in TOKEN_ERRCODES and not token_retried:
                    token_retried = True
                    attempt -= 1  # a refused token is not a delivery attempt
                    log.info("token refused on %s (errcode %s); refreshing once", path, errcode)
                    await self.tokens.invalidate(self.credential, token)
                    continue
                if errcode:
                    raise platform_error(errcode, errmsg, path=path)
                self._note(path, "ok", started)
                return response
            except PlatformError as exc:
                self._note(path, "transport" if exc.errcode is None else str(exc.errcode), started)
                if not (exc.transient and idempotent) or attempt >= self.retry.attempts:
                    raise
                if exc.errcode not in (None, -1):  # rate limits: the caller backs off, not us
                    raise
                delay = self.retry.delay(attempt)
                log.warning("%s %s failed (%s); retry %d in %.2fs", method, path, exc.code, attempt, delay)
                await asyncio.sleep(delay)

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, Any] | None,
        body: Any,
        files: Mapping[str, Any] | None,
    ) -> httpx.Response:
        query = {**(params or {}), "access_token": token}
        kwargs: dict[str, Any] = {"params": query}
        if files is not None:
            kwargs["files"] = files
        elif body is not None:
            kwargs["content"] = msgspec.json.encode(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.http.request(method, f"{self.base}{path}", timeout=self.timeout, **kwargs)
                await response.aread()
        except (TimeoutError, httpx.TimeoutException):
            raise TransportError(f"timed out after {self.timeout}s", path=path) from None
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", path=path) from None
        if response.status_code >= 500:
            raise TransportError(f"HTTP {response.status_code}", path=path, status=response.status_code)
        if response.status_code >= 400:
            raise PlatformError(None, f"HTTP {response.status_code}", path=path)
        return response

    def _decode(self, path: str, response: httpx.Response) -> dict[str, Any]:
        try:
            data = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            raise TransportError("response is not JSON", path=path) from None
        if not isinstance(data, dict):
            raise TransportError("response is not a JSON object", path=path)
        return data

    def _note(self, path: str, outcome: str, started: float) -> None:
        if self.on_call is not None:
            self.on_call(path, outcome, time.perf_counter() - started)


def _errcode(response: httpx.Response) -> tuple[int, str]:
    """(errcode, errmsg) of a JSON answer; (0, "") for binary answers such as media downloads."""
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type and not response.content[:1] == b"{":
        return 0, ""
    try:
        data = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return 0, ""
    if not isinstance(data, dict):
        return 0, ""
    errcode = data.get("errcode", 0)
    return (int(errcode) if isinstance(errcode, int) else 0), str(data.get("errmsg", ""))
