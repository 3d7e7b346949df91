"""`kefu-gateway db upgrade|downgrade|current`: migrations against GATEWAY_DATABASE_URL."""

from __future__ import annotations

import click

from gateway.settings import get_settings


def _url(url: str | None) -> str:
    return url or get_settings().database.url


@click.group("db")
def db() -> None:
    """Database migrations (alembic) for GATEWAY_DATABASE_URL."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.option("--url", help="Database URL (default: GATEWAY_DATABASE_URL).")
def upgrade(revision: str, url: str | None) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from gateway.db import migrate

    migrate.upgrade(_url(url), revision)
    click.echo(f"database at {migrate.current(_url(url))}")


@db.command("downgrade")
@click.argument("revision")
@click.option("--url", help="Database URL (default: GATEWAY_DATABASE_URL).")
def downgrade(revision: str, url: str | None) -> None:
    """Revert migrations down to REVISION ("base" empties the database)."""
    from gateway.db import migrate

    migrate.downgrade(_url(url), revision)
    click.echo(f"database at {migrate.current(_url(url)) or 'base'}")


@db.command("current")
@click.option("--url", help="Database URL (default: GATEWAY_DATABASE_URL).")
def current(url: str | None) -> None:
    """Print the revision the database is at, and whether it is the newest."""
    from gateway.db import migrate

    rev = migrate.current(_url(url))
    head = migrate.head_revision(_url(url))
    state = "up to date" if rev == head else f"behind head {head}: run `kefu-gateway db upgrade`"
    click.echo(f"{rev or 'base'} ({state})")
