"""Where webhooks may go: public addresses only, unless the operator allows more (docs/security.md).

An admin API key chooses webhook URLs, so a URL must not turn the gateway into a proxy into its own
network (loopback services, the cloud metadata address 169.254.169.254, private ranges). The rule
is applied twice:

* when a URL is saved (`NetGuard.check_url`): https unless `GATEWAY_WEBHOOK_ALLOW_HTTP`; the host,
  in any numeric spelling (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, `[::ffff:127.0.0.1]`,
  …), or every address its name resolves to, must be public;
* when a delivery connects (`NetGuard.client()`): the transport resolves the name itself, checks
  every address and connects to a checked address, so a name that answered a public address when it
  was saved and a private one now (DNS rebinding) gets no connection. TLS still verifies the
  certificate against the host name (SNI and Host stay the URL's); redirects are never followed.

`GATEWAY_WEBHOOK_ALLOWED_TARGETS` lists networks (CIDR or single addresses) and host names that
may be reached although they are not public, e.g. a CRM on the office network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from gateway.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

RESOLVE_TIMEOUT = 5.0  # seconds for one name lookup
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix: the last 32 bits are IPv4


class WebhookUrlInsecure(InvalidRequest):
    """Plain http while `GATEWAY_WEBHOOK_ALLOW_HTTP` is off."""

    code = "webhook_url_insecure"


class WebhookTargetForbidden(InvalidRequest):
    """The host is, or resolves to, an address webhooks may not reach (`reason` says which kind)."""

    code = "webhook_target_forbidden"


class WebhookTargetUnresolvable(InvalidRequest):
    """The host name has no address now, so it cannot be checked."""

    code = "webhook_target_unresolvable"


class TargetRefused(httpx.TransportError):
    """Raised by the guarded transport instead of connecting: the delivery is a failed attempt."""


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver: /etc/hosts, DNS), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_literal(host: str) -> IPAddress | None:
    """The address `host` spells, in any form the system resolver accepts: dotted, bracketed IPv6,
    and the legacy IPv4 forms (one number, hex, octal, fewer than four parts). None for a name."""
    host = host.strip("[]")
    if host.endswith(".") and host[:-1][-1:].isdigit():
        host = host[:-1]  # "127.0.0.1." is still an address to the resolver
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if not host[:1].isdigit():
        return None  # the legacy forms start with a digit (a name such as "1x.com" fails inet_aton below)
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and may be routed to (mapped, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def non_public(ip: IPAddress) -> str | None:
    """Why webhooks may not reach `ip` by default (loopback, link-local, private, …); None if public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and (reason := non_public(embedded)):
            return reason
    for reason, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    ):
        if hit:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """What the operator allows: plain http, and non-public networks / host names that may be reached."""

    allow_http: bool = False
    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def build(cls, *, allow_http: bool, targets: Iterable[str]) -> TargetPolicy:
        """From settings: each target is a CIDR, an address or a host name (case-insensitive)."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for target in targets:
            try:
                networks.append(ipaddress.ip_network(target.strip("[]"), strict=False))
            except ValueError:
                hosts.add(target.lower().rstrip("."))
        return cls(allow_http=allow_http, networks=tuple(networks), hosts=frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def refusal(self, ip: IPAddress) -> str | None:
        """None when `ip` may be reached, else the reason it may not."""
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
            candidates.append(embedded)
        if any(c in net for c in candidates for net in self.networks if c.version == net.version):
            return None
        return non_public(ip)


class NetGuard:
    """The policy plus a resolver (tests pass their own): checks URLs and builds the guarded client."""

    def __init__(self, policy: TargetPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    async def check_url(self, url: str) -> str:
        """Refuse (422, stable code) a webhook URL the policy does not allow; answer it unchanged."""
        try:
            split = urlsplit(url)
            host, port = split.hostname or "", split.port
        except ValueError:
            host, port, split = "", None, None
        if split is None or split.scheme not in ("http", "https") or not host:
            raise InvalidRequest("url must be an absolute http(s) URL", field="url")
        if split.scheme == "http" and not self.policy.allow_http:
            raise WebhookUrlInsecure(
                "url must use https (plain http needs GATEWAY_WEBHOOK_ALLOW_HTTP=1, for development)", field="url"
            )
        literal = parse_literal(host)
        if literal is not None:  # before httpx reads it: some spellings (0177.0.0.1) are invalid URLs to httpx
            self._refuse([literal], host)
        try:
            httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            raise InvalidRequest("url must be an absolute http(s) URL", field="url") from None
        if literal is None and not self.policy.host_allowed(host):
            self._refuse(await self.resolve(host, port or (443 if split.scheme == "https" else 80)), host)
        return url

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                found = await self.resolver(host, port)
        except (OSError, TimeoutError, UnicodeError):
            found = []
        addresses = [a for a in (parse_literal(f) for f in found) if a is not None]
        if not addresses:
            raise WebhookTargetUnresolvable(f"the url's host {host!r} does not resolve", field="url")
        return addresses

    def refusal(self, addresses: list[IPAddress]) -> str | None:
        """The reason the first refused address is refused; None when every one may be reached."""
        return next((r for r in map(self.policy.refusal, addresses) if r is not None), None)

    def _refuse(self, addresses: list[IPAddress], host: str) -> None:
        reason = self.refusal(addresses)
        if reason is not None:
            raise WebhookTargetForbidden(
                f"the url's host {host!r} is or resolves to a {reason} address; webhooks reach public addresses "
                "only (see GATEWAY_WEBHOOK_ALLOWED_TARGETS)",
                field="url",
                reason=reason,
            )

    async def connect_addresses(self, host: str, port: int) -> list[str]:
        """At connection time: the addresses to try for `host`, every one checked (TargetRefused if any fails)."""
        literal = parse_literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self.resolve(host, port)
            except WebhookTargetUnresolvable as exc:
                raise httpx.ConnectError(exc.message) from None
        reason = None if self.policy.host_allowed(host) else self.refusal(addresses)
        if reason is not None:
            raise TargetRefused(f"refused to connect: {host} is or resolves to a {reason} address")
        return [str(a) for a in addresses]

    def client(
        self, *, timeout: float = 10.0, max_connections: int = 100, verify: ssl.SSLContext | None = None
    ) -> httpx.AsyncClient:
        """An http client whose every connection passes this guard; no redirects, no proxies from the
        environment. `verify`: the TLS context (default: the system's CAs, host names checked)."""
        return httpx.AsyncClient(
            transport=GuardedTransport(self, limits=httpx.Limits(max_connections=max_connections), verify=verify),
            timeout=httpx.Timeout(timeout, connect=5.0),
            follow_redirects=False,
            trust_env=False,
        )


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer with the guard in front: resolve, check every address, connect to one."""

    def __init__(self, guard: NetGuard) -> None:
        self.guard = guard
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self.guard.connect_addresses(host, port):
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks do not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool built on the guarded network backend."""

    def __init__(self, guard: NetGuard, *, limits: httpx.Limits, verify: ssl.SSLContext | None = None) -> None:
        super().__init__(limits=limits, trust_env=False)
        self.guard = guard
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "https" and not (request.url.scheme == "http" and self.guard.policy.allow_http):
            raise TargetRefused(f"{request.url.scheme} webhook URLs are not allowed (https only)", request=request)
        return await super().handle_async_request(request)
