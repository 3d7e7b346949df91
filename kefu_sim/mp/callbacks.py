"""Callbacks the simulated MP pushes to an account's server, in plain, compat or safe mode (docs/platforms.md §5.5)."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.wechat.crypto import WeChatCrypto, sha1_signature
from gateway.wechat.xmlmsg import build_xml
from kefu_sim.callbacks import CallbackDispatcher, CallbackRecord
from kefu_sim.mp.state import MpApp
from kefu_sim.world import World

MODES = ("plain", "compat", "safe")


def _nonce(world: World) -> str:
    return str(world.rng.randint(10**8, 10**10 - 1))  # the platform's nonces are decimal digits


def base_fields(world: World, app: MpApp, openid: str, msgtype: str) -> dict[str, Any]:
    """The head every MP callback starts with (the order of the platform's samples)."""
    return {
        "ToUserName": app.gh_id,
        "FromUserName": openid,
        "CreateTime": int(world.now()),
        "MsgType": msgtype,
    }


def envelope(world: World, app: MpApp, openid: str, plaintext_fields: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Query string and body of one push in the account's mode.

    plain: the XML itself, query signature/timestamp/nonce/openid. compat: the same XML plus an
    <Encrypt> of it, query adds encrypt_type=aes and msg_signature. safe: only
    <ToUserName/><Encrypt/>, same query as compat. `signature` is sent in every mode.
    """
    token = app.callback_token or ""
    timestamp = str(int(world.now()))
    nonce = _nonce(world)
    query = {
        "signature": sha1_signature(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    plaintext = build_xml(plaintext_fields)
    if app.callback_mode not in ("compat", "safe"):
        return query, plaintext
    crypto = WeChatCrypto(token, app.encoding_aes_key or "", app.appid)
    encrypt = crypto.encrypt(plaintext, random16=world.rng.randbytes(16))
    query["encrypt_type"] = "aes"
    query["msg_signature"] = crypto.signature(timestamp, nonce, encrypt)
    if app.callback_mode == "compat":
        return query, build_xml({**plaintext_fields, "Encrypt": encrypt})
    return query, build_xml({"ToUserName": app.gh_id, "Encrypt": encrypt})


def push(
    world: World, dispatcher: CallbackDispatcher, app: MpApp, openid: str, fields: dict[str, Any]
) -> CallbackRecord | None:
    """Queue one callback for `app`; None when the account has no server configured."""
    if not app.callback_url or not app.callback_token:
        return None
    query, body = envelope(world, app, openid, fields)
    return dispatcher.push(platform="mp", url=app.callback_url, query=query, body=body, plaintext=build_xml(fields))


def push_event(
    world: World, dispatcher: CallbackDispatcher, app: MpApp, openid: str, event: str, **extra: Any
) -> CallbackRecord | None:
    """An `MsgType=event` callback (subscribe, CLICK, kf_create_session, ...)."""
    fields = base_fields(world, app, openid, "event")
    fields["Event"] = event
    fields.update(extra)
    return push(world, dispatcher, app, openid, fields)


async def verify_url(world: World, dispatcher: CallbackDispatcher, app: MpApp) -> dict[str, Any]:
    """The MP server-configuration check: GET ?signature&timestamp&nonce&echostr, expect echostr back.

    The echostr is plain in every mode (unlike WeCom, where it is encrypted).
    """
    if not app.callback_url or not app.callback_token:
        return {"ok": False, "error": "no callback_url/callback_token configured"}
    timestamp = str(int(world.now()))
    nonce = _nonce(world)
    echostr = str(world.rng.randint(10**18, 2**63 - 1))
    params = {
        "signature": sha1_signature(app.callback_token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echostr,
    }
    client = dispatcher._client_or_default()  # the same client pushes use (ASGI transport in tests)
    try:
        response = await client.get(app.callback_url, params=params, timeout=world.config.callback_timeout)
    except httpx.HTTPError as exc:
        return {"ok": False, "echostr": echostr, "error": type(exc).__name__}
    return {
        "ok": response.status_code == 200 and response.text == echostr,
        "echostr": echostr,
        "status": response.status_code,
        "body": response.text[:200],
    }
