"""`kefu-gateway apikey create|list|revoke`: API keys for the REST API (only their SHA-256 is stored)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from gateway.commands import run

T = TypeVar("T")


@click.group("apikey")
def apikey() -> None:
    """API keys for /api/v1 (scopes: read < write < admin)."""


async def _with_session(work: Callable[[Any], Awaitable[T]]) -> T:
    from gateway.db.engine import Database
    from gateway.settings import get_settings

    db = Database(get_settings().database.url)
    try:
        async with db.session() as session:
            return await work(session)
    finally:
        await db.dispose()


@apikey.command("create")
@click.option("--name", required=True, help="Who or what uses the key (shown in lists).")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="read", show_default=True)
def create(name: str, scope: str) -> None:
    """Create a key and print it once: it cannot be shown again."""
    from gateway.db.repositories.apikeys import create_key

    row, key = run(_with_session(lambda session: create_key(session, name=name, scope=scope)))
    click.echo(key)
    click.echo(
        f"API key {row.id} ({row.prefix}…, scope {scope}) created; store it now, it is not shown again.", err=True
    )


@apikey.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
def list_keys(include_revoked: bool) -> None:
    """List keys: id, prefix, scope, name, last use, state (never the key)."""
    from gateway.db.repositories.apikeys import list_keys as load

    rows = run(_with_session(lambda session: load(session, include_revoked=include_revoked)))
    if not rows:
        click.echo("no API keys (create one with `kefu-gateway apikey create --name NAME --scope read`)")
    for row in rows:
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never used"
        state = f"revoked {row.revoked_at.isoformat(timespec='seconds')}" if row.revoked_at else "active"
        click.echo(f"{row.id}\t{row.prefix}…\t{row.scope}\t{row.name}\t{used}\t{state}")


@apikey.command("revoke")
@click.argument("key_id", type=int)
def revoke(key_id: int) -> None:
    """Revoke key KEY_ID at once (the next request with it answers 401)."""
    from gateway.db.repositories.apikeys import revoke_key

    row = run(_with_session(lambda session: revoke_key(session, key_id)))
    click.echo(f"API key {row.id} ({row.prefix}…) revoked")
