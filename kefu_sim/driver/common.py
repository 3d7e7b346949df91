"""Driver API shared by both platforms, under /_sim: clock, faults, logs, tokens, persons, state.

Platform-specific driving (customers writing, servicers acting) lives beside this module, in
wecom_kf*.py, mp*.py and wecom_contact*.py. Driver errors are plain HTTP 4xx with
`{"error": {"code", "message"}}`; they never appear on platform paths.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.exceptions import HTTPException

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.world import FaultRule, Person, SimClock, World, WorldState


class DriverError(HTTPException):
    status_code = 400


async def driver_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise DriverError(detail="driver body must be JSON") from None
    if not isinstance(data, dict):
        raise DriverError(detail="driver body must be a JSON object")
    return data


@get("/clock", sync_to_thread=False)
def clock_now(world: World) -> dict[str, Any]:
    return {"now": world.now(), "frozen": world.clock.frozen}


@post("/clock/advance", status_code=200)
async def clock_advance(request: Request, world: World) -> dict[str, Any]:
    """Move simulated time forward by `seconds` (tokens, windows, code lifetimes follow)."""
    body = await driver_body(request)
    seconds = body.get("seconds")
    if not isinstance(seconds, int | float) or seconds < 0:
        raise DriverError(detail="seconds must be a non-negative number")
    return {"now": world.clock.advance(float(seconds))}


@post("/faults", status_code=201)
async def add_fault(request: Request, world: World) -> dict[str, Any]:
    """Add a FaultRule: {path, kind: latency|http_status|timeout|errcode, value, host?, remaining?, probability?}."""
    body = await driver_body(request)
    if body.get("kind") not in {"latency", "http_status", "timeout", "errcode"}:
        raise DriverError(detail="kind must be latency, http_status, timeout or errcode")
    try:
        rule = world.add_fault(**{k: v for k, v in body.items() if k in FaultRule.__struct_fields__ and k != "id"})
    except (TypeError, msgspec.ValidationError) as exc:
        raise DriverError(detail=f"bad fault: {exc}") from None
    return msgspec.to_builtins(rule)


@get("/faults", sync_to_thread=False)
def list_faults(world: World) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(rule) for rule in world.faults]


@delete("/faults", status_code=200, sync_to_thread=False)
def clear_faults(world: World) -> dict[str, Any]:
    world.clear_faults()
    world.callback_faults.drop_next = world.callback_faults.duplicate_next = 0
    return {"cleared": True}


@get("/calls", sync_to_thread=False)
def list_calls(world: World, host: str | None = None, path: str | None = None, since: int = 0) -> list[dict[str, Any]]:
    """Every platform call received (access_token stripped), optionally filtered."""
    return [
        msgspec.to_builtins(c)
        for c in world.calls
        if c.seq > since and (host is None or c.host == host) and (path is None or c.path == path)
    ]


@get("/deliveries", sync_to_thread=False)
def list_deliveries(world: World, platform: str | None = None, touser: str | None = None) -> list[dict[str, Any]]:
    """Every message delivered to a customer (API sends, servicer/kf sends, event replies)."""
    return [
        msgspec.to_builtins(d)
        for d in world.deliveries
        if (platform is None or d.platform == platform) and (touser is None or d.touser == touser)
    ]


@post("/tokens/invalidate", status_code=200)
async def invalidate_tokens(request: Request, world: World) -> dict[str, Any]:
    """Invalidate all tokens, or those of {"owner": "wecom:<corpid>:<secret>" | "mp:<appid>"}."""
    body = await driver_body(request)
    return {"revoked": world.revoke_tokens(body.get("owner"))}


@post("/persons", status_code=201)
async def add_person(request: Request, world: World) -> dict[str, Any]:
    """A WeChat user; the unionid links their WeCom and MP identities. {nickname, unionid?, avatar?, gender?}."""
    body = await driver_body(request)
    unionid = body.get("unionid") or world.new_id("o6_bmasdasdsad6_2sgVt7hM", 8)
    person = Person(
        unionid=unionid,
        nickname=str(body.get("nickname") or f"user-{unionid[-4:]}"),
        avatar=str(body.get("avatar") or ""),
        gender=int(body.get("gender") or 0),
    )
    world.state.persons[unionid] = person
    return msgspec.to_builtins(person)


@get("/callbacks", sync_to_thread=False)
def list_callbacks(dispatcher: CallbackDispatcher) -> list[dict[str, Any]]:
    return dispatcher.summary()


@post("/callbacks/flush", status_code=200)
async def flush_callbacks(dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Wait until every pushed callback was delivered or failed."""
    await dispatcher.flush()
    return {"pending": 0, "total": len(dispatcher.records)}


@post("/callbacks/faults", status_code=200)
async def callback_faults(request: Request, world: World) -> dict[str, Any]:
    """{drop_next?: n, duplicate_next?: n}: drop or duplicate the next n pushed callbacks."""
    body = await driver_body(request)
    faults = world.callback_faults
    faults.drop_next = int(body.get("drop_next", faults.drop_next))
    faults.duplicate_next = int(body.get("duplicate_next", faults.duplicate_next))
    return msgspec.to_builtins(faults)


@get("/state", sync_to_thread=False)
def dump_state(world: World) -> dict[str, Any]:
    return msgspec.json.decode(world.dump())


@post("/state", status_code=200)
async def load_state(request: Request, world: World) -> dict[str, Any]:
    """Replace the world's platform state with a dump from GET /_sim/state."""
    raw = await request.body()
    try:
        state = msgspec.json.decode(raw, type=WorldState)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DriverError(detail=f"bad state: {exc}") from None
    world.state = state
    world.clock = SimClock(state.clock, frozen=world.clock.frozen)
    return {"loaded": True}


HANDLERS = [
    clock_now,
    clock_advance,
    add_fault,
    list_faults,
    clear_faults,
    list_calls,
    list_deliveries,
    invalidate_tokens,
    add_person,
    list_callbacks,
    flush_callbacks,
    callback_faults,
    dump_state,
    load_state,
]
