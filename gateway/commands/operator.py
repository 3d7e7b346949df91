"""`kefu-gateway operator create|list|set-password|deactivate`: the people who sign in to the inbox.

Passwords are prompted for twice (hidden) or read from stdin with `--password-stdin` (one line, for
scripts); only their argon2id hash is stored. Each change is in the audit trail as the CLI user.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from gateway.commands import run
from gateway.errors import NotFound

T = TypeVar("T")


@click.group("operator")
def operator() -> None:
    """Operators: people who sign in to the inbox (roles: agent, admin)."""


def _cli_actor() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"type": "cli", "id": None, "name": user}


async def _with_session(work: Callable[[Any], Awaitable[T]]) -> T:
    from gateway.db.engine import Database
    from gateway.settings import get_settings

    db = Database(get_settings().database.url)
    try:
        async with db.session() as session:
            return await work(session)
    finally:
        await db.dispose()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


async def _find(session: Any, who: str) -> Any:
    from gateway.db.repositories import operators as repo

    if who.isdigit():
        return await repo.get_operator(session, int(who))
    row = await repo.by_email(session, who)
    if row is None:
        raise NotFound(f"no operator with email {who.strip().lower()}")
    return row


@operator.command("create")
@click.option("--email", required=True, help="Sign-in email (stored lower-cased).")
@click.option("--name", required=True, help="Shown to other operators.")
@click.option("--role", type=click.Choice(["agent", "admin"]), default="agent", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of prompting.")
def create(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create an operator (the password is prompted for twice)."""
    from gateway.db.repositories import audit
    from gateway.db.repositories.operators import create_operator

    password = _password(password_stdin)

    async def work(session: Any) -> Any:
        row = await create_operator(session, email=email, name=name, password=password, role=role)
        detail = {"email": row.email, "role": row.role}
        await audit.record(
            session, _cli_actor(), "operator.created", subject_type="operator", subject_id=row.id, detail=detail
        )
        return row

    row = run(_with_session(work))
    click.echo(f"operator {row.id} {row.email} ({row.role}) created")


@operator.command("list")
def list_operators() -> None:
    """List operators: id, email, role, name, state, last sign-in (never a password)."""
    from gateway.db.repositories.operators import list_operators as load

    rows = run(_with_session(load))
    if not rows:
        click.echo("no operators (create one with `kefu-gateway operator create --email … --name …`)")
    for row in rows:
        seen = row.last_sign_in_at.isoformat(timespec="seconds") if row.last_sign_in_at else "never signed in"
        state = "active" if row.active else "inactive"
        click.echo(f"{row.id}\t{row.email}\t{row.role}\t{row.name}\t{state}\t{seen}")


@operator.command("set-password")
@click.argument("who")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of prompting.")
def set_password(who: str, password_stdin: bool) -> None:
    """Set the password of WHO (id or email); their sessions end."""
    from gateway.db.repositories import audit
    from gateway.db.repositories import operators as repo

    password = _password(password_stdin)

    async def work(session: Any) -> Any:
        row = await _find(session, who)
        await repo.set_password(session, row, password)
        await audit.record(session, _cli_actor(), "operator.password_set", subject_type="operator", subject_id=row.id)
        return row

    row = run(_with_session(work))
    click.echo(f"operator {row.id} {row.email}: password set, sessions ended")


@operator.command("deactivate")
@click.argument("who")
def deactivate(who: str) -> None:
    """Deactivate WHO (id or email): they cannot sign in and their sessions end at once.
    The last active admin cannot be deactivated (make another admin first)."""
    from gateway.db.repositories import audit
    from gateway.db.repositories import operators as repo

    async def work(session: Any) -> Any:
        row = await _find(session, who)
        await repo.keep_an_admin(session, row, role=row.role, active=False)  # exit 1: error: last_admin: …
        await repo.set_active(session, row, False)
        await audit.record(session, _cli_actor(), "operator.deactivated", subject_type="operator", subject_id=row.id)
        return row

    row = run(_with_session(work))
    click.echo(f"operator {row.id} {row.email} deactivated")
