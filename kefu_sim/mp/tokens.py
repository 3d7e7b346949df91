"""MP access tokens: GET /cgi-bin/token and POST /cgi-bin/stable_token (docs/platforms.md §1.2)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from kefu_sim.common import json_body
from kefu_sim.mp.state import MpApp
from kefu_sim.world import SimError, TokenGrant, World

ROTATE_BEFORE = 300  # stable_token rotates 5 min before expiry; the old token lives out those 5 min
FORCE_PER_DAY = 20
FORCE_MIN_GAP = 30  # seconds between two force_refresh calls
BEIJING = 8 * 3600  # daily quotas reset at midnight China time


def _credentials(world: World, grant_type: Any, appid: Any, secret: Any) -> MpApp:
    if grant_type != "client_credential":
        raise SimError(40002, "invalid grant_type")
    if not appid:
        raise SimError(41002, "appid missing")
    app = world.state.mp_apps.get(appid) if isinstance(appid, str) else None
    if app is None:
        raise SimError(40013, "invalid appid")
    if not secret:
        raise SimError(41004, "appsecret missing")
    if secret != app.secret:
        raise SimError(40001, "invalid credential, access_token is invalid or not latest")
    return app


def _answer(world: World, grant: TokenGrant) -> dict[str, Any]:
    # The platform's token answers carry no errcode (samples/tokens/mp_token_response.json).
    return {"access_token": grant.value, "expires_in": int(grant.expires_at - world.now())}


@get("/cgi-bin/token", sync_to_thread=False)
def token(request: Request, world: World) -> dict[str, Any]:
    """A new token for the account; it invalidates the one fetched before (single token owner)."""
    q = request.query_params
    app = _credentials(world, q.get("grant_type"), q.get("appid"), q.get("secret"))
    owner = f"mp:{app.appid}"
    world.revoke_tokens(owner)
    return _answer(world, world.issue_token(owner))


@post("/cgi-bin/stable_token", status_code=200)
async def stable_token(request: Request, world: World) -> dict[str, Any]:
    """JSON {grant_type, appid, secret, force_refresh?}; isolated from /cgi-bin/token tokens.

    Normal mode hands back the live token until 5 min before it expires, then a fresh one while
    the old one keeps working to its end (so expires_in ≥ 300). force_refresh revokes the previous
    token, at most 20 times a day (45009) and 30 s apart (45011).
    """
    body = await json_body(request)
    app = _credentials(world, body.get("grant_type"), body.get("appid"), body.get("secret"))
    force = body.get("force_refresh", False)
    if not isinstance(force, bool):
        raise SimError(47001, "data format error: force_refresh must be a boolean")
    owner = f"mp-stable:{app.appid}"
    now = world.now()
    live = sorted((g for g in world.tokens_of(owner) if g.expires_at > now), key=lambda g: g.expires_at)
    for grant in world.tokens_of(owner):
        if grant.expires_at <= now:
            del world.state.tokens[grant.value]
    if force:
        _count_force(app, now)
        world.revoke_tokens(owner)
        return _answer(world, world.issue_token(owner))
    if live and live[-1].expires_at - now >= ROTATE_BEFORE:
        return _answer(world, live[-1])
    return _answer(world, world.issue_token(owner))


def _count_force(app: MpApp, now: float) -> None:
    today = (now + BEIJING) // 86400
    app.stable_force_times = [t for t in app.stable_force_times if (t + BEIJING) // 86400 == today]
    if app.stable_force_times and now - app.stable_force_times[-1] < FORCE_MIN_GAP:
        raise SimError(45011, "api minute-quota reach limit: force_refresh at most once per 30 s")
    if len(app.stable_force_times) >= FORCE_PER_DAY:
        raise SimError(45009, "reach max api daily quota limit: force_refresh at most 20 times a day")
    app.stable_force_times.append(now)


HANDLERS = [token, stable_token]
