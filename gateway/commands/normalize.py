"""`kefu-gateway normalize --platform wecom|mp FILE`: platform payloads → unified items as JSON lines."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

import click
import msgspec


def _lines(batch: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind, items in (
        ("message", batch.messages),
        ("state_change", batch.state_changes),
        ("message_update", batch.message_updates),
        ("agent_change", batch.agent_changes),
        ("inbox_change", batch.inbox_changes),
    ):
        out.extend({"kind": kind, **msgspec.to_builtins(item)} for item in items)
    return sorted(out, key=lambda line: line.get("seq", 0))


@click.command("normalize")
@click.option("--platform", type=click.Choice(["wecom", "mp"]), required=True)
@click.option("--app-id", default="", help="MP: the appid the callback was sent to (inbox source id).")
@click.argument("file", type=click.File("rb"))
def normalize(platform: str, app_id: str, file: BinaryIO) -> None:
    """Print the unified items of a WeCom sync_msg response (JSON) or an MP callback (XML), one per line.

    Unknown message types are kept (content_type "unknown", raw payload included), never dropped.
    """
    from gateway.domain import ChannelKind
    from gateway.errors import GatewayError

    raw = file.read()
    try:
        if platform == ChannelKind.WECOM:
            from gateway.channels.wecom_normalize import normalize_sync_response

            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise click.ClickException(f"not a JSON sync_msg response: {exc}") from None
            if isinstance(data, dict) and "msgid" in data and "msg_list" not in data:
                data = {"msg_list": [data]}  # a single item is fine too
            lines = _lines(normalize_sync_response(data))
        else:
            from gateway.channels.mp_normalize import normalize_callback_xml

            lines = normalize_callback_xml(raw, app_id or "mp")
    except GatewayError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    for line in lines:
        click.echo(json.dumps(line, ensure_ascii=False, default=str))
