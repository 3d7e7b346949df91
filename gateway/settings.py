"""GATEWAY_* environment variables → frozen, grouped settings (cached).

Every variable is listed in README.md's configuration reference; `tests/test_readme.py` keeps the
two in step.
"""

from __future__ import annotations

import functools
import ipaddress
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
    # How long a REST request waits for a pooled connection before it answers 503 `overloaded`
    # (shorter than a client's patience); the callback writer has its own small pool (docs/security.md).
    pool_timeout: float = 3.0
    callback_pool_size: int = 3


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # how the platforms reach /callbacks; shown by `channel add`
    # How long a channel's adapter is used without re-reading its row (changes made through this
    # process's API apply at once; other replicas' and the CLI's within this time).
    channel_cache_seconds: float = 5.0
    # Replay window: a verified callback whose signed timestamp is further than this from now (seconds,
    # either way) is refused; 0 turns the check off (docs/security.md).
    callback_max_age: float = 300.0


@dataclass(frozen=True, slots=True)
class SyncSettings:
    poll_interval: float = 30.0  # seconds between polls of a kf account when callbacks are quiet
    backoff_max: float = 60.0
    horizon_warning_hours: float = 60.0  # sync_msg keeps 3 days; warn well before
    directory_interval: float = 300.0  # seconds between refreshes of inboxes and agents (online status)
    state_ttl: float = 30.0  # a conversation opened through the API re-reads a platform state older than this
    wait_queue_interval: float = 30.0  # seconds between polls of each MP channel's wait queue (getwaitcase)


@dataclass(frozen=True, slots=True)
class JobSettings:
    # A claimed job is the worker's for this long, renewed every third of it while the job runs; a
    # replica that dies stops renewing, and its jobs go to the others once the lease runs out.
    lease_seconds: float = 30.0
    # Sends per second per channel and process (a token bucket with this burst): stays well under the
    # platforms' per-app API frequency limits (45009) when the CRM queues a burst of replies.
    send_rate: float = 20.0


@dataclass(frozen=True, slots=True)
class ReadinessSettings:
    """/readyz limits (seconds): beyond them the process answers 503 (README, "Health and readiness")."""

    job_backlog: float = 300.0  # the oldest runnable job has waited longer than this
    sync_lag: float = 300.0  # a kf account's pull is this far behind its callbacks, or a pull error stands this long


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Where admin API keys may point the gateway (docs/security.md). The defaults are production's;
    the demo and the tests relax them for the simulator and local receivers."""

    allow_custom_api_base: bool = False  # a channel api_base other than the platform hosts
    webhook_allow_http: bool = False  # plain-http webhook URLs
    webhook_allowed_targets: tuple[str, ...] = ()  # non-public CIDRs / addresses / host names webhooks may reach


@dataclass(frozen=True, slots=True)
class SignInSettings:
    """Operator sign-in sessions (docs/security.md): a session ends after `idle` seconds without a
    request or `max_age` seconds after sign-in, whichever comes first."""

    idle: float = 12 * 3600.0
    max_age: float = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Load shedding (docs/security.md, "Load and overload"): what REST and SSE may take, so callbacks
    keep their deadline; beyond it clients get 503 + Retry-After (429 for one actor's streams)."""

    max_requests: int = 32  # /api/v1 requests handled at once (SSE streams apart)
    request_queue: int = 64  # /api/v1 requests waiting for a slot; more answer 503 at once
    queue_timeout: float = 2.0  # seconds a queued request waits for a slot before 503
    max_uploads: int = 4  # media uploads handled at once (each may carry 20 MB); they queue like the rest
    max_streams: int = 200  # event streams (SSE) open in this process
    max_streams_per_actor: int = 5  # event streams one API key or operator may hold open
    max_json_body: int = 1024 * 1024  # bytes of a request body (uploads have their own limit)


@dataclass(frozen=True, slots=True)
class Settings:
    database: DatabaseSettings
    secret_key: str
    server: ServerSettings = field(default_factory=ServerSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    readiness: ReadinessSettings = field(default_factory=ReadinessSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    sign_in: SignInSettings = field(default_factory=SignInSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
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
                pool_timeout=_float(env, "GATEWAY_DATABASE_POOL_TIMEOUT", 3.0),
                callback_pool_size=_int(env, "GATEWAY_DATABASE_CALLBACK_POOL_SIZE", 3),
            ),
            secret_key=secret_key,
            server=ServerSettings(
                host=env.get("GATEWAY_HOST", "127.0.0.1"),
                port=_int(env, "GATEWAY_PORT", 8000),
                public_url=env.get("GATEWAY_PUBLIC_URL", "").rstrip("/"),
                channel_cache_seconds=_float(env, "GATEWAY_CHANNEL_CACHE_SECONDS", 5.0),
                callback_max_age=_float(env, "GATEWAY_CALLBACK_MAX_AGE", 300.0),
            ),
            sync=SyncSettings(
                poll_interval=_float(env, "GATEWAY_SYNC_POLL_INTERVAL", 30.0),
                backoff_max=_float(env, "GATEWAY_SYNC_BACKOFF_MAX", 60.0),
                horizon_warning_hours=_float(env, "GATEWAY_SYNC_HORIZON_WARNING_HOURS", 60.0),
                directory_interval=_float(env, "GATEWAY_DIRECTORY_INTERVAL", 300.0),
                state_ttl=_float(env, "GATEWAY_SESSION_STATE_TTL", 30.0),
                wait_queue_interval=_float(env, "GATEWAY_WAIT_QUEUE_INTERVAL", 30.0),
            ),
            jobs=JobSettings(
                lease_seconds=_float(env, "GATEWAY_JOB_LEASE_SECONDS", 30.0),
                send_rate=_float(env, "GATEWAY_SEND_RATE", 20.0),
            ),
            readiness=ReadinessSettings(
                job_backlog=_float(env, "GATEWAY_READY_JOB_BACKLOG", 300.0),
                sync_lag=_float(env, "GATEWAY_READY_SYNC_LAG", 300.0),
            ),
            security=SecuritySettings(
                allow_custom_api_base=_bool(env, "GATEWAY_ALLOW_CUSTOM_API_BASE", False),
                webhook_allow_http=_bool(env, "GATEWAY_WEBHOOK_ALLOW_HTTP", False),
                webhook_allowed_targets=_targets(env, "GATEWAY_WEBHOOK_ALLOWED_TARGETS"),
            ),
            sign_in=SignInSettings(
                idle=_float(env, "GATEWAY_SESSION_IDLE", 12 * 3600.0),
                max_age=_float(env, "GATEWAY_SESSION_MAX_AGE", 7 * 86400.0),
            ),
            limits=LimitSettings(
                max_requests=_int(env, "GATEWAY_MAX_REQUESTS", 32),
                request_queue=_int(env, "GATEWAY_REQUEST_QUEUE", 64),
                queue_timeout=_float(env, "GATEWAY_REQUEST_QUEUE_TIMEOUT", 2.0),
                max_uploads=_int(env, "GATEWAY_MAX_UPLOADS", 4),
                max_streams=_int(env, "GATEWAY_MAX_STREAMS", 200),
                max_streams_per_actor=_int(env, "GATEWAY_MAX_STREAMS_PER_ACTOR", 5),
                max_json_body=_int(env, "GATEWAY_MAX_BODY", 1024 * 1024),
            ),
            media_dir=Path(env.get("GATEWAY_MEDIA_DIR") or cwd / "media"),
            log_level=env.get("GATEWAY_LOG_LEVEL", "INFO").upper(),
            log_json=_bool(env, "GATEWAY_LOG_JSON", True),
            demo=demo,
        )
        if settings.jobs.lease_seconds <= 0:
            raise ConfigError("GATEWAY_JOB_LEASE_SECONDS must be positive")
        if settings.readiness.job_backlog <= 0 or settings.readiness.sync_lag <= 0:
            raise ConfigError("GATEWAY_READY_JOB_BACKLOG and GATEWAY_READY_SYNC_LAG must be positive")
        if settings.sign_in.idle <= 0 or settings.sign_in.max_age <= 0:
            raise ConfigError("GATEWAY_SESSION_IDLE and GATEWAY_SESSION_MAX_AGE must be positive")
        limits = settings.limits
        if min(limits.max_requests, limits.max_uploads, limits.max_streams, limits.max_streams_per_actor) < 1:
            raise ConfigError("GATEWAY_MAX_REQUESTS, _MAX_UPLOADS, _MAX_STREAMS(_PER_ACTOR) must be at least 1")
        if min(settings.database.callback_pool_size, settings.database.pool_size) < 1:
            raise ConfigError("GATEWAY_DATABASE_POOL_SIZE and GATEWAY_DATABASE_CALLBACK_POOL_SIZE must be at least 1")
        _check_common(settings)
        return settings

    def require_secret_key(self) -> str:
        """The key that seals channel secrets; placeholders are refused outside the demo."""
        key = self.secret_key
        if key.strip().lower() in _PLACEHOLDERS:
            raise ConfigError(
                "GATEWAY_SECRET_KEY is not set: it encrypts channel secrets at rest "
                "(use a long random value, e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if key == DEMO_SECRET_KEY and not self.demo:
            raise ConfigError("GATEWAY_SECRET_KEY is the public demo key; set a private one")
        if len(key) < 16:
            raise ConfigError("GATEWAY_SECRET_KEY must be at least 16 characters")
        return key


def debug_enabled(env: Mapping[str, str] | None = None) -> bool:
    """GATEWAY_DEBUG: the command line shows tracebacks instead of one-line errors."""
    return _bool(os.environ if env is None else env, "GATEWAY_DEBUG", False)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def _check_common(settings: Settings) -> None:
    """Values that would otherwise fail later with a traceback far from their cause."""
    if settings.log_level not in LOG_LEVELS:
        raise ConfigError(f"GATEWAY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {settings.log_level!r}")
    if not settings.database.url.startswith(DATABASE_SCHEMES):
        shown = settings.database.url.split("://", 1)[0]
        raise ConfigError(
            f"GATEWAY_DATABASE_URL must be sqlite:///PATH or postgresql://USER@HOST/DB, got a {shown!r} URL"
        )
    if not 0 < settings.server.port < 65536:
        raise ConfigError(f"GATEWAY_PORT must be between 1 and 65535, got {settings.server.port}")


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


def _targets(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated CIDRs, addresses or host names; an entry with "/" must be a valid network."""
    entries = tuple(e.strip() for e in env.get(name, "").split(",") if e.strip())
    for entry in entries:
        try:
            if "/" in entry:
                ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {entry!r} is not a network (e.g. 10.0.0.0/8)") from None
        if any(c.isspace() for c in entry) or "://" in entry:
            raise ConfigError(f"{name}: {entry!r} is not a network, address or host name")
    return entries


@functools.cache
def get_settings() -> Settings:
    """Process-wide settings from the environment (cached; tests build their own)."""
    return Settings.from_env()
