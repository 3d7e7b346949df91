"""API keys: Bearer auth on every /api/v1 route, scopes read < write < admin, revocation, the CLI, open routes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from gateway import cli
from gateway.api.auth import bearer_token
from gateway.db.engine import Database
from gateway.db.models import ApiKey
from gateway.db.repositories import apikeys
from gateway.db.types import utcnow
from gateway.settings import get_settings
from tests.api.support import Api
from tests.conftest import TEST_SECRET_KEY


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


async def test_missing_malformed_and_unknown_keys_answer_401(api: Api) -> None:
    response = await api.get("/api/v1/conversations", as_=None)
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    for header in ("Basic " + api.keys["admin"], "Bearer", "Bearer ", api.keys["admin"], "Bearer kgw_nope"):
        response = await api.client.get("/api/v1/conversations", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert error_code(response) == "unauthorized"
    tampered = api.keys["read"][:-1] + ("A" if api.keys["read"][-1] != "A" else "B")
    response = await api.client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401
    # the scheme is case-insensitive
    response = await api.client.get("/api/v1/conversations", headers={"Authorization": f"bearer {api.keys['read']}"})
    assert response.status_code == 200


async def test_unknown_api_paths_do_not_bypass_auth_on_known_ones(api: Api) -> None:
    assert (await api.get("/api/v1/contacts/1", as_=None)).status_code == 401
    assert (await api.patch("/api/v1/contacts/1", as_=None, json={})).status_code == 401
    assert (await api.post("/api/v1/channels/1/verify", as_=None)).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "needed"),
    [
        ("GET", "/api/v1/contacts", None, "read"),
        ("GET", "/api/v1/conversations", None, "read"),
        ("GET", "/api/v1/inboxes", None, "read"),
        ("GET", "/api/v1/agents", None, "read"),
        ("PATCH", "/api/v1/contacts/1", {"name": "x"}, "write"),
        ("POST", "/api/v1/contacts/1/merge", {"into_contact_id": 2}, "write"),
        ("POST", "/api/v1/agents/sync", {"channel_id": 1}, "write"),
        ("GET", "/api/v1/channels", None, "admin"),
        ("POST", "/api/v1/channels/1/verify", None, "admin"),
        ("GET", "/api/v1/api-keys", None, "admin"),
        ("POST", "/api/v1/api-keys", {"name": "n", "scope": "read"}, "admin"),
    ],
)
async def test_scopes_are_ordered_read_write_admin(api: Api, method: str, path: str, body: object, needed: str) -> None:
    order = ["read", "write", "admin"]
    for scope in order:
        response = await api.call(method, path, as_=scope, json=body)
        if order.index(scope) < order.index(needed):
            assert response.status_code == 403, (scope, path)
            assert error_code(response) == "forbidden"
            assert f"scope is {scope}" in response.json()["error"]["message"]
        else:
            assert response.status_code not in (401, 403), (scope, path, response.text)


async def test_revoked_key_answers_401_at_once(api: Api) -> None:
    async with api.db.session() as session:
        row, key = await apikeys.create_key(session, name="crm", scope="write")
    headers = {"Authorization": f"Bearer {key}"}
    assert (await api.client.get("/api/v1/contacts", headers=headers)).status_code == 200
    response = await api.delete(f"/api/v1/api-keys/{row.id}", as_="admin")
    assert response.status_code == 200 and response.json()["revoked_at"] is not None
    response = await api.client.get("/api/v1/contacts", headers=headers)
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    # revoking twice keeps the first time; an unknown id is 404
    first = (await api.get("/api/v1/api-keys", as_="admin")).json()["data"]
    again = await api.delete(f"/api/v1/api-keys/{row.id}", as_="admin")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == next(k["revoked_at"] for k in first if k["id"] == row.id)
    assert (await api.delete("/api/v1/api-keys/9999", as_="admin")).status_code == 404


async def test_keys_are_stored_as_sha256_and_shown_once(api: Api) -> None:
    response = await api.post("/api/v1/api-keys", as_="admin", json={"name": "crm", "scope": "read"})
    assert response.status_code == 201
    created = response.json()
    key = created["key"]
    assert key.startswith("kgw_") and created["prefix"] == key[:12] and created["scope"] == "read"
    async with api.db.sessions() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert row is not None and row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (row.name, row.prefix, row.key_hash)
    listed = (await api.get("/api/v1/api-keys", as_="admin")).json()["data"]
    assert created["id"] in [k["id"] for k in listed]
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert key not in str(listed)
    # the new key works with its scope
    headers = {"Authorization": f"Bearer {key}"}
    assert (await api.client.get("/api/v1/contacts", headers=headers)).status_code == 200
    assert (await api.client.patch("/api/v1/contacts/1", headers=headers, json={})).status_code == 403


async def test_create_key_validates_scope_and_name(api: Api) -> None:
    for body in ({"name": "x", "scope": "root"}, {"name": "", "scope": "read"}, {"scope": "read"}):
        response = await api.post("/api/v1/api-keys", as_="admin", json=body)
        assert response.status_code == 422, body
        assert error_code(response) == "validation_error"


async def test_last_used_at_is_written_at_most_once_a_minute(api: Api) -> None:
    async with api.db.session() as session:
        row, key = await apikeys.create_key(session, name="crm", scope="read")
    assert row.last_used_at is None
    headers = {"Authorization": f"Bearer {key}"}

    async def last_used() -> object:
        async with api.db.sessions() as session:
            return (await apikeys.get_key(session, row.id)).last_used_at

    await api.client.get("/api/v1/contacts", headers=headers)
    first = await last_used()
    assert first is not None
    await api.client.get("/api/v1/contacts", headers=headers)
    assert await last_used() == first  # not rewritten within the minute
    async with api.db.session() as session:
        stale = await apikeys.get_key(session, row.id)
        stale.last_used_at = utcnow() - timedelta(minutes=2)
    await api.client.get("/api/v1/contacts", headers=headers)
    later = await last_used()
    assert later is not None and later > first  # type: ignore[operator]


async def test_open_routes_need_no_key(api: Api) -> None:
    assert (await api.client.get("/healthz")).status_code == 200
    assert (await api.client.get("/metrics")).status_code == 200
    schema = await api.client.get("/schema/openapi.json")
    assert schema.status_code == 200
    # callbacks are authenticated by platform signatures: an unknown channel is 404, never 401
    callback = await api.client.get("/callbacks/12345")
    assert callback.status_code == 404


async def test_openapi_declares_bearer_auth_on_api_routes(api: Api) -> None:
    spec = (await api.client.get("/schema/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["BearerAuth"]["description"],
    }
    assert schemes["SessionCookie"]["type"] == "apiKey" and schemes["SessionCookie"]["in"] == "cookie"
    assert schemes["SessionCookie"]["name"] == "kefu_session"
    api_ops = [(path, op) for path, item in spec["paths"].items() if path.startswith("/api/v1") for op in item.values()]
    assert len(api_ops) >= 20
    # an API key or an operator's session on every route but sign-in, which is open
    guarded = [
        (method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/") and path != "/api/v1/auth/sign-in"
        for method, op in item.items()
    ]
    session = {"SessionCookie": []}
    assert all(op.get("security") == [{"BearerAuth": []}, session] for method, op in guarded if method == "get")
    # a write with the cookie also needs the session's X-CSRF-Token
    writes = [op for method, op in guarded if method != "get"]
    assert writes and all(op["security"] == [{"BearerAuth": []}, {**session, "CsrfToken": []}] for op in writes)
    assert spec["paths"]["/api/v1/auth/sign-in"]["post"]["security"] == [{}]
    assert all(
        "security" not in op
        for path, item in spec["paths"].items()
        if path.startswith("/callbacks")
        for op in item.values()
    )


def test_bearer_token_parsing() -> None:
    assert bearer_token([(b"authorization", b"Bearer abc")]) == "abc"
    assert bearer_token([(b"Authorization", b"BEARER  abc ")]) == "abc"
    assert bearer_token([(b"authorization", b"Token abc")]) is None
    assert bearer_token([(b"x-other", b"Bearer abc")]) is None


def test_scope_order() -> None:
    assert apikeys.scope_allows("admin", "write") and apikeys.scope_allows("write", "read")
    assert not apikeys.scope_allows("read", "write") and not apikeys.scope_allows("write", "admin")
    assert not apikeys.scope_allows("root", "read")


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(database_url: str) -> Iterator[dict[str, str]]:
    get_settings.cache_clear()
    yield {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_SECRET_KEY": TEST_SECRET_KEY}
    get_settings.cache_clear()


async def invoke(args: list[str], env: dict[str, str]) -> Result:
    """The command in a thread: it runs its own event loop (asyncio.run), as from a shell."""
    return await asyncio.to_thread(CliRunner().invoke, cli.main, args, env=env)


async def test_cli_create_list_revoke(cli_env: dict[str, str], db: Database) -> None:
    created = await invoke(["apikey", "create", "--name", "crm-prod", "--scope", "write"], cli_env)
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("kgw_") and len(key) > 40
    assert "not shown again" in created.stderr

    listed = await invoke(["apikey", "list"], cli_env)
    assert listed.exit_code == 0
    assert "crm-prod" in listed.stdout and key[:12] in listed.stdout and key not in listed.stdout
    assert "never used" in listed.stdout and "active" in listed.stdout
    key_id = listed.stdout.split()[0]

    bad = await invoke(["apikey", "create", "--name", "x", "--scope", "root"], cli_env)
    assert bad.exit_code == 2

    revoked = await invoke(["apikey", "revoke", key_id], cli_env)
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert "crm-prod" not in (await invoke(["apikey", "list"], cli_env)).stdout
    assert "revoked" in (await invoke(["apikey", "list", "--all"], cli_env)).stdout

    missing = await invoke(["apikey", "revoke", "999999"], cli_env)
    assert missing.exit_code == 1 and "not_found" in missing.stderr


async def test_cli_key_authenticates(api: Api, cli_env: dict[str, str]) -> None:
    result = await invoke(["apikey", "create", "--name", "ops", "--scope", "admin"], cli_env)
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    response = await api.client.get("/api/v1/channels", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
