"""Webhook targets: https and public addresses only by default, checked when a URL is saved and
again when a delivery connects (DNS rebinding), no redirects, a short labelled excerpt in the log.

The gateway runs whole (app, runtime, job runner, the guarded http client); the only stand-in is
the name resolver (`Dns`), and the receivers are real HTTP servers on 127.0.0.1 that count their
connections, so "no connection to the private address" is observed, not assumed.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.models import Webhook, WebhookDelivery
from gateway.errors import ConfigError
from gateway.outbound.netguard import NetGuard, TargetPolicy, TargetRefused, parse_literal
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from gateway.settings import SecuritySettings, Settings
from tests.api.support import Api, add_channel, api_settings, make_keys, say
from tests.outbound.test_webhooks import pump

PUBLIC = "8.8.8.8"


class Dns:
    """A name resolver with set answers (a real one cannot be told to change its mind mid-test)."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {name.replace("_", "."): value for name, value in answers.items()}
        self.asked: list[str] = []

    def set(self, name: str, *addresses: str) -> None:
        self.answers[name] = list(addresses)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


class Receiver:
    """A bare HTTP/1.1 server on 127.0.0.1: counts connections, records requests, answers one canned reply."""

    def __init__(self, status: int = 204, body: bytes = b"", headers: str = "", tls: ssl.SSLContext | None = None):
        self.status, self.body, self.headers, self.tls = status, body, headers, tls
        self.connections = 0
        self.requests: list[dict[str, str]] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append({"line": head[0], **headers})
            extra = f"{self.headers}\r\n" if self.headers else ""
            writer.write(
                f"HTTP/1.1 {self.status} Answer\r\nContent-Length: {len(self.body)}\r\nConnection: close\r\n"
                f"{extra}\r\n".encode()
                + self.body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Receiver]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            await server.wait_closed()


@asynccontextmanager
async def gateway(db: Database, box: SecretBox, dns: Dns, **env: str) -> AsyncIterator[tuple[Api, Runtime]]:
    """The app and its runtime as `serve` builds them (webhooks through the guarded client), with `dns`."""
    settings = api_settings(db, **env)
    runtime = Runtime(settings, db=db, resolver=dns)
    runtime.webhooks.schedule = (60.0,)  # a failed attempt is not retried during the test
    app = create_app(settings, runtime=runtime, background=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
            yield Api(client, db, box, await make_keys(db)), runtime
    finally:
        await runtime.stop()


async def webhook_count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Webhook)) or 0)


async def subscribe(api: Api, url: str) -> httpx.Response:
    return await api.post("/api/v1/webhooks", as_="admin", json={"url": url, "events": ["message.created"]})


async def one_attempt(api: Api, runtime: Runtime, webhook_id: int) -> dict[str, Any]:
    """Commit one message.created event and run the job loop until its delivery was attempted once."""
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "alice", "hello")

    async def attempted() -> bool:
        async with api.db.sessions() as session:
            return bool(await session.scalar(select(func.max(WebhookDelivery.attempts))))

    await pump(runtime, attempted)
    page = (await api.get(f"/api/v1/webhooks/{webhook_id}/deliveries", as_="admin")).json()["data"]
    assert len(page) == 1
    return page[0]


NON_PUBLIC = [
    ("127.0.0.1", "loopback"),
    ("[::1]", "loopback"),
    ("0x7f000001", "loopback"),
    ("2130706433", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("017700000001", "loopback"),
    ("127.1", "loopback"),
    ("0x7f.1", "loopback"),
    ("127.0.0.1.", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("[::ffff:7f00:1]", "loopback"),
    ("[64:ff9b::7f00:1]", "loopback"),
    ("[2002:7f00:1::]", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("0", "unspecified"),
    ("[::]", "unspecified"),
    ("169.254.169.254", "link-local"),
    ("0xa9fea9fe", "link-local"),
    ("[fe80::1]", "link-local"),
    ("[::ffff:169.254.169.254]", "link-local"),
    ("10.0.0.1", "private"),
    ("012.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("[fc00::1]", "private"),
    ("224.0.0.1", "multicast"),
    ("[ff02::1]", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "non-public"),
]


@pytest.mark.parametrize(("host", "reason"), NON_PUBLIC)
async def test_every_spelling_of_a_non_public_address_is_refused_at_creation(
    db: Database, box: SecretBox, host: str, reason: str
) -> None:
    dns = Dns()
    async with gateway(db, box, dns) as (api, _):
        response = await subscribe(api, f"https://{host}:8443/hook")
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"], error["reason"]) == ("webhook_target_forbidden", "url", reason)
        assert dns.asked == []  # numeric spellings are read, not looked up
        assert await webhook_count(db) == 0


async def test_names_are_resolved_and_every_address_must_be_public(db: Database, box: SecretBox) -> None:
    dns = Dns(
        metadata_test=["169.254.169.254"],
        mixed_test=[PUBLIC, "10.1.2.3"],
        localish_test=["::1"],
        crm_example=[PUBLIC, "2606:4700::1111"],
    )
    async with gateway(db, box, dns) as (api, _):
        for host, reason in (("metadata.test", "link-local"), ("mixed.test", "private"), ("localish.test", "loopback")):
            response = await subscribe(api, f"https://{host}/hook")
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "webhook_target_forbidden"
            assert response.json()["error"]["reason"] == reason
        nowhere = await subscribe(api, "https://nowhere.test/hook")
        assert nowhere.status_code == 422 and nowhere.json()["error"]["code"] == "webhook_target_unresolvable"
        assert await webhook_count(db) == 0
        made = await subscribe(api, "https://crm.example/hook")
        assert made.status_code == 201, made.text
        # a change of URL is checked the same way and leaves the row as it was when refused
        patched = await api.patch(f"/api/v1/webhooks/{made.json()['id']}", as_="admin", json={"url": "https://0x7f.1/"})
        assert patched.status_code == 422 and patched.json()["error"]["code"] == "webhook_target_forbidden"
        shown = (await api.get(f"/api/v1/webhooks/{made.json()['id']}", as_="admin")).json()
        assert shown["url"] == "https://crm.example/hook"


async def test_plain_http_needs_the_development_setting(db: Database, box: SecretBox) -> None:
    dns = Dns(crm_example=[PUBLIC])
    async with gateway(db, box, dns) as (api, _):
        response = await subscribe(api, "http://crm.example/hook")
        assert response.status_code == 422 and response.json()["error"]["code"] == "webhook_url_insecure"
    async with gateway(db, box, dns, GATEWAY_WEBHOOK_ALLOW_HTTP="1") as (api, _):
        assert (await subscribe(api, "http://crm.example/hook")).status_code == 201
        # allowing http allows no more addresses
        response = await subscribe(api, "http://127.0.0.1/hook")
        assert response.status_code == 422 and response.json()["error"]["code"] == "webhook_target_forbidden"


async def test_the_allowlist_opens_listed_networks_and_names_only(db: Database, box: SecretBox) -> None:
    dns = Dns(crm_internal=["192.168.7.5"], other_internal=["192.168.7.6"])
    env = {"GATEWAY_WEBHOOK_ALLOWED_TARGETS": "10.0.0.0/8, crm.internal"}
    async with gateway(db, box, dns, **env) as (api, _):
        for url in ("https://10.1.2.3/hook", "https://0xa.1.2.3/hook", "https://crm.internal/hook"):
            assert (await subscribe(api, url)).status_code == 201, url
        for url in ("https://127.0.0.1/hook", "https://192.168.7.6/hook", "https://other.internal/hook"):
            response = await subscribe(api, url)
            assert response.json()["error"]["code"] == "webhook_target_forbidden", url


async def test_dns_rebinding_is_refused_at_delivery_without_a_connection(db: Database, box: SecretBox) -> None:
    """The name answers a public address when the webhook is saved and loopback when it is delivered."""
    dns = Dns(rebind_test=[PUBLIC])
    async with Receiver().running() as crm, gateway(db, box, dns, GATEWAY_WEBHOOK_ALLOW_HTTP="1") as (api, runtime):
        made = await subscribe(api, f"http://rebind.test:{crm.port}/hook")
        assert made.status_code == 201, made.text
        dns.set("rebind.test", "127.0.0.1")
        delivery = await one_attempt(api, runtime, made.json()["id"])
        assert crm.connections == 0  # the checked address was refused: nothing was sent anywhere
        assert delivery["status"] == "pending" and delivery["attempts"] == 1
        assert delivery["response_status"] is None and delivery["response_excerpt"] is None
        assert "TargetRefused" in delivery["last_error"] and "loopback" in delivery["last_error"]
        assert dns.asked.count("rebind.test") == 2  # once when saved, once when connecting


async def test_an_allowed_private_target_is_reached_at_the_checked_address_under_its_name(
    db: Database, box: SecretBox
) -> None:
    dns = Dns(crm_internal=["127.0.0.1"])
    env = {"GATEWAY_WEBHOOK_ALLOW_HTTP": "1", "GATEWAY_WEBHOOK_ALLOWED_TARGETS": "crm.internal"}
    async with Receiver().running() as crm, gateway(db, box, dns, **env) as (api, runtime):
        made = await subscribe(api, f"http://crm.internal:{crm.port}/hook")
        delivery = await one_attempt(api, runtime, made.json()["id"])
        assert (delivery["status"], delivery["response_status"]) == ("delivered", 204)
        assert crm.connections == 1 and crm.requests[0]["host"] == f"crm.internal:{crm.port}"
        assert crm.requests[0]["line"] == "POST /hook HTTP/1.1"


async def test_redirects_are_not_followed(db: Database, box: SecretBox) -> None:
    dns = Dns(crm_internal=["127.0.0.1"])
    # the redirect target would pass the guard (127.0.0.0/8 is allowed): only the no-redirect rule stops it
    env = {"GATEWAY_WEBHOOK_ALLOW_HTTP": "1", "GATEWAY_WEBHOOK_ALLOWED_TARGETS": "crm.internal,127.0.0.0/8"}
    async with Receiver().running() as target:
        redirect = Receiver(status=302, headers=f"Location: http://127.0.0.1:{target.port}/stolen")
        async with redirect.running() as crm, gateway(db, box, dns, **env) as (api, runtime):
            made = await subscribe(api, f"http://crm.internal:{crm.port}/hook")
            delivery = await one_attempt(api, runtime, made.json()["id"])
            assert crm.connections == 1 and target.connections == 0
            assert (delivery["status"], delivery["response_status"]) == ("pending", 302)
            assert delivery["last_error"] == "HTTP 302 (redirects are not followed)"


async def test_the_log_keeps_a_short_excerpt_of_the_answer(db: Database, box: SecretBox) -> None:
    body = b"\x00upstream \xe6\x95\x85\xe9\x9a\x9c\r\n" + b"x" * 200_000
    dns = Dns(crm_internal=["127.0.0.1"])
    env = {"GATEWAY_WEBHOOK_ALLOW_HTTP": "1", "GATEWAY_WEBHOOK_ALLOWED_TARGETS": "crm.internal"}
    async with Receiver(status=500, body=body).running() as crm, gateway(db, box, dns, **env) as (api, runtime):
        made = await subscribe(api, f"http://crm.internal:{crm.port}/hook")
        delivery = await one_attempt(api, runtime, made.json()["id"])
        assert (delivery["response_status"], delivery["last_error"]) == (500, "HTTP 500")
        excerpt = delivery["response_excerpt"]
        assert excerpt.startswith("upstream 故障\n") and len(excerpt) == 256 and "\x00" not in excerpt
        assert "response_body" not in delivery


def _certificate(tmp: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (openssl, as a CA would issue one for the CRM's host)."""
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


async def test_tls_names_the_host_although_the_connection_goes_to_the_checked_address(tmp_path: Path) -> None:
    """SNI and certificate check use the URL's host name, not the address the guard connected to."""
    key, cert = _certificate(tmp_path, "crm.internal")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    seen: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: seen.append(name)  # type: ignore[assignment,misc]
    client_tls = ssl.create_default_context(cafile=str(cert))
    dns = Dns(crm_internal=["127.0.0.1"], impostor_internal=["127.0.0.1"])
    guard = NetGuard(TargetPolicy.build(allow_http=False, targets=["crm.internal", "impostor.internal"]), dns)
    async with Receiver(tls=server_tls).running() as crm, guard.client(verify=client_tls) as client:
        response = await client.post(f"https://crm.internal:{crm.port}/hook", content=b"{}")
        assert response.status_code == 204 and seen == ["crm.internal"]
        assert crm.requests[0]["host"] == f"crm.internal:{crm.port}"
        with pytest.raises(httpx.ConnectError, match=r"certificate verify failed"):
            await client.post(f"https://impostor.internal:{crm.port}/hook", content=b"{}")


async def test_the_guarded_client_refuses_without_a_connection() -> None:
    dns = Dns(crm_example=["10.9.9.9"])
    guard = NetGuard(TargetPolicy.build(allow_http=False, targets=[]), dns)
    async with Receiver().running() as crm, guard.client() as client:
        for url in (
            f"http://crm.example:{crm.port}/",  # plain http is not allowed
            f"https://crm.example:{crm.port}/",  # a private address
            f"https://127.0.0.1:{crm.port}/",
            f"https://[::ffff:127.0.0.1]:{crm.port}/",
            f"https://2130706433:{crm.port}/",
        ):
            with pytest.raises(TargetRefused):
                await client.get(url)
        assert crm.connections == 0


def test_parse_literal_reads_what_the_system_resolver_would() -> None:
    for spelling in ("127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.0.0.1"):
        assert str(parse_literal(spelling)) == "127.0.0.1", spelling
        assert socket.gethostbyname(spelling) == "127.0.0.1", spelling  # the same reading as the resolver's
    assert str(parse_literal("127.0.0.1.")) == "127.0.0.1"  # the resolver would look it up as a name: refused too
    assert str(parse_literal("[::ffff:127.0.0.1]")) == "::ffff:7f00:1"
    for name in ("crm.example", "1x.example", "localhost", "", "0x7g.1"):
        assert parse_literal(name) is None, name


def test_the_settings_are_off_by_default_and_read_from_the_environment() -> None:
    base = {"GATEWAY_SECRET_KEY": "x" * 20}
    assert Settings.from_env(base).security == SecuritySettings()
    relaxed = Settings.from_env(
        {
            **base,
            "GATEWAY_ALLOW_CUSTOM_API_BASE": "1",
            "GATEWAY_WEBHOOK_ALLOW_HTTP": "true",
            "GATEWAY_WEBHOOK_ALLOWED_TARGETS": " 10.0.0.0/8, crm.corp.internal ,::1,",
        }
    ).security
    assert relaxed == SecuritySettings(True, True, ("10.0.0.0/8", "crm.corp.internal", "::1"))
    policy = TargetPolicy.build(allow_http=True, targets=relaxed.webhook_allowed_targets)
    assert policy.hosts == {"crm.corp.internal"} and len(policy.networks) == 2
    for bad in ("10.0.0.0/33", "http://crm.example", "crm example"):
        with pytest.raises(ConfigError, match="GATEWAY_WEBHOOK_ALLOWED_TARGETS"):
            Settings.from_env({**base, "GATEWAY_WEBHOOK_ALLOWED_TARGETS": bad})
