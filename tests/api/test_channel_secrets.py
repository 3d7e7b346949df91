"""A stored channel secret stays where it is sent today: `api_base` is kept on the platform hosts
(unless GATEWAY_ALLOW_CUSTOM_API_BASE is set) and changing it needs the app secret in the same request.

The attack this closes: an admin key PATCHes `settings.api_base` to a host it controls and the
gateway's next token fetch sends `corpsecret=<the secret>` there (and the live token after it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gateway import cli
from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.models import Channel
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from gateway.settings import get_settings
from tests.api.support import AES_KEY, Api, SimApi, api_settings, make_keys
from tests.api.test_channels import SECRET, TOKEN, assert_no_secrets, secrets_of
from tests.conftest import TEST_SECRET_KEY

WECOM_HOST = "https://qyapi.weixin.qq.com"
MP_HOST = "https://api.weixin.qq.com"


@pytest.fixture
async def prod(db: Database, box: SecretBox) -> AsyncIterator[Api]:
    """The app with production settings: no custom API bases."""
    settings = api_settings(db)
    assert settings.security.allow_custom_api_base is False
    runtime = Runtime(settings, db=db)
    app = create_app(settings, runtime=runtime, background=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as client:
            yield Api(client, db, box, await make_keys(db))
    finally:
        await runtime.stop()


def channel(kind: str = "wecom", api_base: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind,
        "name": f"{kind}-1",
        "app_id": "ww0001" if kind == "wecom" else "wx0001",
        "secrets": {"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY},
        "settings": {} if api_base is None else {"api_base": api_base},
    }
    body.update(overrides)
    return body


async def channel_count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Channel)) or 0)


async def test_api_bases_are_the_platform_hosts_without_the_development_setting(prod: Api) -> None:
    accepted = [
        ("wecom", WECOM_HOST),
        ("wecom", "https://QYAPI.weixin.qq.com/"),
        ("mp", MP_HOST),
        ("mp", "https://api2.weixin.qq.com"),
        ("mp", "https://sh.api.weixin.qq.com"),
        ("mp", "https://sz.api.weixin.qq.com"),
        ("mp", "https://hk.api.weixin.qq.com:443"),
    ]
    for n, (kind, base) in enumerate(accepted):
        response = await prod.post("/api/v1/channels", as_="admin", json=channel(kind, base, name=f"ok{n}"))
        assert response.status_code == 201, (base, response.text)
    refused = [
        ("wecom", MP_HOST),  # the other platform's host
        ("mp", WECOM_HOST),
        ("wecom", "http://qyapi.weixin.qq.com"),
        ("wecom", "https://qyapi.weixin.qq.com:8443"),
        ("wecom", "https://qyapi.weixin.qq.com.attacker.example"),
        ("wecom", "https://attacker.example/cgi-bin"),
        ("wecom", "https://user:pw@qyapi.weixin.qq.com"),
        ("wecom", "https://qyapi.weixin.qq.com/relay"),
        ("wecom", "https://qyapi.weixin.qq.com/?x=1"),
        ("mp", "http://127.0.0.1:8080"),
        ("mp", "http://169.254.169.254/latest"),
    ]
    before = await channel_count(prod.db)
    for kind, base in refused:
        response = await prod.post("/api/v1/channels", as_="admin", json=channel(kind, base, name="bad"))
        assert response.status_code == 422, (base, response.text)
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("api_base_not_allowed", "settings.api_base"), base
        assert "GATEWAY_ALLOW_CUSTOM_API_BASE" in error["message"]
    assert await channel_count(prod.db) == before
    assert_no_secrets(prod)


async def test_changing_the_api_base_needs_the_secret_in_the_same_request(prod: Api) -> None:
    made = (await prod.post("/api/v1/channels", as_="admin", json=channel("mp"))).json()
    path = f"/api/v1/channels/{made['id']}"
    for body in (
        {"settings": {"api_base": "https://api2.weixin.qq.com"}},
        {"settings": {"api_base": "https://api2.weixin.qq.com"}, "secrets": {"token": "another-token"}},
        {"settings": {"api_base": "https://api2.weixin.qq.com"}, "name": "renamed"},
    ):
        response = await prod.patch(path, as_="admin", json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("secret_reentry_required", "secrets.secret")
    async with prod.db.sessions() as session:
        row = await session.get(Channel, made["id"])
        assert row is not None and row.settings == {"callback_mode": "safe"} and row.name == "mp-1"
    assert (await secrets_of(prod, made["id"]))["token"] == TOKEN
    # off the platform hosts: refused even with the secret
    response = await prod.patch(
        path, as_="admin", json={"settings": {"api_base": "https://attacker.example"}, "secrets": {"secret": "s"}}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "api_base_not_allowed"
    # with the secret, to a platform host: accepted, and the given secret is the one stored
    moved = await prod.patch(
        path, as_="admin", json={"settings": {"api_base": "https://api2.weixin.qq.com"}, "secrets": {"secret": "new"}}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["settings"]["api_base"] == "https://api2.weixin.qq.com"
    assert (await secrets_of(prod, made["id"]))["secret"] == "new"
    # the same place again (a trailing slash aside), or other settings: no secret needed
    for body in (
        {"settings": {"api_base": "https://api2.weixin.qq.com/"}},
        {"settings": {"callback_mode": "compat"}},
        {"name": "renamed"},
    ):
        response = await prod.patch(path, as_="admin", json=body)
        assert response.status_code == 200, (body, response.text)
    # moving back to the default host is a change too
    back = await prod.patch(path, as_="admin", json={"settings": {"api_base": MP_HOST}})
    assert back.status_code == 422 and back.json()["error"]["code"] == "secret_reentry_required"
    assert_no_secrets(prod, "new")


class Wiretap:
    """Every platform call the gateway makes (request URL and body) and every token it was given."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.requests: list[tuple[str, str]] = []
        self.tokens: list[str] = []
        http.event_hooks["request"].append(self._request)
        http.event_hooks["response"].append(self._response)

    async def _request(self, request: httpx.Request) -> None:
        self.requests.append((str(request.url), request.content.decode(errors="replace")))

    async def _response(self, response: httpx.Response) -> None:
        if response.url.path.endswith(("/gettoken", "/stable_token", "/token")):
            await response.aread()
            self.tokens += [response.json()["access_token"]] if "access_token" in response.json() else []

    def to(self, host: str) -> list[str]:
        return [url + " " + body for url, body in self.requests if httpx.URL(url).host == host]


async def test_an_admin_key_cannot_send_the_stored_secret_to_its_own_host(sim_api: SimApi) -> None:
    """The issue's attack, under the development setting (custom bases allowed, as with the simulator)."""
    assert sim_api.h is not None
    await sim_api.h.driver.wecom_create_corp(corpid="ww0001", secret=SECRET)
    tap = Wiretap(sim_api.h.sim_http)
    made = await sim_api.post("/api/v1/channels", as_="admin", json=channel("wecom", "http://sim/wecom"))
    path = f"/api/v1/channels/{made.json()['id']}"
    assert (await sim_api.post(f"{path}/verify", as_="admin")).status_code == 200
    assert tap.tokens and any(SECRET in r for r in tap.to("sim"))

    hijack = await sim_api.patch(path, as_="admin", json={"settings": {"api_base": "http://attacker.example/wecom"}})
    assert hijack.status_code == 422 and hijack.json()["error"]["code"] == "secret_reentry_required"
    assert (await sim_api.post(f"{path}/verify", as_="admin")).status_code == 200  # still the platform
    assert tap.to("attacker.example") == []

    # with a secret of its own the key may point the channel anywhere (development setting), but what
    # reaches that host is its own secret, never the stored one nor a token fetched with it
    moved = await sim_api.patch(
        path,
        as_="admin",
        json={"settings": {"api_base": "http://attacker.example/wecom"}, "secrets": {"secret": "attacker-guess"}},
    )
    assert moved.status_code == 200, moved.text
    assert (await sim_api.post(f"{path}/verify", as_="admin")).status_code == 424  # that host refuses the guess
    sent = tap.to("attacker.example")
    assert sent and all("attacker-guess" in r for r in sent)
    assert not any(SECRET in r or any(token in r for token in tap.tokens) for r in sent)
    assert_no_secrets(sim_api, "attacker-guess")


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(database_url: str) -> Iterator[dict[str, str]]:
    get_settings.cache_clear()
    yield {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_SECRET_KEY": TEST_SECRET_KEY}
    get_settings.cache_clear()


async def test_the_cli_applies_the_same_rule(db: Database, cli_env: dict[str, str]) -> None:
    args = ["channel", "add", "wecom", "--name", "c", "--corpid", "ww1", "--secret", "s", "--token", "t"]
    args += ["--aes-key", AES_KEY, "--api-base", "http://127.0.0.1:9000/wecom"]
    refused = await asyncio.to_thread(CliRunner().invoke, cli.main, args, env=cli_env)
    assert refused.exit_code == 2 and "GATEWAY_ALLOW_CUSTOM_API_BASE" in refused.output
    assert await channel_count(db) == 0
    get_settings.cache_clear()
    dev = {**cli_env, "GATEWAY_ALLOW_CUSTOM_API_BASE": "1"}
    created = await asyncio.to_thread(CliRunner().invoke, cli.main, args, env=dev)
    assert created.exit_code == 0, created.output
    assert await channel_count(db) == 1
