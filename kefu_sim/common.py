"""Request helpers shared by every simulated platform endpoint (token check, JSON body, answers)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from kefu_sim.world import SimError, TokenGrant, World

MALFORMED_JSON = 47001  # "data format error"; WeCom's errmsg adds "Warning: wrong json format."


def ok(**fields: Any) -> dict[str, Any]:
    """A successful platform answer."""
    return {"errcode": 0, "errmsg": "ok", **fields}


def fail(errcode: int, errmsg: str) -> SimError:
    """Build the error to `raise` for a documented platform errcode."""
    return SimError(errcode, errmsg)


def require(condition: object, errcode: int, errmsg: str) -> None:
    if not condition:
        raise SimError(errcode, errmsg)


def authorize(request: Request, world: World, host: str) -> TokenGrant:
    """Check `access_token` in the query (never the body) for a `host` ("wecom" | "mp") path."""
    prefix = "wecom:" if host == "wecom" else "mp"
    return world.check_token(request.query_params.get("access_token"), prefix=prefix)


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object in the body; 47001 when it is missing, malformed or not an object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise SimError(MALFORMED_JSON, "data format error, hint: Warning: wrong json format.") from None
    if not isinstance(data, dict):
        raise SimError(MALFORMED_JSON, "data format error, hint: body must be a JSON object")
    return data


def field_str(
    body: dict[str, Any], name: str, errcode: int, *, required: bool = True, max_bytes: int | None = None
) -> str:
    """A string field with the platform's presence/length rules (errcode on violation)."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise SimError(errcode, f"invalid {name}: missing")
        return ""
    if not isinstance(value, str):
        raise SimError(errcode, f"invalid {name}: must be a string")
    if max_bytes is not None and len(value.encode()) > max_bytes:
        raise SimError(errcode, f"invalid {name}: longer than {max_bytes} bytes")
    return value


def field_int(body: dict[str, Any], name: str, errcode: int, *, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        raise SimError(errcode, f"invalid {name}: must be an integer")
    return value
