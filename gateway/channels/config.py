"""What an adapter is built from: one channel row (identity, settings, opened secrets) and the shared clients.

Both adapters take a `ChannelConfig`; the parts they read the same way (callback Token,
EncodingAESKey, accepted receive ids, API base) are read here once.

Where a channel's secret is sent is the `api_base` setting: `check_api_base` keeps it on the
platform hosts unless the gateway runs with `GATEWAY_ALLOW_CUSTOM_API_BASE` (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.errors import AesKeyError, InvalidRequest
from gateway.wechat.crypto import WeChatCrypto
from gateway.wechat.tokens import TokenManager

# The hosts each kind's API lives on (docs/platforms.md §0): MP also answers on its documented
# alternates (a second general host for failover, and regional ones).
PLATFORM_HOSTS: dict[str, frozenset[str]] = {
    "wecom": frozenset({"qyapi.weixin.qq.com"}),
    "mp": frozenset(
        {
            "api.weixin.qq.com",
            "api2.weixin.qq.com",
            "sh.api.weixin.qq.com",
            "sz.api.weixin.qq.com",
            "hk.api.weixin.qq.com",
        }
    ),
}
DEFAULT_API_BASE = {"wecom": "https://qyapi.weixin.qq.com", "mp": "https://api.weixin.qq.com"}
# Settings that decide where platform calls (and so the app secret and access tokens) go.
REDIRECTING_SETTINGS = ("api_base",)


class ApiBaseNotAllowed(InvalidRequest):
    """An api_base off the platform hosts while custom bases are not allowed."""

    code = "api_base_not_allowed"


def check_api_base(kind: str, value: object, *, allow_custom: bool) -> str:
    """`value` as an api_base for `kind`: an http(s) URL; without `allow_custom`, exactly
    `https://<a platform host of kind>` (no port, path, query or credentials). InvalidRequest otherwise."""
    field_name = "settings.api_base"
    parsed = httpx.URL(str(value)) if _parses(value) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidRequest("api_base must be an http(s) URL", field=field_name)
    if allow_custom:
        return str(value)
    hosts = PLATFORM_HOSTS.get(kind, frozenset())
    on_platform = (
        parsed.scheme == "https"
        and parsed.host in hosts
        and parsed.port in (None, 443)
        and parsed.path in ("", "/")
        and not parsed.query
        and not parsed.fragment
        and not parsed.userinfo
    )
    if not on_platform:
        raise ApiBaseNotAllowed(
            f"api_base must be https://{' or https://'.join(sorted(hosts))} (other bases need "
            "GATEWAY_ALLOW_CUSTOM_API_BASE=1, for development)",
            field=field_name,
        )
    return str(value)


def effective_api_base(kind: str, settings: dict[str, Any]) -> str:
    """Where a channel with these settings sends its calls (its api_base, else the platform's main host)."""
    return str(settings.get("api_base") or DEFAULT_API_BASE.get(kind, "")).rstrip("/")


def _parses(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        httpx.URL(value)
    except (httpx.InvalidURL, ValueError):
        return False
    return True


@dataclass(slots=True, kw_only=True)
class ChannelConfig:
    """A channel row as an adapter sees it. `secrets` are opened (never logged, never rendered)."""

    channel_id: int
    app_id: str  # WeCom CorpID / MP appid: also the callback receive id
    settings: dict[str, Any]
    secrets: dict[str, str]
    http: httpx.AsyncClient
    tokens: TokenManager
    _crypto: WeChatCrypto | None = field(default=None, repr=False)
    # metrics hook for every platform call: (API path, outcome, seconds); see gateway.wechat.http
    on_call: Callable[[str, str, float], None] | None = field(default=None, repr=False)

    @property
    def callback_token(self) -> str:
        return self.secrets.get("token", "")

    @property
    def aes_key(self) -> str | None:
        return self.secrets.get("encoding_aes_key") or None

    @property
    def secret(self) -> str:
        return self.secrets.get("secret", "")

    @property
    def receive_ids(self) -> tuple[str, ...]:
        """The app id plus any extra ids the channel accepts (e.g. a WeCom SuiteID)."""
        return (self.app_id, *self.settings.get("receive_ids", ()))

    def api_base(self, default: str) -> str:
        """Where platform calls go: the `api_base` setting (the simulator, in tests) or the platform host."""
        return str(self.settings.get("api_base") or default)

    def crypto(self) -> WeChatCrypto:
        """The callback crypto for this channel's Token and EncodingAESKey (AesKeyError without a key)."""
        if self._crypto is None:
            if not self.aes_key:
                raise AesKeyError("encrypted callback but the channel has no EncodingAESKey")
            self._crypto = WeChatCrypto(self.callback_token, self.aes_key, self.receive_ids)
        return self._crypto
