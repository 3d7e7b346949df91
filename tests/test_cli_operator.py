"""`kefu-gateway operator …` as a user runs it (real subprocesses): create (password from stdin and
from the prompt, asked twice), list, set-password, deactivate; bad input (and deactivating the last
admin) exits 1 and writes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from gateway.db.engine import Database
from gateway.db.passwords import verify_password
from gateway.db.people import AuditEntry, Operator

EXE = str(Path(sys.executable).with_name("kefu-gateway"))


def run(*args: str, env: dict[str, str], input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], env=env, input=input, capture_output=True, text=True, timeout=60)


async def _rows(url: str) -> tuple[list[Operator], int]:
    db = Database(url)
    try:
        async with db.sessions() as session:
            operators = list(await session.scalars(select(Operator).order_by(Operator.id)))
            audited = await session.scalar(select(func.count()).select_from(AuditEntry))
            return operators, int(audited or 0)
    finally:
        await db.dispose()


def test_operator_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_SECRET_KEY": "a-long-enough-secret-key-123",
        "PYTHONPATH": str(Path(__file__).parent.parent),
    }
    assert run("db", "upgrade", env=env).returncode == 0
    assert "no operators" in run("operator", "list", env=env).stdout

    made = run("operator", "create", "--email", "Ana@Example.COM", "--name", "Ana", "--role", "admin",
               "--password-stdin", env=env, input="first password 1\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "ana@example.com (admin) created" in made.stdout
    prompted = run("operator", "create", "--email", "bo@example.com", "--name", "Bo",
                   env=env, input="second password\nsecond password\n")  # fmt: skip
    assert prompted.returncode == 0, prompted.stderr
    listed = run("operator", "list", env=env).stdout
    assert "ana@example.com\tadmin\tAna\tactive" in listed and "bo@example.com\tagent\tBo\tactive" in listed
    assert "password" not in listed and "argon2" not in listed

    sqlite_url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    before, audited = asyncio.run(_rows(sqlite_url))
    # bad input: short password, bad email, a taken email; each exits 1 and writes nothing
    short = run("operator", "create", "--email", "c@example.com", "--name", "C", "--password-stdin",
                env=env, input="short\n")  # fmt: skip
    assert short.returncode == 1 and "weak_password" in short.stderr
    bad = run("operator", "create", "--email", "not-an-email", "--name", "C", "--password-stdin",
              env=env, input="long enough password\n")  # fmt: skip
    assert bad.returncode == 1 and "validation_error" in bad.stderr
    taken = run("operator", "create", "--email", "ANA@example.com", "--name", "A2", "--password-stdin",
                env=env, input="long enough password\n")  # fmt: skip
    assert taken.returncode == 1 and "email_taken" in taken.stderr
    after, audited_now = asyncio.run(_rows(sqlite_url))
    assert [o.email for o in after] == [o.email for o in before] and audited_now == audited

    reset = run("operator", "set-password", "ana@example.com", "--password-stdin", env=env, input="third password 3\n")
    assert reset.returncode == 0, reset.stderr
    gone = run("operator", "deactivate", "2", env=env)
    assert gone.returncode == 0 and "bo@example.com deactivated" in gone.stdout
    assert run("operator", "deactivate", "nobody@example.com", env=env).returncode == 1
    last = run("operator", "deactivate", "ana@example.com", env=env)  # the only admin: refused, one line
    assert last.returncode == 1 and last.stdout == ""
    assert last.stderr.startswith("error: last_admin: ") and last.stderr.count("\n") == 1

    operators, audited_after = asyncio.run(_rows(sqlite_url))
    assert [o.email for o in operators] == ["ana@example.com", "bo@example.com"]
    assert verify_password(operators[0].password_hash, "third password 3")
    assert not verify_password(operators[0].password_hash, "first password 1")
    assert operators[0].password_hash.startswith("$argon2id$")
    assert [o.active for o in operators] == [True, False]
    assert audited_after == audited + 2
