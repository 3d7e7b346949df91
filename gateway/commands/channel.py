"""`kefu-gateway channel add wecom|mp … / list`: configure platform credentials (secrets sealed)."""

from __future__ import annotations

from typing import Any

import click

from gateway.commands import run

_SECRET = {"hide_input": True, "prompt": True}


@click.group("channel")
def channel() -> None:
    """Channels: one WeCom kf app or one official account each."""


async def _create(kind: str, name: str, app_id: str, secrets: dict[str, str], settings: dict[str, Any]) -> None:
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


@channel.group("add")
def add() -> None:
    """Add a channel: `channel add wecom …` or `channel add mp …`."""


@add.command("wecom")
@click.option("--name", required=True, help="A unique name for this channel.")
@click.option("--corpid", required=True)
@click.option("--secret", help="Secret of the self-built app allowed to call kf APIs.", **_SECRET)
@click.option("--token", help="Callback Token.", **_SECRET)
@click.option("--aes-key", help="Callback EncodingAESKey (43 characters).", **_SECRET)
@click.option("--api-base", default="https://qyapi.weixin.qq.com", show_default=True)
@click.option("--welcome", default="", help="Welcome text sent on enter_session (welcome_code).")
def add_wecom(name: str, corpid: str, secret: str, token: str, aes_key: str, api_base: str, welcome: str) -> None:
    """Add a WeCom 微信客服 channel."""
    from gateway.wechat.crypto import decode_aes_key

    _check_key(decode_aes_key, aes_key)
    settings: dict[str, Any] = {"api_base": api_base}
    if welcome:
        settings["welcome_message"] = welcome
    run(_create("wecom", name, corpid, {"secret": secret, "token": token, "encoding_aes_key": aes_key}, settings))


@add.command("mp")
@click.option("--name", required=True, help="A unique name for this channel.")
@click.option("--appid", required=True)
@click.option("--secret", help="AppSecret.", **_SECRET)
@click.option("--token", help="Server Token.", **_SECRET)
@click.option("--aes-key", default="", help="EncodingAESKey (compatible and safe modes).")
@click.option("--mode", type=click.Choice(["plain", "compat", "safe"]), default="safe", show_default=True)
@click.option("--api-base", default="https://api.weixin.qq.com", show_default=True)
def add_mp(name: str, appid: str, secret: str, token: str, aes_key: str, mode: str, api_base: str) -> None:
    """Add an Official Account (MP kefu) channel."""
    from gateway.wechat.crypto import decode_aes_key

    if mode != "plain" or aes_key:
        _check_key(decode_aes_key, aes_key)
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
