"""Refuse U+0000 in API input: PostgreSQL cannot store it in text or jsonb, and no field needs it.

Checked before the handler runs, for every `/api/v1` request: the decoded query string, and JSON
bodies (a raw NUL byte or a `\\u0000` escape). Uploads (multipart) carry binary files and are not
looked at. The answer is 422 `validation_error`, and nothing is written.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from litestar import Request

from gateway.domain import ESCAPED_NUL
from gateway.errors import InvalidRequest

API_PREFIX = "/api/v1"


async def refuse_nul(request: Request) -> None:
    """A `before_request` hook."""
    if not request.url.path.startswith(API_PREFIX):
        return
    if b"\x00" in unquote_to_bytes(request.scope.get("query_string", b"")):
        raise InvalidRequest("query parameters must not contain U+0000 (NUL)")
    if request.method in ("GET", "HEAD", "DELETE") or "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()  # cached: the handler reads the same bytes
    if b"\x00" in body or (b"\\u0000" in body and ESCAPED_NUL.search(body)):
        raise InvalidRequest("JSON strings must not contain U+0000 (NUL)")
