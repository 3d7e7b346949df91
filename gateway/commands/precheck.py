"""Checks a command that works on existing data runs before it touches anything (import, export).

Each failure is one ConfigError line (the CLI prints `error: …` and exits 2) and leaves no file
behind: an SQLite database that does not exist is reported, never opened (opening creates it), and
a database behind the code's migrations is reported before any query fails on a missing column.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.commands.demo import demo_env
from gateway.errors import ConfigError
from gateway.settings import DEMO_SECRET_KEY, Settings, get_settings


def command_settings(demo: bool) -> Settings:
    """The settings of an import/export: the demo's (its database and key) with `--demo`."""
    if not demo:
        return get_settings()
    return Settings.from_env(demo_env(), demo=True)


def check_secret_key(settings: Settings) -> None:
    """The key must open the channel secrets: the demo's key only for the demo's database (--demo)."""
    if settings.secret_key == DEMO_SECRET_KEY and not settings.demo:
        raise ConfigError(
            "GATEWAY_SECRET_KEY is the public demo key: add --demo to work on the demo's database, "
            "or set the key of your own deployment"
        )
    settings.require_secret_key()


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_database(url: str) -> None:
    """The database exists and is migrated to head; otherwise one line saying what to run."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise ConfigError(
            f"no database at {path}: run `kefu-gateway db upgrade` first, or point GATEWAY_DATABASE_URL "
            "at your gateway's database (the demo's: add --demo)"
        )
    from gateway.db import migrate  # alembic: loaded only by the commands that need it (cli.py)

    current, head = migrate.current(url), migrate.head_revision(url)
    if current != head:
        raise ConfigError(
            f"the database is at {current or 'base (never migrated)'}, the code expects {head}: "
            "run `kefu-gateway db upgrade`"
        )
