"""`kefu-gateway channel add wecom|mp … / list`: configure platform credentials (secrets sealed)."""

from __future__ import annotations

from typing import Any

import click

from gateway.commands import run

_SECRET: dict[str, Any] = {"hide_input": True, "prompt": True}  # click.option(**_SECRET)


@click.group("channel")
def channel() -> None:
    """Channels: one WeCom kf app or one official account each."""


def _check_api_base(kind: str, api_base: str) -> None:
    """The API's rule: a platform host, unless GATEWAY_ALLOW_CUSTOM_API_BASE is set (docs/security.md)."""
    from gateway.channels.config import check_api_base
    from gateway.errors import InvalidRequest
    from gateway.settings import get_settings

    try:
        check_api_base(kind, api_base, allow_custom=get_settings().security.allow_custom_api_base)
    except InvalidRequest as exc:
        raise click.BadParameter(exc.message, param_hint="--api-base") from None


def _name_free(ctx: click.Context, param: click.Parameter, name: str) -> str:
    """--name is eager: a taken name is refused before any secret is prompted for."""
    if not name or ctx.resilient_parsing:
        return name
    if run(_channel_named(name)):
        raise click.BadParameter(f"a channel named {name!r} already exists (`kefu-gateway channel list`)")
    return name


async def _channel_named(name: str) -> bool:
    from sqlalchemy import select

    from gateway.db.engine import Database
    from gateway.db.models import Channel
    from gateway.settings import get_settings

    db = Database(get_settings().database.url)
    try:
        async with db.sessions() as session:
            return await session.scalar(select(Channel.id).where(Channel.name == name)) is not None
    finally:
        await db.dispose()


def _reachability_warning(base: str) -> str | None:
    """The platforms push callbacks from the internet: a loopback or private callback URL never gets them."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(base).hostname or "").lower()
    try:
        private = not ipaddress.ip_address(host).is_global
    except ValueError:
        private = host in ("localhost", "") or host.endswith((".local", ".localhost", ".internal", ".lan"))
    if private:
        return (
            f"{base} is not reachable from the internet: set GATEWAY_PUBLIC_URL to the gateway's public https "
            "address before configuring the callback URL on the platform"
        )
    if not base.startswith("https://"):
        return f"{base} is not https: WeCom requires an https callback URL"
    return None


async def _create(kind: str, name: str, app_id: str, secrets: dict[str, str], settings: dict[str, Any]) -> None:
    from gateway.channels.advice import channel_warnings
    from gateway.db.engine import Database
    from gateway.db.repositories.channels import ChannelRepository
    from gateway.sealing import SecretBox
    from gateway.settings import get_settings

    config = get_settings()
    db = Database(config.database.url)
    try:
        async with db.session() as session:
            row = await ChannelRepository(session, SecretBox(config.require_secret_key())).create(
                kind=kind, name=name, app_id=app_id, secrets=secrets, settings=settings
            )
            channel_id = row.id
    finally:
        await db.dispose()
    base = config.server.public_url or f"http://{config.server.host}:{config.server.port}"
    click.echo(f"channel {channel_id} ({kind}) created")
    click.echo(f"callback URL: {base}/callbacks/{channel_id}")
    reachability = _reachability_warning(base)
    if reachability:
        click.echo(f"warning: {reachability}", err=True)
    for warning in channel_warnings(kind, settings):
        click.echo(f"warning: {warning}", err=True)


@channel.group("add")
def add() -> None:
    """Add a channel: `channel add wecom …` or `channel add mp …`."""


@add.command("wecom")
@click.option("--name", required=True, is_eager=True, callback=_name_free, help="A unique name for this channel.")
@click.option("--corpid", required=True)
@click.option("--secret", help="Secret of the self-built app allowed to call kf APIs.", **_SECRET)
@click.option("--token", help="Callback Token.", **_SECRET)
@click.option("--aes-key", help="Callback EncodingAESKey (43 characters).", **_SECRET)
@click.option(
    "--api-base",
    default="https://qyapi.weixin.qq.com",
    show_default=True,
    help="Other hosts only with GATEWAY_ALLOW_CUSTOM_API_BASE=1 (development).",
)
@click.option("--welcome", default="", help="Welcome text sent on enter_session (welcome_code).")
def add_wecom(name: str, corpid: str, secret: str, token: str, aes_key: str, api_base: str, welcome: str) -> None:
    """Add a WeCom 微信客服 channel."""
    from gateway.wechat.crypto import decode_aes_key

    _check_key(decode_aes_key, aes_key)
    _check_api_base("wecom", api_base)
    settings: dict[str, Any] = {"api_base": api_base}
    if welcome:
        settings["welcome_message"] = welcome
    run(_create("wecom", name, corpid, {"secret": secret, "token": token, "encoding_aes_key": aes_key}, settings))


@add.command("mp")
@click.option("--name", required=True, is_eager=True, callback=_name_free, help="A unique name for this channel.")
@click.option("--appid", required=True)
@click.option("--secret", help="AppSecret.", **_SECRET)
@click.option("--token", help="Server Token.", **_SECRET)
@click.option("--aes-key", default="", help="EncodingAESKey (compatible and safe modes).")
@click.option("--mode", type=click.Choice(["plain", "compat", "safe"]), default="safe", show_default=True)
@click.option(
    "--api-base",
    default="https://api.weixin.qq.com",
    show_default=True,
    help="api2/sh.api/sz.api/hk.api.weixin.qq.com too; other hosts only with GATEWAY_ALLOW_CUSTOM_API_BASE=1.",
)
def add_mp(name: str, appid: str, secret: str, token: str, aes_key: str, mode: str, api_base: str) -> None:
    """Add an Official Account (MP kefu) channel."""
    from gateway.wechat.crypto import decode_aes_key

    if mode != "plain" or aes_key:
        _check_key(decode_aes_key, aes_key)
    _check_api_base("mp", api_base)
    secrets = {"secret": secret, "token": token}
    if aes_key:
        secrets["encoding_aes_key"] = aes_key
    run(_create("mp", name, appid, secrets, {"api_base": api_base, "callback_mode": mode}))


def _check_key(decode: Any, key: str) -> None:
    from gateway.errors import CallbackError

    try:
        decode(key)
    except CallbackError as exc:
        raise click.BadParameter(exc.message, param_hint="--aes-key") from None


@channel.command("list")
def list_channels() -> None:
    """List channels (secrets are never shown)."""
    from gateway.db.engine import Database
    from gateway.db.repositories.channels import ChannelRepository
    from gateway.sealing import SecretBox
    from gateway.settings import get_settings

    async def main() -> None:
        config = get_settings()
        db = Database(config.database.url)
        try:
            async with db.sessions() as session:
                rows = await ChannelRepository(session, SecretBox(config.secret_key or "unused")).list()
        finally:
            await db.dispose()
        if not rows:
            click.echo("no channels configured (add one with `kefu-gateway channel add wecom` or `channel add mp`)")
        for row in rows:
            state = "enabled" if row.enabled else "disabled"
            click.echo(f"{row.id}\t{row.kind}\t{row.name}\t{row.app_id}\t{state}\t{row.settings.get('api_base', '')}")

    run(main())
