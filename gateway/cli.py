"""The `kefu-gateway` command line: one click group, one sub-group per concern.

Groups are registered explicitly at the bottom of this module. Commands that need heavy imports
(the web app, the database) should import them inside the command so `kefu-gateway version` and
`kefu-gateway callback ...` stay fast.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import BinaryIO, TypeVar
from urllib.parse import urlencode

import click
from sqlalchemy.exc import SQLAlchemyError

import gateway
from gateway.errors import CallbackError, ConfigError, GatewayError
from gateway.settings import debug_enabled
from gateway.wechat.crypto import WeChatCrypto

DIST_NAME = "kefu-gateway"

F = TypeVar("F", bound=Callable[..., object])


class _Gateway(click.Group):
    """The root group: a misconfiguration or a refused operation prints one line, not a traceback.

    `--debug` (or GATEWAY_DEBUG=1) lets the traceback through, for bug reports.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if ctx.meta.get("gateway.debug") or _debug_from_env():
                raise
            click.echo(f"error: {one_line(exc)}", err=True)
            ctx.exit(2 if isinstance(exc, ConfigError) else 1)


def _debug_from_env() -> bool:
    try:
        return debug_enabled()
    except ConfigError:  # GATEWAY_DEBUG=maybe: the one-line error says so below
        return False


def one_line(exc: BaseException) -> str:
    """What went wrong, in one line, with a hint where the cause is a setting."""
    if isinstance(exc, GatewayError):
        return " ".join(exc.message.split())
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, SQLAlchemyError):
        text = text.split(" (Background on this error")[0]
        return f"database: {text} (check GATEWAY_DATABASE_URL and that the server is up; --debug for details)"
    if isinstance(exc, ConnectionRefusedError):
        return f"{text}: is the server of GATEWAY_DATABASE_URL running? (--debug for details)"
    if isinstance(exc, OSError):
        return f"{text} (--debug for details)"
    return f"{type(exc).__name__}: {text} (--debug for the traceback)"


@click.group(cls=_Gateway, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """WeCom 微信客服 and MP kefu behind one conversation model."""
    ctx.meta["gateway.debug"] = debug


# --------------------------------------------------------------------------- version


@click.command("version")
def version_command() -> None:
    """Print the installed version."""
    click.echo(f"{DIST_NAME} {installed_version()}")


def installed_version() -> str:
    """The distribution's version; gateway.__version__ when running from an uninstalled tree."""
    try:
        return dist_version(DIST_NAME)
    except PackageNotFoundError:
        return gateway.__version__


# --------------------------------------------------------------------------- callback


@click.group("callback")
def callback() -> None:
    """Verify, decrypt and build encrypted callbacks by hand (docs/platforms.md §5), e.g. to debug a push."""


def _key_options(func: F) -> F:
    func = click.option("--aes-key", required=True, help="The 43-character EncodingAESKey.")(func)
    return click.option("--token", required=True, help="The callback Token.")(func)


@contextmanager
def _exit_on_callback_error() -> Iterator[None]:
    """Turn a CallbackError into one stderr line `error <sdk_code> <code>: <message>` and exit 1."""
    try:
        yield
    except CallbackError as exc:
        message = " ".join(exc.message.split())
        click.echo(f"error {exc.sdk_code} {exc.code}: {message}", err=True)
        raise SystemExit(1) from None


@callback.command("decrypt")
@_key_options
@click.option(
    "--receive-id",
    "receive_ids",
    required=True,
    multiple=True,
    help="CorpID (WeCom app), SuiteID (third-party suite) or AppID (MP); repeat to accept several.",
)
@click.option("--msg-signature", required=True)
@click.option("--timestamp", required=True)
@click.option("--nonce", required=True)
@click.option(
    "--encrypt",
    "--echostr",
    "encrypt",
    help="The <Encrypt> text or the WeCom URL-check echostr, already URL-decoded.",
)
@click.option("--body", type=click.File("rb"), help="File with the POST body ('-' reads stdin).")
def callback_decrypt(
    token: str,
    aes_key: str,
    receive_ids: tuple[str, ...],
    msg_signature: str,
    timestamp: str,
    nonce: str,
    encrypt: str | None,
    body: BinaryIO | None,
) -> None:
    """Check msg_signature, decrypt, check the receive id and print the plaintext."""
    if (encrypt is None) == (body is None):
        raise click.UsageError("give exactly one of --encrypt/--echostr or --body")
    with _exit_on_callback_error():
        crypto = WeChatCrypto(token, aes_key, receive_ids)
        if body is not None:
            plaintext = crypto.decrypt_message(body.read(), msg_signature, timestamp, nonce)
        else:
            plaintext = crypto.verify_url(msg_signature, timestamp, nonce, encrypt or "")
    click.echo(plaintext)


@callback.command("encrypt")
@_key_options
@click.option("--receive-id", required=True, help="CorpID, SuiteID or AppID to embed in the payload.")
@click.option("--timestamp", help="Unix seconds; default now.")
@click.option("--nonce", help="Default: 10 random digits.")
@click.option(
    "--to-user",
    help="Build the pushed shape <ToUserName/><Encrypt/>; without it, the passive-reply shape.",
)
@click.option("--text", help="Plaintext to encrypt (usually the inner callback XML).")
@click.option("--file", "file", type=click.File("rb"), help="UTF-8 file to encrypt ('-' reads stdin).")
def callback_encrypt(
    token: str,
    aes_key: str,
    receive_id: str,
    timestamp: str | None,
    nonce: str | None,
    to_user: str | None,
    text: str | None,
    file: BinaryIO | None,
) -> None:
    """Print the encrypted XML envelope, then the query string that signs it."""
    if (text is None) == (file is None):
        raise click.UsageError("give exactly one of --text or --file")
    if file is not None:
        try:
            text = file.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise click.BadParameter(f"not UTF-8 ({exc.reason})", param_hint="--file") from None
    with _exit_on_callback_error():
        crypto = WeChatCrypto(token, aes_key, receive_id)
        message = crypto.encrypt_message(
            text or "",
            timestamp=timestamp or str(int(time.time())),
            nonce=nonce or str(10**9 + secrets.randbelow(9 * 10**9)),
            to_user=to_user,
        )
    click.echo(message.xml)
    click.echo(urlencode(message.query))


# --------------------------------------------------------------------------- registry

# Every top-level command, explicitly; add new groups (db, channel, simulator, serve, ...) here.
from gateway.commands.apikey import apikey  # noqa: E402
from gateway.commands.channel import channel  # noqa: E402
from gateway.commands.cutover import migrate  # noqa: E402
from gateway.commands.db import db  # noqa: E402
from gateway.commands.demo import demo  # noqa: E402
from gateway.commands.migrate import export, import_group  # noqa: E402
from gateway.commands.normalize import normalize  # noqa: E402
from gateway.commands.operator import operator  # noqa: E402
from gateway.commands.server import serve, simulator, sync  # noqa: E402

_COMMANDS = (version_command, callback, db, channel, serve, simulator, sync, demo, apikey, operator, normalize, migrate)
for _command in (*_COMMANDS, import_group, export):
    main.add_command(_command)
