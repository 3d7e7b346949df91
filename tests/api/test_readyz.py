"""/readyz: open like /healthz; 200 when the database answers at the migration head, else 503.
It lists warnings, never secrets."""

from __future__ import annotations

from gateway.api import ops
from tests.api.support import add_channel


async def test_ready_with_no_warnings(api) -> None:
    response = await api.get("/readyz", as_=None)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["warnings"] == [] and body["migration"] == ops._head(api.db.url)


async def test_mp_plain_and_compat_channels_are_warned_about_without_secrets(api) -> None:
    plain = await add_channel(api.db, api.box, kind="mp", name="plain", app_id="wx1", callback_mode="plain")
    compat = await add_channel(api.db, api.box, kind="mp", name="compat", app_id="wx2", callback_mode="compat")
    await add_channel(api.db, api.box, kind="mp", name="safe", app_id="wx3", callback_mode="safe")
    await add_channel(api.db, api.box, name="corp")
    response = await api.get("/readyz", as_=None)
    assert response.status_code == 200
    warned = {(w["channel_id"], w["channel"]) for w in response.json()["warnings"]}
    assert warned == {(plain, "plain"), (compat, "compat")}
    assert all("safe" in w["warning"] for w in response.json()["warnings"])  # the advice: safe mode
    for secret in ("app-secret-value", "callback-token"):
        assert secret not in response.text


async def test_not_ready_when_the_schema_is_not_at_head(api, monkeypatch) -> None:
    monkeypatch.setattr(ops, "_head", lambda url: "9999_from_the_future")
    response = await api.get("/readyz", as_=None)
    assert response.status_code == 503
    assert response.json()["status"] == "error" and response.json()["migration_expected"] == "9999_from_the_future"
