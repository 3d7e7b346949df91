"""Every /api/v1 route demands a key of the right scope, and no secret ever leaves the gateway.

Routes are enumerated from the app itself (app.routes), so a controller added later is covered
without editing this file. The leak test runs a busy session (channels created through the API,
callbacks good and bad, syncs, sends, platform refusals, a wrong secret, webhook deliveries, key
management) with every logger at DEBUG, formats each captured record with the gateway's own
formatters (gateway.logs) and greps the output, every response and every stored row for the
configured secrets.
"""

from __future__ import annotations

import logging
import re

from litestar import Litestar
from sqlalchemy import text

from gateway.api.auth import API_PREFIX
from gateway.db.models import Base
from gateway.db.repositories.apikeys import create_key, revoke_key
from gateway.logs import JsonFormatter, PlainFormatter
from gateway.wechat.crypto import WeChatCrypto
from tests.reliability.conftest import Rig, sync_everything, table_counts

LIVE_STREAMS = {"/api/v1/events/stream"}  # a valid GET never ends; only refusals are requested there


def api_routes(app: Litestar) -> list[tuple[str, str, set[str]]]:
    """(method, concrete path, guard names) of every /api/v1 route; ids are 1, strings "x"."""
    found = []
    for route in app.routes:
        if not route.path.startswith(API_PREFIX):
            continue
        path = re.sub(r"\{[^}:]+:int\}", "1", route.path)
        path = re.sub(r"\{[^}]+\}", "x", path)
        for handler in getattr(route, "route_handlers", []):
            guards = {getattr(getattr(g, "func", g), "__name__", "") for g in handler.resolve_guards()}
            for method in handler.http_methods:
                found.append((method, path, guards))
    return sorted(found)


async def test_every_api_route_refuses_missing_bad_and_weak_keys(rig: Rig) -> None:
    routes = api_routes(rig.h.app)
    assert len(routes) >= 60 and {p for _, p, _ in routes} >= {"/api/v1/conversations", "/api/v1/api-keys"}
    async with rig.db.session() as session:
        revoked, revoked_key = await create_key(session, name="old", scope="admin")
        await session.flush()
        await revoke_key(session, revoked.id)
    admin = rig.api.keys["admin"]
    bad_headers = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer kgw_not-a-real-key-0000000000000000000000000"},
        {"Authorization": f"Bearer {admin[:-1]}{'A' if admin[-1] != 'A' else 'B'}"},  # one character off
        {"Authorization": f"Bearer {revoked_key}"},
        {"Authorization": f"Basic {admin}"},
        {"Authorization": admin},
        {"X-Api-Key": admin},
    ]
    before = await table_counts(rig.db)
    for method, path, guards in routes:
        if path == "/api/v1/auth/sign-in":  # the one open route: tested in tests/api/test_sign_in.py
            continue
        for headers in bad_headers:
            response = await rig.h.client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.status_code, response.text)
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers.get("www-authenticate") == "Bearer"
        if method not in ("GET", "HEAD", "OPTIONS"):
            response = await rig.api.call(method, path, as_="read", json={})
            assert response.status_code == 403, (method, path, "read key", response.status_code, response.text)
            assert response.json()["error"]["code"] == "forbidden"
        if "require_admin" in guards and path not in LIVE_STREAMS:
            response = await rig.api.call(method, path, as_="write", json={})
            assert response.status_code == 403, (method, path, "write key", response.status_code, response.text)
    assert await table_counts(rig.db) == before  # no refused request wrote anything


# --------------------------------------------------------------------------- secrets

SECRETS = {
    "wecom_secret": "wecom-app-secret-Zq81mXk",
    "wecom_token": "WeComCbToken9Lr2",
    "wecom_aes": "Fk3r8Nq2Lz7Wv1Xp0Ty6Hb4Jd9Mc5Gs2Ra8Ue3Qo1Ni",
    "mp_secret": "mp-app-secret-Pw4nVb7",
    "mp_token": "MpCbToken3Hs8Yt",
    "mp_aes": "Gh7Tn2Kw9Qe4Rb1Vz6Xm3Lp8Sd5Fj0Yc7Ua2Ho4Wi9E",
    "webhook": "whsec-Vn3Lq8Tz2Xw6Kp1Mr7",
}


async def busy_session(rig: Rig) -> list[str]:
    """Drive the gateway through its noisy paths; returns the answers that legitimately show a secret once."""
    h, api = rig.h, rig.api
    shown_once: list[str] = []
    corp, appid = "wwleakcorp01", "wxleakapp000001"
    await h.driver.wecom_create_corp(
        corpid=corp,
        secret=SECRETS["wecom_secret"],
        callback_token=SECRETS["wecom_token"],
        encoding_aes_key=SECRETS["wecom_aes"],
    )
    await h.driver.mp_create_app(
        appid=appid,
        secret=SECRETS["mp_secret"],
        wechat_id="gh_leak",
        callback_token=SECRETS["mp_token"],
        encoding_aes_key=SECRETS["mp_aes"],
        callback_mode="safe",
    )
    wecom = await api.post(
        "/api/v1/channels",
        as_="admin",
        json={
            "kind": "wecom",
            "name": "leak-wecom",
            "app_id": corp,
            "settings": {"api_base": "http://sim/wecom"},
            "secrets": {
                "secret": SECRETS["wecom_secret"],
                "token": SECRETS["wecom_token"],
                "encoding_aes_key": SECRETS["wecom_aes"],
            },
        },
    )
    mp = await api.post(
        "/api/v1/channels",
        as_="admin",
        json={
            "kind": "mp",
            "name": "leak-mp",
            "app_id": appid,
            "settings": {"api_base": "http://sim/mp", "callback_mode": "safe"},
            "secrets": {
                "secret": SECRETS["mp_secret"],
                "token": SECRETS["mp_token"],
                "encoding_aes_key": SECRETS["mp_aes"],
            },
        },
    )
    assert wecom.status_code == mp.status_code == 201, (wecom.text, mp.text)
    wecom_id, mp_id = wecom.json()["id"], mp.json()["id"]
    await h.driver.wecom_update_corp(corp, callback_url=f"http://gateway/callbacks/{wecom_id}")
    await h.driver.mp_configure(appid, callback_url=f"http://gateway/callbacks/{mp_id}")

    hook = await api.post(
        "/api/v1/webhooks", as_="admin", json={"url": "http://sim/crm-hook", "secret": SECRETS["webhook"]}
    )
    assert hook.status_code == 201, hook.text
    shown_once.append(hook.text)  # the secret is echoed once, to its creator
    new_key = await api.post("/api/v1/api-keys", as_="admin", json={"name": "ci", "scope": "write"})
    assert new_key.status_code == 201, new_key.text
    shown_once.append(new_key.text)

    # traffic: messages both ways, good and bad callbacks, refusals, a token invalidation
    kf = (await h.driver.wecom_add_kf_account(corp))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(corp))["external_userid"]
    await h.driver.wecom_customer_send(corp, kf, customer, content="hello")
    openid = (await h.driver.mp_add_follower(appid))["openid"]
    await h.driver.mp_user_text(appid, openid, "hi")
    await h.driver.wecom_verify_url(corp)
    await h.driver.mp_verify_url(appid)
    await h.driver.invalidate_tokens()
    assert await sync_everything(h) == []
    await h.runtime.jobs.drain()
    for conversation in (await api.get("/api/v1/conversations", as_="read")).json()["data"]:
        await api.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"content": "reply"})
    await h.driver.add_fault("/cgi-bin/kf/send_msg", "errcode", 95018, remaining=1)
    await h.runtime.jobs.drain()
    forged = WeChatCrypto(SECRETS["wecom_token"], SECRETS["wecom_aes"], "wwsomeoneelse").encrypt_message(
        "<xml><MsgType>event</MsgType></xml>", timestamp="1", nonce="2", to_user=corp
    )
    await h.client.post(f"/callbacks/{wecom_id}", params=forged.query, content=forged.xml)  # bad receive id
    await h.client.post(
        f"/callbacks/{mp_id}", params={"signature": "0" * 40, "timestamp": "1", "nonce": "2"}, content=b"<xml/>"
    )
    await h.client.get(f"/callbacks/{wecom_id}", params={"msg_signature": "x", "echostr": "zz"})

    # reading everything back, key mistakes, a wrong secret, webhook deliveries that fail
    for path in (
        "/api/v1/channels",
        f"/api/v1/channels/{wecom_id}",
        f"/api/v1/channels/{mp_id}",
        "/api/v1/webhooks",
        "/api/v1/api-keys",
        "/api/v1/events?limit=500",
        "/api/v1/inboxes",
        "/api/v1/agents",
        "/api/v1/contacts",
    ):
        response = await api.get(path, as_="admin")
        assert response.status_code == 200, (path, response.text)
    await api.get("/api/v1/conversations", as_=None, headers={"Authorization": f"Bearer {SECRETS['webhook']}"})
    await api.patch(f"/api/v1/channels/{mp_id}", as_="admin", json={"secrets": {"secret": "wrong-secret-value-1"}})
    await api.post(f"/api/v1/channels/{mp_id}/verify", as_="admin")
    await api.post(f"/api/v1/channels/{wecom_id}/verify", as_="admin")
    await api.post(
        "/api/v1/channels",
        as_="admin",
        json={
            "kind": "wecom",
            "name": "bad",
            "app_id": "x",
            "secrets": {
                "secret": SECRETS["wecom_secret"],
                "token": SECRETS["wecom_token"],
                "encoding_aes_key": SECRETS["wecom_aes"][:-1],
            },
        },
    )
    h.runtime.webhooks.schedule = (0.0, 0.0)  # failed deliveries retried at once
    await h.runtime.jobs.drain()
    hooks = (await api.get("/api/v1/webhooks", as_="admin")).json()["data"]
    for webhook in hooks:
        await api.get(f"/api/v1/webhooks/{webhook['id']}/deliveries", as_="admin")
    return shown_once


async def test_secrets_never_reach_logs_answers_or_rows(rig: Rig, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "gateway", "sqlalchemy.engine", "litestar"):
        caplog.set_level(logging.DEBUG, logger=name)
    shown_once = await busy_session(rig)
    secrets = {**SECRETS, **{f"api_key_{scope}": key for scope, key in rig.api.keys.items()}}
    secrets["api_key_created"] = re.search(r'"key":"([^"]+)"', shown_once[1]).group(1)
    tokens = {f"access_token_{i}": t for i, t in enumerate(rig.h.world.state.tokens)}
    assert tokens, "no access token was ever issued"

    records = caplog.records
    assert len(records) > 50, "the session logged almost nothing: the leak check would prove little"
    formatted = [JsonFormatter().format(r) for r in records]
    formatted += [PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(r) for r in records]
    logs = "\n".join(formatted)

    answers = "\n".join(body for body in rig.api.bodies if body not in shown_once)
    async with rig.db.engine.connect() as connection:
        rows = []
        for table in Base.metadata.sorted_tables:
            result = await connection.execute(text(f'SELECT * FROM "{table.name}"'))
            rows += [repr(tuple(row)) for row in result]
    stored = "\n".join(rows)

    leaks: list[str] = []
    for name, value in {**secrets, **tokens}.items():
        for where, haystack in (("logs", logs), ("API answers", answers), ("database rows", stored)):
            if value in haystack:
                at = haystack.index(value)
                leaks.append(f"{name} in {where}: …{haystack[max(0, at - 120) : at + 40]}…")
    assert not leaks, "\n".join(leaks)
    assert sum(secrets["api_key_created"] in body for body in rig.api.bodies) == 1  # shown once, to its creator
