"""One exception mapping for the whole app: `{"error": {"code", "message", ...}}`, never a bare 500 page."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from msgspec import Struct
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gateway.errors import GatewayError, Overloaded

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ErrorDetail(Struct, kw_only=True):
    code: str
    message: str
    field: str | None = None
    reason: str | None = None
    errcode: int | None = None  # the platform's
    errmsg: str | None = None
    path: str | None = None  # the platform API that refused


class ErrorBody(Struct, kw_only=True):
    error: ErrorDetail


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}}


def gateway_error(_: Request, exc: GatewayError) -> Response[Any]:
    """The error's own status and body; `Retry-After` when a retry can help (outages, limits, shutdown)."""
    retry_after = exc.extra.get("retry_after") or exc.retry_after  # a per-answer wait (rate limits) first
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return Response({"error": exc.to_dict()}, status_code=exc.status_code, media_type=MediaType.JSON, headers=headers)


def validation_error(_: Request, exc: ValidationException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    field = None
    if extra and isinstance(extra[0], dict):
        field = extra[0].get("key") or extra[0].get("source")
    message = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in extra) or str(exc.detail)
    return Response(error_body("validation_error", message, field=field), status_code=422, media_type=MediaType.JSON)


def http_error(_: Request, exc: HTTPException) -> Response[Any]:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if isinstance(exc, NotFoundException):
        code = "not_found"
    return Response(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=getattr(exc, "headers", None),
    )


def internal_error(request: Request, exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(
        error_body("internal_error", "internal error"),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )


INT64 = range(-(2**63), 2**63)


def _int_out_of_range(exc: Exception) -> bool:
    # SQLite: OverflowError "Python int too large to convert to SQLite INTEGER"; asyncpg: "value out of int64 range"
    text = str(exc)
    return "too large to convert" in text or "out of int64 range" in text


def out_of_range(request: Request, exc: Exception) -> Response[Any]:
    """An id or number past 64 bits reached SQL: nothing can have it (404 for a path id, else 422), not a 500."""
    if not _int_out_of_range(exc):
        return internal_error(request, exc)
    if any(isinstance(v, int) and v not in INT64 for v in request.path_params.values()):
        return Response(error_body("not_found", "no such id"), status_code=404, media_type=MediaType.JSON)
    return Response(
        error_body("validation_error", "a number is outside the 64-bit integer range"),
        status_code=422,
        media_type=MediaType.JSON,
    )


def pool_timeout(request: Request, _: PoolTimeout) -> Response[Any]:
    """No database connection came free within GATEWAY_DATABASE_POOL_TIMEOUT: shed the request (503)."""
    log.warning("database pool exhausted on %s %s: answered 503", request.method, request.url.path)
    return gateway_error(request, Overloaded("the gateway is busy (no database connection free); retry"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    PoolTimeout: pool_timeout,
    GatewayError: gateway_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    OverflowError: out_of_range,
    DBAPIError: out_of_range,
    Exception: internal_error,
}
