"""/api/v1/channels: create with validation, list/get/update (secrets write-only, merged), disable, verify."""

from __future__ import annotations

from typing import Any

from gateway.db.repositories.channels import ChannelRepository
from tests.api.support import AES_KEY, Api, SimApi

SECRET = "corp-secret-Zq81x"
TOKEN = "callback-token-Pw77"
OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"


def wecom(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "wecom",
        "name": "corp",
        "app_id": "ww0001",
        "secrets": {"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY},
        "settings": {"api_base": "http://sim/wecom", "welcome_message": "hi"},
    }
    body.update(overrides)
    return body


def assert_no_secrets(api: Api, *values: str) -> None:
    """No response this test saw carries a secret value."""
    assert api.bodies
    for body in api.bodies:
        for value in (SECRET, TOKEN, AES_KEY, OTHER_KEY, *values):
            assert value not in body


async def secrets_of(api: Api, channel_id: int) -> dict[str, str]:
    async with api.db.sessions() as session:
        repo = ChannelRepository(session, api.box)
        return repo.secrets(await repo.get(channel_id))


async def test_create_wecom_returns_the_callback_url_and_secret_names_only(api: Api) -> None:
    response = await api.post("/api/v1/channels", as_="admin", json=wecom())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "wecom" and body["name"] == "corp" and body["app_id"] == "ww0001" and body["enabled"]
    assert body["secrets_set"] == ["encoding_aes_key", "secret", "token"]
    assert body["settings"] == {"api_base": "http://sim/wecom", "welcome_message": "hi"}
    assert body["callback_url"] == f"https://gw.example.com/callbacks/{body['id']}"
    assert await secrets_of(api, body["id"]) == {"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY}
    # WeCom inboxes come from the platform, not from channel creation
    assert (await api.get(f"/api/v1/inboxes?channel_id={body['id']}")).json()["data"] == []
    assert_no_secrets(api)


async def test_create_mp_defaults_to_safe_mode_and_creates_its_inbox(api: Api) -> None:
    body = {
        "kind": "mp",
        "name": "oa",
        "app_id": "wx0001",
        "secrets": {"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY},
    }
    created = (await api.post("/api/v1/channels", as_="admin", json=body)).json()
    assert created["settings"] == {"callback_mode": "safe"}
    inboxes = (await api.get(f"/api/v1/inboxes?channel_id={created['id']}")).json()["data"]
    assert [(i["source_id"], i["name"]) for i in inboxes] == [("wx0001", "oa")]
    # plain mode may go without an EncodingAESKey
    plain = {
        "kind": "mp",
        "name": "oa2",
        "app_id": "wx0002",
        "secrets": {"secret": SECRET, "token": TOKEN},
        "settings": {"callback_mode": "plain"},
    }
    response = await api.post("/api/v1/channels", as_="admin", json=plain)
    assert response.status_code == 201 and response.json()["secrets_set"] == ["secret", "token"]
    assert_no_secrets(api)


async def test_create_validates(api: Api) -> None:
    cases = [
        (
            wecom(secrets={"secret": SECRET, "token": TOKEN, "encoding_aes_key": "too-short"}),
            "secrets.encoding_aes_key",
        ),
        (
            wecom(secrets={"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY[:-1] + "!"}),
            "secrets.encoding_aes_key",
        ),
        (wecom(secrets={"secret": SECRET, "token": TOKEN}), "secrets.encoding_aes_key"),
        (wecom(secrets={"token": TOKEN, "encoding_aes_key": AES_KEY}), "secrets.secret"),
        (wecom(secrets={"secret": SECRET, "token": "", "encoding_aes_key": AES_KEY}), "secrets.token"),
        (wecom(settings={"callback_mode": "safe"}), "settings.callback_mode"),
        (wecom(settings={"api_base": "ftp://x"}), "settings.api_base"),
        ({**wecom(), "kind": "oa"}, "kind"),
        ({**wecom(), "name": ""}, "name"),
        (
            {"kind": "mp", "name": "m", "app_id": "wx", "secrets": {"secret": SECRET, "token": TOKEN}},
            "secrets.encoding_aes_key",
        ),
    ]
    for body, field in cases:
        response = await api.post("/api/v1/channels", as_="admin", json=body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["field"] == field, (field, error)
    unknown = await api.post("/api/v1/channels", as_="admin", json=wecom(settings={"colour": "red"}))
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]["message"]
    assert (await api.get("/api/v1/channels", as_="admin")).json()["data"] == []
    assert_no_secrets(api)


async def test_duplicate_name_is_409(api: Api) -> None:
    assert (await api.post("/api/v1/channels", as_="admin", json=wecom())).status_code == 201
    response = await api.post("/api/v1/channels", as_="admin", json=wecom(app_id="ww0002"))
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"


async def test_list_get_and_404(api: Api) -> None:
    one = (await api.post("/api/v1/channels", as_="admin", json=wecom())).json()
    two = (
        await api.post(
            "/api/v1/channels",
            as_="admin",
            json={
                "kind": "mp",
                "name": "oa",
                "app_id": "wx1",
                "secrets": {"secret": "s2", "token": "t2", "encoding_aes_key": OTHER_KEY},
            },
        )
    ).json()
    listed = (await api.get("/api/v1/channels", as_="admin")).json()["data"]
    assert [c["id"] for c in listed] == [one["id"], two["id"]]
    assert [c["id"] for c in (await api.get("/api/v1/channels?kind=mp", as_="admin")).json()["data"]] == [two["id"]]
    got = (await api.get(f"/api/v1/channels/{one['id']}", as_="admin")).json()
    assert got.pop("health") == {"last_callback_at": None, "last_pull_at": None, "errors": {}}
    assert got == {**one, "health": None} or {**got, "health": None} == one
    missing = await api.get("/api/v1/channels/999", as_="admin")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await api.get("/api/v1/channels?kind=oa", as_="admin")).status_code == 422
    assert_no_secrets(api, "s2", "t2")


async def test_update_is_partial_and_merges_secrets(api: Api) -> None:
    created = (await api.post("/api/v1/channels", as_="admin", json=wecom())).json()
    path = f"/api/v1/channels/{created['id']}"
    response = await api.patch(path, as_="admin", json={"secrets": {"token": "new-token-123"}})
    assert response.status_code == 200, response.text
    assert await secrets_of(api, created["id"]) == {
        "secret": SECRET,
        "token": "new-token-123",
        "encoding_aes_key": AES_KEY,
    }
    response = await api.patch(path, as_="admin", json={"name": "renamed", "settings": {"welcome_message": "hello"}})
    body = response.json()
    assert body["name"] == "renamed"
    assert body["settings"] == {"api_base": "http://sim/wecom", "welcome_message": "hello"}
    assert body["secrets_set"] == ["encoding_aes_key", "secret", "token"]
    # a bad key, removing a required secret, or a setting of the other kind: 422 and nothing changes
    for patch, field in (
        ({"secrets": {"encoding_aes_key": "bad"}}, "secrets.encoding_aes_key"),
        ({"secrets": {"secret": ""}}, "secrets.secret"),
        ({"settings": {"callback_mode": "plain"}}, "settings.callback_mode"),
    ):
        response = await api.patch(path, as_="admin", json=patch)
        assert response.status_code == 422 and response.json()["error"]["field"] == field
    assert (await secrets_of(api, created["id"]))["secret"] == SECRET
    # renaming onto another channel's name
    await api.post("/api/v1/channels", as_="admin", json=wecom(name="other", app_id="ww9"))
    assert (await api.patch(path, as_="admin", json={"name": "other"})).status_code == 409
    assert (await api.patch("/api/v1/channels/999", as_="admin", json={"name": "x"})).status_code == 404
    assert_no_secrets(api, "new-token-123")


async def test_disable_and_enable(api: Api) -> None:
    created = (await api.post("/api/v1/channels", as_="admin", json=wecom())).json()
    disabled = await api.post(f"/api/v1/channels/{created['id']}/disable", as_="admin")
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    # a disabled channel takes no callbacks and cannot be verified
    assert (await api.client.get(f"/callbacks/{created['id']}")).status_code == 404
    response = await api.post(f"/api/v1/channels/{created['id']}/verify", as_="admin")
    assert response.status_code == 409
    assert (await api.get("/api/v1/channels?enabled=false", as_="admin")).json()["data"][0]["id"] == created["id"]
    enabled = await api.patch(f"/api/v1/channels/{created['id']}", as_="admin", json={"enabled": True})
    assert enabled.json()["enabled"] is True
    assert (await api.post(f"/api/v1/channels/{created['id']}/disable", as_="admin")).json()["enabled"] is False
    assert (await api.post(f"/api/v1/channels/{created['id']}/enable", as_="admin")).json()["enabled"] is True
    assert (await api.post("/api/v1/channels/999/disable", as_="admin")).status_code == 404


async def test_write_scope_cannot_manage_channels(api: Api) -> None:
    assert (await api.post("/api/v1/channels", as_="write", json=wecom())).status_code == 403
    assert (await api.get("/api/v1/channels", as_="write")).status_code == 403


async def test_verify_fetches_a_token_from_the_platform(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    await sim_api.h.driver.wecom_create_corp(corpid="ww0001", secret=SECRET)
    created = (await sim_api.post("/api/v1/channels", as_="admin", json=wecom())).json()
    response = await sim_api.post(f"/api/v1/channels/{created['id']}/verify", as_="admin")
    assert response.status_code == 200, response.text
    assert response.json() == {"id": created["id"], "ok": True}
    calls = await sim_api.h.driver.calls(host="wecom", path="/cgi-bin/gettoken")
    assert len(calls) == 1

    # a wrong secret: the caller's to fix, 424 channel_misconfigured with the platform's errcode
    await sim_api.patch(f"/api/v1/channels/{created['id']}", as_="admin", json={"secrets": {"secret": "wrong-one"}})
    response = await sim_api.post(f"/api/v1/channels/{created['id']}/verify", as_="admin")
    assert response.status_code == 424
    error = response.json()["error"]
    assert error["code"] == "channel_misconfigured" and error["errcode"] == 40001
    assert "invalid credential" in error["errmsg"]

    # an unknown corpid
    other = (await sim_api.post("/api/v1/channels", as_="admin", json=wecom(name="ghost", app_id="wwghost"))).json()
    response = await sim_api.post(f"/api/v1/channels/{other['id']}/verify", as_="admin")
    assert response.status_code == 424 and response.json()["error"]["errcode"] == 40013
    assert_no_secrets(sim_api, "wrong-one")


async def test_verify_mp(sim_api: SimApi) -> None:
    assert sim_api.h is not None
    account = await sim_api.h.driver.mp_create_app(wechat_id="gh_test", secret=SECRET)
    body = {
        "kind": "mp",
        "name": "oa",
        "app_id": account["appid"],
        "secrets": {"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY},
        "settings": {"api_base": "http://sim/mp"},
    }
    created = (await sim_api.post("/api/v1/channels", as_="admin", json=body)).json()
    response = await sim_api.post(f"/api/v1/channels/{created['id']}/verify", as_="admin")
    assert response.status_code == 200, response.text
    await sim_api.patch(f"/api/v1/channels/{created['id']}", as_="admin", json={"secrets": {"secret": "nope"}})
    response = await sim_api.post(f"/api/v1/channels/{created['id']}/verify", as_="admin")
    assert response.status_code == 424 and isinstance(response.json()["error"]["errcode"], int)
    assert_no_secrets(sim_api)


async def test_channels_show_their_health(sim_api: SimApi) -> None:
    """The last callback, the last successful pull and a standing pull error, per channel."""
    h = sim_api.h
    assert h is not None
    channel_id = await h.wecom_channel()
    fresh = (await sim_api.get(f"/api/v1/channels/{channel_id}", as_="admin")).json()["health"]
    assert fresh == {"last_callback_at": None, "last_pull_at": None, "errors": {}}
    kf = (await h.driver.wecom_add_kf_account("wwcorp0001"))["open_kfid"]
    customer = (await h.driver.wecom_add_customer("wwcorp0001"))["external_userid"]
    await h.driver.wecom_customer_send("wwcorp0001", kf, customer, content="hi")
    await h.sync_all()
    healthy = (await sim_api.get("/api/v1/channels", as_="admin")).json()["data"][0]["health"]
    assert healthy["last_callback_at"] and healthy["last_pull_at"] and healthy["errors"] == {}
    await h.driver.add_fault("/cgi-bin/kf/sync_msg", "errcode", 45009, remaining=5)
    await h.driver.wecom_customer_send("wwcorp0001", kf, customer, content="again")
    await h.driver.flush_callbacks()
    await h.runtime.syncer._attempt(channel_id, kf)  # one round of the sync loop: the failure is recorded
    failing = (await sim_api.get(f"/api/v1/channels/{channel_id}", as_="admin")).json()["health"]
    assert list(failing["errors"]) == [kf] and "45009" in failing["errors"][kf], failing
