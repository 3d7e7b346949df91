"""The hand-written part of the client: the httpx transport, ApiError and paginate.

The generated `client.KefuGatewayClient` subclasses `BaseClient`; every method goes through
`_request`, which drops unset parameters, encodes bodies with msgspec and raises `ApiError` for
any 4xx/5xx in the gateway's error envelope (`{"error": {"code", "message", ...}}`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import IO, Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
import msgspec

T = TypeVar("T")
Item = TypeVar("Item", covariant=True)
FileTypes = bytes | IO[bytes] | tuple[str, bytes | IO[bytes]] | tuple[str, bytes | IO[bytes], str]


class ApiError(Exception):
    """An error answer of the gateway: its HTTP status and the envelope's stable `code` and `message`."""

    def __init__(self, status: int, code: str, message: str, *, error: Mapping[str, Any], response: httpx.Response):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field: str | None = error.get("field")
        self.error = dict(error)  # the whole envelope body (request_id, field, ...)
        self.response = response
        retry = response.headers.get("retry-after")
        self.retry_after: int | None = int(retry) if retry and retry.isdigit() else None

    @classmethod
    def of(cls, response: httpx.Response) -> ApiError:
        try:
            error = msgspec.json.decode(response.content).get("error")
        except (msgspec.DecodeError, AttributeError):
            error = None
        if not isinstance(error, dict):  # not the envelope (a proxy's page): keep the status
            error = {"code": f"http_{response.status_code}", "message": response.text[:200]}
        return cls(
            response.status_code, str(error.get("code")), str(error.get("message")), error=error, response=response
        )


class BaseClient:
    """`base_url` + `api_key` (+ an httpx `transport`), or an `httpx.AsyncClient` of your own."""

    def __init__(
        self,
        base_url: str = "",
        *,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._own = client is None
        self._client = client or httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def aclose(self) -> None:
        if self._own:
            await self._client.aclose()

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        sent_headers = {**self._auth, **{k: str(v) for k, v in (headers or {}).items() if v is not None}}
        content = None
        if json is not None:
            content = msgspec.json.encode(json)
            sent_headers["Content-Type"] = "application/json"
        request = self._client.build_request(
            method,
            path,
            params=_query(params or {}),
            headers=sent_headers,
            content=content,
            data={k: v for k, v in (data or {}).items() if v is not None} or None,
            files={k: v for k, v in (files or {}).items() if v is not None} or None,
        )
        response = await self._client.send(request, stream=stream)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise ApiError.of(response)
        return response

    @staticmethod
    def _decode(response: httpx.Response, kind: type[T]) -> T:
        return msgspec.json.decode(response.content, type=kind)


class Page(Protocol[Item]):
    @property
    def data(self) -> Sequence[Item]: ...

    @property
    def next_cursor(self) -> str | None: ...


async def paginate(list_page: Callable[..., Awaitable[Page[T]]], /, **kwargs: Any) -> AsyncIterator[T]:
    """Every item of a list operation, page after page, following `next_cursor` until it is null:
    `async for c in paginate(client.list_conversations, status="open", limit=50): ...`."""
    cursor = kwargs.pop("cursor", None)
    while True:
        page = await list_page(cursor=cursor, **kwargs)
        for item in page.data:
            yield item
        cursor = page.next_cursor
        if not cursor:
            return


def segment(value: Any) -> str:
    """A path parameter, quoted (a label name may hold `/` or spaces)."""
    return quote(str(value), safe="")


def form_value(value: Any) -> Any:
    """A non-file multipart field: a Struct or dict as its JSON text, anything else as given."""
    if value is None or isinstance(value, str | bytes):
        return value
    if isinstance(value, msgspec.Struct | dict | list):
        return msgspec.json.encode(value).decode()
    return str(value)


def _query(params: Mapping[str, Any]) -> list[tuple[str, str | int | float | bool | None]]:
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is None:
                continue
            if isinstance(one, bool):
                pairs.append((name, "true" if one else "false"))
            elif isinstance(one, datetime):
                pairs.append((name, one.isoformat()))
            else:
                pairs.append((name, str(one)))
    return pairs
