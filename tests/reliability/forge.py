"""Callbacks signed exactly as the platforms sign them, around any document a test wants to push.

The platform (or whoever holds a channel's Token and EncodingAESKey) can sign anything; these
helpers do so with the harness channels' own secrets: MP plain (signature over token, timestamp,
nonce only), MP safe (encrypted body, msg_signature) and WeCom (encrypted, msg_signature).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from gateway.db.engine import Database
from gateway.db.models import InboundEvent
from gateway.wechat.crypto import WeChatCrypto, sha1_signature
from gateway.wechat.xmlmsg import build_xml
from tests.harness import AES_KEY, Harness

CORP = "wwcorp0001"
PLAIN_APPID, SAFE_APPID = "wxplain00000001", "wxsafe000000001"
WECOM_TOKEN, MP_TOKEN = "CallbackToken1", "MpToken1"  # tests.harness defaults


@dataclass
class Push:
    """One signed callback: where it goes, its query, its body, and the document inside it."""

    channel_id: int
    query: dict[str, str]
    body: bytes
    plaintext: str

    async def send(self, h: Harness) -> tuple[int, str]:
        response = await h.client.post(
            f"/callbacks/{self.channel_id}",
            params=self.query,
            content=self.body,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        return response.status_code, response.text


@dataclass
class Targets:
    """The three kinds of signed callback a test can forge, with a real kf account and follower."""

    wecom: int
    mp_plain: int
    mp_safe: int
    open_kfid: str
    openid: str

    def push(self, target: str, document: str | dict[str, Any], *, timestamp: float | None = None) -> Push:
        plaintext = document if isinstance(document, str) else build_xml(document)
        ts = str(int(time.time() if timestamp is None else timestamp))
        nonce = "31337"
        if target == "mp_plain":
            query = {"signature": sha1_signature(MP_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
            return Push(self.mp_plain, query, plaintext.encode(), plaintext)
        if target == "mp_safe":
            crypto = WeChatCrypto(MP_TOKEN, AES_KEY, SAFE_APPID)
            sealed = crypto.encrypt_message(plaintext, timestamp=ts, nonce=nonce, to_user="gh_oa")
            query = {
                **sealed.query,
                "signature": sha1_signature(MP_TOKEN, ts, nonce),
                "encrypt_type": "aes",
            }
            return Push(self.mp_safe, query, sealed.xml.encode(), plaintext)
        crypto = WeChatCrypto(WECOM_TOKEN, AES_KEY, CORP)
        sealed = crypto.encrypt_message(plaintext, timestamp=ts, nonce=nonce, to_user=CORP)
        return Push(self.wecom, sealed.query, sealed.xml.encode(), plaintext)

    def document(self, target: str, **fields: Any) -> dict[str, Any]:
        """A valid document for `target`, with `fields` replacing or adding fields (None removes one)."""
        if target == "wecom":
            base: dict[str, Any] = {
                "ToUserName": CORP,
                "CreateTime": int(time.time()),
                "MsgType": "event",
                "Event": "kf_msg_or_event",
                "Token": "ENCtoken" + str(time.monotonic_ns()),
                "OpenKfId": self.open_kfid,
            }
        else:
            base = {
                "ToUserName": "gh_oa",
                "FromUserName": self.openid,
                "CreateTime": int(time.time()),
                "MsgType": "text",
                "Content": "hello",
                "MsgId": str(time.monotonic_ns()),
            }
        base.update(fields)
        return {k: v for k, v in base.items() if v is not None}


async def targets(h: Harness) -> Targets:
    """A WeCom channel with one kf account (in the directory), an MP channel in plain and one in safe mode."""
    wecom = await h.wecom_channel(token=WECOM_TOKEN)
    open_kfid = (await h.driver.wecom_add_kf_account(CORP, "客服"))["open_kfid"]
    await h.runtime.callbacks.accounts.known(await h.runtime.channels.get(wecom), wecom, [open_kfid])
    plain = await h.mp_channel(appid=PLAIN_APPID, token=MP_TOKEN, mode="plain", name="plain")
    safe = await h.mp_channel(appid=SAFE_APPID, token=MP_TOKEN, mode="safe", name="safe", wechat_id="gh_safe")
    return Targets(wecom, plain, safe, open_kfid, "o" + "F" * 27)


async def rejected(db: Database) -> list[InboundEvent]:
    async with db.sessions() as session:
        query = select(InboundEvent).where(InboundEvent.kind == "rejected").order_by(InboundEvent.id)
        return list(await session.scalars(query))


def counted(h: Harness, channel_id: int, result: str) -> float:
    """The callbacks counter of /metrics for (channel, result)."""
    value = h.runtime.metrics.registry.get_sample_value(
        "gateway_callbacks_total", {"channel": str(channel_id), "result": result}
    )
    return value or 0.0
