"""GATEWAY_* environment variables → frozen, grouped settings (cached).

Every variable is listed in README.md's configuration reference; `tests/test_readme.py` keeps the
two in step.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.errors import ConfigError

# A key anyone can read in the source: accepted only by the demo and the tests.
DEMO_SECRET_KEY = "kefu-gateway-demo-key-not-for-production"
_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "replace-me", "xxx"}


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    echo: bool = False
    pool_size: int = 10


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # how the platforms reach /callbacks; shown by `channel add`
    # How long a channel's adapter is used without re-reading its row (changes made through this
    # process's API apply at once; other replicas' and the CLI's within this time).
    channel_cache_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class SyncSettings:
    poll_interval: float = 30.0  # seconds between polls of a kf account when callbacks are quiet
    backoff_max: float = 60.0
    horizon_warning_hours: float = 60.0  # sync_msg keeps 3 days; warn well before
    directory_interval: float = 300.0  # seconds between refreshes of inboxes and agents (online status)


@dataclass(frozen=True, slots=True)
class JobSettings:
    # A claimed job is the worker's for this long; a replica that dies leaves its jobs to be reclaimed
    # once it ends. Keep it well above the longest job (a platform call times out after 10 s).
    lease_seconds: float = 120.0
    # Sends per second per channel and process (a token bucket with this burst): stays well under the
    # platforms' per-app API frequency limits (45009) when the CRM queues a burst of replies.
    send_rate: float = 20.0


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings
    secret_key: str
    server: ServerSettings = field(default_factory=ServerSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    media_dir: Path = Path("media")
    log_level: str = "INFO"
    log_json: bool = True
    demo: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
        """Read settings from `env` (default: `os.environ`); raise ConfigError on bad values."""
        env = os.environ if env is None else env
        cwd = Path.cwd()
        db_url = env.get("GATEWAY_DATABASE_URL") or f"sqlite+aiosqlite:///{cwd / 'kefu-gateway.db'}"
        secret_key = env.get("GATEWAY_SECRET_KEY", "")
        if demo and not secret_key:
            secret_key = DEMO_SECRET_KEY
        settings = cls(
            database=DatabaseSettings(
                url=normalize_database_url(db_url),
                echo=_bool(env, "GATEWAY_DATABASE_ECHO", False),
                pool_size=_int(env, "GATEWAY_DATABASE_POOL_SIZE", 10),
            ),
            secret_key=secret_key,
            server=ServerSettings(
                host=env.get("GATEWAY_HOST", "127.0.0.1"),
                port=_int(env, "GATEWAY_PORT", 8000),
                public_url=env.get("GATEWAY_PUBLIC_URL", "").rstrip("/"),
                channel_cache_seconds=_float(env, "GATEWAY_CHANNEL_CACHE_SECONDS", 5.0),
            ),
            sync=SyncSettings(
                poll_interval=_float(env, "GATEWAY_SYNC_POLL_INTERVAL", 30.0),
                backoff_max=_float(env, "GATEWAY_SYNC_BACKOFF_MAX", 60.0),
                horizon_warning_hours=_float(env, "GATEWAY_SYNC_HORIZON_WARNING_HOURS", 60.0),
                directory_interval=_float(env, "GATEWAY_DIRECTORY_INTERVAL", 300.0),
            ),
            jobs=JobSettings(
                lease_seconds=_float(env, "GATEWAY_JOB_LEASE_SECONDS", 120.0),
                send_rate=_float(env, "GATEWAY_SEND_RATE", 20.0),
            ),
            media_dir=Path(env.get("GATEWAY_MEDIA_DIR") or cwd / "media"),
            log_level=env.get("GATEWAY_LOG_LEVEL", "INFO").upper(),
            log_json=_bool(env, "GATEWAY_LOG_JSON", True),
            demo=demo,
        )
        if settings.jobs.lease_seconds <= 0:
            raise ConfigError("GATEWAY_JOB_LEASE_SECONDS must be positive")
        return settings

    def require_secret_key(self) -> str:
        """The key that seals channel secrets; placeholders are refused outside the demo."""
        key = self.secret_key
        if key.strip().lower() in _PLACEHOLDERS:
            raise ConfigError(
                "GATEWAY_SECRET_KEY is not set: it encrypts channel secrets at rest "
                "(use a long random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if key == DEMO_SECRET_KEY and not self.demo:
            raise ConfigError("GATEWAY_SECRET_KEY is the public demo key; set a private one")
        if len(key) < 16:
            raise ConfigError("GATEWAY_SECRET_KEY must be at least 16 characters")
        return key


def normalize_database_url(url: str) -> str:
    """Accept the usual sync spellings and pick the async driver the gateway ships with."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


@functools.cache
def get_settings() -> Settings:
    """Process-wide settings from the environment (cached; tests build their own)."""
    return Settings.from_env()
