"""Callback crypto: known-answer vectors, round trips and tamper cases (docs/platforms.md §5)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from Crypto.Cipher import AES
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.errors import (
    AesKeyError,
    Base64DecodeError,
    BufferError_,
    CallbackError,
    DecryptError,
    EncryptError,
    ReceiveIdError,
    SignatureError,
    XmlParseError,
)
from gateway.wechat.crypto import (
    WeChatCrypto,
    check_plain_signature,
    decode_aes_key,
    sha1_signature,
)
from gateway.wechat.xmlmsg import MAX_XML_BYTES, parse_xml

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "crypto_vectors.json").read_text("utf-8"))["vectors"]
BY_ID = {v["id"]: v for v in VECTORS}
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # the official sample key
RID = "wx5823bf96d3bd56c7"
EXPECT = {"InvalidSignature": SignatureError}  # negative_case "expect" → our class


def of_kind(kind: str) -> list[dict]:
    return [pytest.param(v, id=v["id"]) for v in VECTORS if v["kind"] == kind]


def crypto_for(vector: dict, receive_id: str | None = None) -> WeChatCrypto:
    return WeChatCrypto(vector["token"], vector["encoding_aes_key"], receive_id or vector["receive_id"])


@contextmanager
def raises_callback(cls: type[CallbackError], sdk_code: int) -> Iterator[pytest.ExceptionInfo]:
    """Exactly `cls` (not a sibling or the base) carrying the WXBizMsgCrypt code `sdk_code`."""
    with pytest.raises(CallbackError) as info:
        yield info
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert info.value.sdk_code == sdk_code
    assert info.value.to_dict()["sdk_code"] == sdk_code


# ---------------------------------------------------------------- an independent reference implementation


def aes_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def seal(body: bytes, encoding_aes_key: str = KEY) -> str:
    """AES-256-CBC over an already padded body, as the platform does; no validation at all."""
    key = aes_key(encoding_aes_key)
    assert len(body) % 32 == 0
    return base64.b64encode(AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(body)).decode()


def unseal(encrypt: str, encoding_aes_key: str = KEY) -> bytes:
    key = aes_key(encoding_aes_key)
    return AES.new(key, AES.MODE_CBC, iv=key[:16]).decrypt(base64.b64decode(encrypt))


def frame(msg: bytes, receive_id: bytes = RID.encode(), *, random16: bytes = b"R" * 16) -> bytes:
    return random16 + struct.pack(">I", len(msg)) + msg + receive_id


def pkcs7_32(body: bytes) -> bytes:
    pad = 32 - len(body) % 32
    return body + bytes([pad]) * pad


def flip(encrypt: str, index: int, mask: int = 0x01) -> str:
    raw = bytearray(base64.b64decode(encrypt))
    raw[index] ^= mask
    return base64.b64encode(raw).decode()


# ---------------------------------------------------------------- known-answer vectors


def test_every_vector_kind_is_exercised() -> None:
    # A new kind in crypto_vectors.json must get a test here rather than be silently skipped.
    assert {v["kind"] for v in VECTORS} == {
        "decrypt_message",
        "verify_url_echostr",
        "encrypt_deterministic",
        "plain_signature",
    }


@pytest.mark.parametrize("vector", of_kind("decrypt_message"))
def test_decrypt_message_vector(vector: dict) -> None:
    crypto = crypto_for(vector)
    assert crypto.signature(vector["timestamp"], vector["nonce"], vector["encrypt"]) == vector["msg_signature"]
    args = (vector["msg_signature"], vector["timestamp"], vector["nonce"])
    assert crypto.decrypt_message(vector["envelope_xml"], *args) == vector["expected_plaintext"]
    assert crypto.decrypt_message(vector["envelope_xml"].encode(), *args) == vector["expected_plaintext"]
    inner = parse_xml(crypto.decrypt_message(vector["envelope_xml"], *args))
    for field, value in vector.get("expected_fields", {}).items():
        assert inner[field] == value


@pytest.mark.parametrize("vector", of_kind("verify_url_echostr"))
def test_verify_url_vector(vector: dict) -> None:
    crypto = crypto_for(vector)
    plain = crypto.verify_url(vector["msg_signature"], vector["timestamp"], vector["nonce"], vector["encrypt"])
    assert plain == vector["expected_plaintext"]


def test_official_url_check_query_string_decodes_plus_slash_and_equals() -> None:
    vector = BY_ID["wecom_official_sample_verify_url"]
    query = {k: v[0] for k, v in parse_qs(vector["query_string_as_sent"], strict_parsing=True).items()}
    assert query["echostr"] == vector["encrypt"]
    crypto = crypto_for(vector)
    args = (query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
    assert crypto.verify_url(*args) == vector["expected_plaintext"]
    # docs/platforms.md §7.10: a "+" turned into a space by naive decoding breaks the signature.
    with raises_callback(SignatureError, -40001):
        crypto.verify_url(*args[:3], query["echostr"].replace("+", " "))


NEGATIVE = [pytest.param(v, id=v["id"]) for v in VECTORS if "negative_case" in v and v["kind"] != "plain_signature"]


@pytest.mark.parametrize("vector", NEGATIVE)
def test_vector_negative_case(vector: dict) -> None:
    case = dict(vector["negative_case"])
    cls = EXPECT[case.pop("expect")]
    bad = {**vector, **case}
    with raises_callback(cls, -40001):
        crypto_for(vector).verify_url(bad["msg_signature"], bad["timestamp"], bad["nonce"], bad["encrypt"])


@pytest.mark.parametrize("vector", of_kind("encrypt_deterministic"))
def test_deterministic_encrypt_vector(vector: dict) -> None:
    crypto = crypto_for(vector)
    random16 = vector["random16"].encode()
    assert crypto.encrypt(vector["plaintext"], random16=random16) == vector["expected_encrypt"]

    reply = crypto.encrypt_message(
        vector["plaintext"], timestamp=vector["timestamp"], nonce=vector["nonce"], random16=random16
    )
    assert reply.encrypt == vector["expected_encrypt"]
    assert reply.msg_signature == vector["expected_msg_signature"]
    assert reply.query == {
        "msg_signature": vector["expected_msg_signature"],
        "timestamp": vector["timestamp"],
        "nonce": vector["nonce"],
    }
    expected_fields = parse_xml(vector["expected_reply_xml"])
    assert list(expected_fields) == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]
    assert parse_xml(reply.xml) == expected_fields
    assert crypto.decrypt_message(reply.xml, **reply.query) == vector["plaintext"]


@pytest.mark.parametrize("vector", of_kind("plain_signature"))
def test_mp_plain_signature_vector(vector: dict) -> None:
    assert sha1_signature(vector["token"], vector["timestamp"], vector["nonce"]) == vector["signature"]
    check_plain_signature(vector["token"], vector["signature"], vector["timestamp"], vector["nonce"])
    check_plain_signature(vector["token"], vector["signature"].upper(), vector["timestamp"], vector["nonce"])
    case = dict(vector["negative_case"])
    cls = EXPECT[case.pop("expect")]
    bad = {**vector, **case}
    with raises_callback(cls, -40001):
        check_plain_signature(bad["token"], bad["signature"], bad["timestamp"], bad["nonce"])


def test_signature_is_sha1_of_the_sorted_concatenation() -> None:
    parts = ("b", "a", "c", "d")
    assert sha1_signature(*parts) == hashlib.sha1(b"abcd").hexdigest()
    assert sha1_signature(*reversed(parts)) == sha1_signature(*parts)


# ---------------------------------------------------------------- round trips


TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
# Characters that survive XML unchanged: no control characters ("\r" is normalized to "\n").
XML_CHAR = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff")


@settings(deadline=None)
@given(plaintext=TEXT, random16=st.binary(min_size=16, max_size=16))
@example(plaintext="", random16=b"\0" * 16)
@example(plaintext="你好，世界！客服消息", random16=b"\xff" * 16)
@example(plaintext="<xml><Content><![CDATA[中文 ]]]]><![CDATA[> & <]]></Content></xml>", random16=b"x" * 16)
def test_encrypt_decrypt_round_trip(plaintext: str, random16: bytes) -> None:
    crypto = WeChatCrypto("token", KEY, RID)
    encrypt = crypto.encrypt(plaintext, random16=random16)
    assert crypto.decrypt(encrypt) == plaintext
    assert unseal(encrypt)[:16] == random16


@settings(deadline=None)
@given(
    plaintext=TEXT,
    receive_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    token=st.text(st.characters(codec="utf-8"), max_size=32),
    timestamp=st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    nonce=st.text(XML_CHAR, max_size=20),
    to_user=st.one_of(st.none(), st.text(XML_CHAR)),
)
@example(plaintext="", receive_id=RID, token="t", timestamp="1", nonce="a]]>b<&", to_user=None)
def test_message_round_trip(
    plaintext: str, receive_id: str, token: str, timestamp: str, nonce: str, to_user: str | None
) -> None:
    crypto = WeChatCrypto(token, KEY, receive_id)
    message = crypto.encrypt_message(plaintext, timestamp=timestamp, nonce=nonce, to_user=to_user)
    fields = parse_xml(message.xml)
    assert fields["Encrypt"] == message.encrypt
    if to_user is None:
        assert fields == {
            "Encrypt": message.encrypt,
            "MsgSignature": message.msg_signature,
            "TimeStamp": timestamp,
            "Nonce": nonce,
        }
    else:
        assert fields == {"ToUserName": to_user, "Encrypt": message.encrypt}
    assert crypto.decrypt_message(message.xml, **message.query) == plaintext


# 16 random + 4 length + 18 receive id = 38 bytes of overhead; these lengths put the payload just
# below, on and just above the 64- and 96-byte boundaries (pad 1, a full block of 32, pad 31).
@pytest.mark.parametrize(("msg_len", "pad"), [(25, 1), (26, 32), (27, 31), (57, 1), (58, 32), (59, 31)])
def test_padding_around_the_32_byte_block(msg_len: int, pad: int) -> None:
    crypto = WeChatCrypto("token", KEY, RID)
    plaintext = "a" * msg_len
    encrypt = crypto.encrypt(plaintext)
    raw = unseal(encrypt)
    assert len(raw) % 32 == 0
    assert len(raw) == 20 + msg_len + len(RID) + pad
    assert raw[-pad:] == bytes([pad]) * pad
    assert crypto.decrypt(encrypt) == plaintext


@pytest.mark.parametrize("count", [0, 1, 8, 9, 10, 11, 20, 100])
def test_length_field_counts_utf8_bytes(count: int) -> None:
    crypto = WeChatCrypto("token", KEY, RID)
    plaintext = "中" * count  # 3 bytes each
    raw = unseal(crypto.encrypt(plaintext))
    (length,) = struct.unpack(">I", raw[16:20])
    assert length == 3 * count
    assert raw[20 : 20 + length].decode() == plaintext
    assert raw[20 + length : 20 + length + len(RID)] == RID.encode()
    assert crypto.decrypt(crypto.encrypt(plaintext)) == plaintext


def test_encrypt_uses_a_fresh_random_prefix() -> None:
    crypto = WeChatCrypto("token", KEY, RID)
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_accepts_ciphertext_built_by_another_implementation() -> None:
    encrypt = seal(pkcs7_32(frame("外部 hello".encode())))
    assert WeChatCrypto("token", KEY, RID).decrypt(encrypt) == "外部 hello"


# ---------------------------------------------------------------- signature tampering


@pytest.fixture
def post_vector() -> dict:
    return BY_ID["wecom_official_sample_post_msg"]


def test_tampered_signature_is_rejected(post_vector: dict) -> None:
    crypto = crypto_for(post_vector)
    good = post_vector["msg_signature"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with raises_callback(SignatureError, -40001):
        crypto.decrypt_message(post_vector["envelope_xml"], bad, post_vector["timestamp"], post_vector["nonce"])
    with raises_callback(SignatureError, -40001):
        crypto.verify_url(bad, post_vector["timestamp"], post_vector["nonce"], post_vector["encrypt"])


@pytest.mark.parametrize("field", ["timestamp", "nonce"])
def test_tampered_timestamp_or_nonce_is_rejected(post_vector: dict, field: str) -> None:
    args = {k: post_vector[k] for k in ("msg_signature", "timestamp", "nonce")}
    args[field] += "1"
    with raises_callback(SignatureError, -40001):
        crypto_for(post_vector).decrypt_message(post_vector["envelope_xml"], **args)


def test_tampered_ciphertext_fails_the_signature_first(post_vector: dict) -> None:
    body = post_vector["envelope_xml"].replace(post_vector["encrypt"], flip(post_vector["encrypt"], 5))
    assert body != post_vector["envelope_xml"]
    with raises_callback(SignatureError, -40001):
        crypto_for(post_vector).decrypt_message(
            body, post_vector["msg_signature"], post_vector["timestamp"], post_vector["nonce"]
        )


@pytest.mark.parametrize("signature", ["", "0" * 40, "not-a-signature", "签名"])
def test_junk_signature_is_rejected(post_vector: dict, signature: str) -> None:
    with raises_callback(SignatureError, -40001):
        crypto_for(post_vector).verify_url(
            signature, post_vector["timestamp"], post_vector["nonce"], post_vector["encrypt"]
        )


def test_upper_case_signature_is_accepted(post_vector: dict) -> None:
    # Hex case carries no information; the platform sends lower case but accepting upper is harmless.
    crypto = crypto_for(post_vector)
    plain = crypto.decrypt_message(
        post_vector["envelope_xml"],
        post_vector["msg_signature"].upper(),
        post_vector["timestamp"],
        post_vector["nonce"],
    )
    assert plain == post_vector["expected_plaintext"]


# ---------------------------------------------------------------- ciphertext tampering (past the signature)


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["id"]) for v in VECTORS if "encrypt" in v])
@pytest.mark.parametrize("offset", [-32, -17, -1])
@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_tampered_last_block_is_a_padding_error(vector: dict, offset: int, mask: int) -> None:
    # Changing the last ciphertext block scrambles the last plaintext block, padding included.
    with raises_callback(BufferError_, -40008):
        crypto_for(vector).decrypt(flip(vector["encrypt"], offset, mask))


@pytest.mark.parametrize("vector", [pytest.param(v, id=v["id"]) for v in VECTORS if "encrypt" in v])
def test_tampered_byte_before_the_pad_byte_is_a_padding_error(vector: dict) -> None:
    # CBC: flipping byte i of block n-1 flips byte i of plaintext block n, here the pad value itself.
    with raises_callback(BufferError_, -40008):
        crypto_for(vector).decrypt(flip(vector["encrypt"], -33, 0xE0))


def test_tampered_length_field_is_a_buffer_error(post_vector: dict) -> None:
    # Block 0 of the ciphertext is XORed into plaintext bytes 16..31: bit 31 of the length field.
    with raises_callback(BufferError_, -40008):
        crypto_for(post_vector).decrypt(flip(post_vector["encrypt"], 0, 0x80))


def test_length_off_by_one_shows_up_as_a_receive_id_mismatch(post_vector: dict) -> None:
    # The signature, not AES-CBC, authenticates the payload: an off-by-one length decrypts "fine".
    with raises_callback(ReceiveIdError, -40005):
        crypto_for(post_vector).decrypt(flip(post_vector["encrypt"], 3, 0x01))


def test_wrong_key_is_a_padding_error(post_vector: dict) -> None:
    other = WeChatCrypto(post_vector["token"], "a" * 43, post_vector["receive_id"])
    with raises_callback(BufferError_, -40008):
        other.decrypt(post_vector["encrypt"])


# ---------------------------------------------------------------- hand-built bad plaintexts


@pytest.mark.parametrize("pad_value", [0, 33, 255])
def test_pad_value_outside_1_to_32_is_rejected(pad_value: int) -> None:
    body = frame(b"hello")
    body += bytes([pad_value]) * (96 - len(body))  # 53 identical bytes: only the value is wrong
    assert len(body) == 96 and body[-33:] == bytes([pad_value]) * 33
    with raises_callback(BufferError_, -40008):
        WeChatCrypto("t", KEY, RID).decrypt(seal(body))


def test_inconsistent_pad_bytes_are_rejected() -> None:
    body = pkcs7_32(frame(b"hello!"))
    pad = body[-1]
    assert pad > 2
    body = body[:-2] + bytes([pad ^ 0x01, pad])
    with raises_callback(BufferError_, -40008):
        WeChatCrypto("t", KEY, RID).decrypt(seal(body))


def test_hand_built_well_formed_body_is_accepted() -> None:
    # The control for the cases around it: only the one field each of them breaks is wrong.
    assert WeChatCrypto("t", KEY, RID).decrypt(seal(pkcs7_32(frame(b"hello")))) == "hello"


@pytest.mark.parametrize("extra", [1, 1000, 2**31])
def test_length_field_larger_than_the_data(extra: int) -> None:
    msg = b"hello"
    body = b"R" * 16 + struct.pack(">I", len(msg) + len(RID) + extra) + msg + RID.encode()
    with raises_callback(BufferError_, -40008):
        WeChatCrypto("t", KEY, RID).decrypt(seal(pkcs7_32(body)))


def test_plaintext_too_short_for_the_length_field() -> None:
    with raises_callback(BufferError_, -40008):
        WeChatCrypto("t", KEY, RID).decrypt(seal(pkcs7_32(b"R" * 16 + b"\0\0")))


def test_message_that_is_not_utf8() -> None:
    with raises_callback(BufferError_, -40008):
        WeChatCrypto("t", KEY, RID).decrypt(seal(pkcs7_32(frame(b"\xff\xfe bad"))))


def test_empty_receive_id_in_the_payload() -> None:
    with raises_callback(ReceiveIdError, -40005):
        WeChatCrypto("t", KEY, RID).decrypt(seal(pkcs7_32(frame(b"hello", b""))))


@pytest.mark.parametrize("raw_len", [16, 48, 31, 33, 1])
def test_ciphertext_length_not_a_multiple_of_32(raw_len: int) -> None:
    encrypt = base64.b64encode(os.urandom(raw_len)).decode()
    with raises_callback(DecryptError, -40007):
        WeChatCrypto("t", KEY, RID).decrypt(encrypt)


def test_base64_truncated_on_a_4_char_boundary_is_a_length_error(post_vector: dict) -> None:
    with raises_callback(DecryptError, -40007):
        crypto_for(post_vector).decrypt(post_vector["encrypt"][:-4])


@pytest.mark.parametrize(
    "encrypt",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("not base64!", id="garbage"),
        pytest.param(BY_ID["wecom_official_sample_post_msg"]["encrypt"][:-1], id="truncated"),
        pytest.param(BY_ID["wecom_official_sample_post_msg"]["encrypt"][:-3], id="truncated-3"),
        pytest.param("A" * 63 + "=" * 5, id="too-much-padding"),
        pytest.param("AB=C" * 16, id="padding-in-the-middle"),
        pytest.param("-_" * 32, id="urlsafe-alphabet"),
        pytest.param("AAAA\nAAAA" * 8, id="embedded-newline"),
        pytest.param("密文" * 16, id="non-ascii"),
    ],
)
def test_bad_base64(encrypt: str) -> None:
    with raises_callback(Base64DecodeError, -40010):
        WeChatCrypto("t", KEY, RID).decrypt(encrypt)


# ---------------------------------------------------------------- receive id


def test_wrong_receive_id(post_vector: dict) -> None:
    crypto = crypto_for(post_vector, receive_id="ww0000000000000000")
    with raises_callback(ReceiveIdError, -40005):
        crypto.decrypt_message(
            post_vector["envelope_xml"],
            post_vector["msg_signature"],
            post_vector["timestamp"],
            post_vector["nonce"],
        )


@pytest.mark.parametrize("near_miss", [RID + " ", RID.upper(), RID[:-1], " " + RID])
def test_near_miss_receive_id(near_miss: str) -> None:
    encrypt = WeChatCrypto("t", KEY, RID).encrypt("hi")
    with raises_callback(ReceiveIdError, -40005):
        WeChatCrypto("t", KEY, near_miss).decrypt(encrypt)


def test_receive_id_accepted_from_a_list(post_vector: dict) -> None:
    crypto = WeChatCrypto(post_vector["token"], post_vector["encoding_aes_key"], ["suite-id", RID, "wx-appid"])
    assert crypto.receive_ids == ("suite-id", RID, "wx-appid")
    assert crypto.decrypt(post_vector["encrypt"]) == post_vector["expected_plaintext"]
    assert crypto.decrypt(crypto.encrypt("x", receive_id="wx-appid")) == "x"
    with raises_callback(ReceiveIdError, -40005):
        crypto.decrypt(crypto.encrypt("x", receive_id="someone-else"))


def test_encrypt_embeds_the_first_receive_id() -> None:
    raw = unseal(WeChatCrypto("t", KEY, ["first", "second"]).encrypt("x"))
    assert raw[21 : -raw[-1]] == b"first"


@pytest.mark.parametrize("receive_id", [[], (), "", ["", RID]])
def test_receive_id_is_required(receive_id: object) -> None:
    with raises_callback(ReceiveIdError, -40005):
        WeChatCrypto("t", KEY, receive_id)  # type: ignore[arg-type]


# ---------------------------------------------------------------- EncodingAESKey


def test_key_decodes_to_32_bytes_and_iv_is_its_first_half() -> None:
    key = decode_aes_key(KEY)
    assert key == base64.b64decode(KEY + "=") and len(key) == 32
    # The IV is key[:16]. Decryption cannot show it (a wrong IV only garbles the discarded random
    # prefix), so read our ciphertext back with the reference implementation.
    raw = unseal(WeChatCrypto("t", KEY, RID).encrypt("iv", random16=b"0123456789abcdef"))
    assert raw.startswith(b"0123456789abcdef\0\0\0\x02iv" + RID.encode())


@pytest.mark.parametrize(
    "bad_key",
    [
        pytest.param(KEY[:42], id="42-chars"),
        pytest.param(KEY + "=", id="44-chars-padded"),
        pytest.param(KEY + "A", id="44-chars"),
        pytest.param("", id="empty"),
        pytest.param(KEY[:42] + "-", id="urlsafe-dash"),
        pytest.param(KEY[:42] + "_", id="urlsafe-underscore"),
        pytest.param(KEY[:42] + "=", id="padding-char"),
        pytest.param(KEY[:42] + "!", id="punctuation"),
        pytest.param(KEY[:21] + " " + KEY[22:], id="space"),
        pytest.param(KEY[:42] + "é", id="non-ascii"),
        pytest.param(KEY + "\n", id="trailing-newline"),
        pytest.param(KEY.encode(), id="bytes"),
        pytest.param(None, id="none"),
    ],
)
def test_bad_aes_key(bad_key: object) -> None:
    with raises_callback(AesKeyError, -40004):
        decode_aes_key(bad_key)  # type: ignore[arg-type]
    with raises_callback(AesKeyError, -40004):
        WeChatCrypto("t", bad_key, RID)  # type: ignore[arg-type]


@pytest.mark.parametrize("random16", [b"", b"x" * 15, b"x" * 17])
def test_random_prefix_must_be_16_bytes(random16: bytes) -> None:
    with raises_callback(EncryptError, -40006):
        WeChatCrypto("t", KEY, RID).encrypt("hi", random16=random16)


# ---------------------------------------------------------------- envelope XML


def _envelope_call(crypto: WeChatCrypto, body: str | bytes) -> str:
    # A signature that would verify for the vector: XML errors must win before it is looked at.
    v = BY_ID["wecom_official_sample_post_msg"]
    return crypto.decrypt_message(body, v["msg_signature"], v["timestamp"], v["nonce"])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<xml><ToUserName><![CDATA[x]]></ToUserName><AgentID>1</AgentID></xml>", id="no-encrypt"),
        pytest.param("<xml><Encrypt></Encrypt></xml>", id="empty-encrypt"),
        pytest.param("<xml><Encrypt><A>nested</A></Encrypt></xml>", id="nested-encrypt"),
        pytest.param("<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>", id="repeated-encrypt"),
        pytest.param("<xml><Encrypt>abc</xml>", id="malformed"),
        pytest.param("Encrypt=abc", id="not-xml"),
        pytest.param("", id="empty"),
        pytest.param(b"\xff\xfe<xml/>", id="binary"),
    ],
)
def test_bad_envelope_xml(post_vector: dict, body: str | bytes) -> None:
    with raises_callback(XmlParseError, -40002):
        _envelope_call(crypto_for(post_vector), body)


def _padded_envelope(encrypt: str, size: int) -> str:
    head = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><Pad>"
    tail = "</Pad></xml>"
    body = head + "p" * (size - len(head) - len(tail)) + tail
    assert len(body.encode()) == size
    return body


def test_envelope_of_exactly_max_bytes_is_accepted(post_vector: dict) -> None:
    body = _padded_envelope(post_vector["encrypt"], MAX_XML_BYTES)
    assert _envelope_call(crypto_for(post_vector), body) == post_vector["expected_plaintext"]


def test_oversized_envelope_is_refused(post_vector: dict) -> None:
    body = _padded_envelope(post_vector["encrypt"], MAX_XML_BYTES + 1)
    with raises_callback(XmlParseError, -40002):
        _envelope_call(crypto_for(post_vector), body)
    with raises_callback(XmlParseError, -40002):
        _envelope_call(crypto_for(post_vector), body.encode())


def test_max_bytes_can_be_lowered(post_vector: dict) -> None:
    crypto = crypto_for(post_vector)
    size = len(post_vector["envelope_xml"].encode())
    args = (post_vector["msg_signature"], post_vector["timestamp"], post_vector["nonce"])
    assert crypto.decrypt_message(post_vector["envelope_xml"], *args, max_bytes=size)
    with raises_callback(XmlParseError, -40002):
        crypto.decrypt_message(post_vector["envelope_xml"], *args, max_bytes=size - 1)


def _billion_laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        reference = f"&lol{i - 1};"
        entities.append(f'<!ENTITY lol{i} "{reference * 10}">')
    return f'<?xml version="1.0"?><!DOCTYPE xml [{"".join(entities)}]><xml><Encrypt>&lol9;</Encrypt></xml>'


BILLION_LAUGHS = _billion_laughs()
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>'
)


@pytest.mark.parametrize("body", [pytest.param(BILLION_LAUGHS, id="billion-laughs"), pytest.param(XXE, id="xxe")])
def test_entity_attacks_are_refused(post_vector: dict, body: str) -> None:
    with raises_callback(XmlParseError, -40002):
        _envelope_call(crypto_for(post_vector), body)


def test_doctype_is_refused_even_when_harmless(post_vector: dict) -> None:
    body = "<!DOCTYPE xml>" + post_vector["envelope_xml"]
    with raises_callback(XmlParseError, -40002):
        _envelope_call(crypto_for(post_vector), body)


# ---------------------------------------------------------------- secrets stay out of repr


def test_repr_hides_key_and_token(post_vector: dict) -> None:
    token = "SecretTokenValue123"
    crypto = WeChatCrypto(token, KEY, RID)
    key = decode_aes_key(KEY)
    for text in (repr(crypto), str(crypto), f"{crypto!r}", repr([crypto])):
        assert KEY not in text
        assert token not in text
        assert key.hex() not in text
        assert repr(key) not in text
        assert repr(key[:16]) not in text
        assert RID in text


def test_fast_envelope_path_never_bypasses_the_xml_safety() -> None:
    """A valid, signed envelope wrapped in a DTD or doubled is refused like any other unsafe body."""
    crypto = WeChatCrypto("token123", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wwcorp")
    sent = crypto.encrypt_message("<xml><A>1</A></xml>", timestamp="1", nonce="2", to_user="wwcorp")
    assert crypto.decrypt_message(sent.xml, sent.msg_signature, "1", "2") == "<xml><A>1</A></xml>"
    with_dtd = '<!DOCTYPE xml [<!ENTITY a "b">]>' + sent.xml
    with pytest.raises(XmlParseError):
        crypto.decrypt_message(with_dtd, sent.msg_signature, "1", "2")
    doubled = sent.xml.replace("</xml>", f"<Encrypt><![CDATA[{sent.encrypt}]]></Encrypt></xml>")
    with pytest.raises(XmlParseError):  # two <Encrypt> elements: the parser decides, and refuses a list
        crypto.decrypt_message(doubled, sent.msg_signature, "1", "2")
