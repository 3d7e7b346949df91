"""Callback signatures and the AES envelope of WeCom and MP callbacks, both directions.

The scheme (docs/platforms.md §5): msg_signature = sha1(sorted [token, timestamp, nonce, encrypt]);
plaintext = random(16) ‖ uint32be(len(msg)) ‖ msg ‖ receive_id, PKCS#7-padded to 32-byte
blocks, AES-256-CBC with iv = key[:16], base64. MP's plain `signature` is sha1 over the sorted
[token, timestamp, nonce] only. Every failure raises a CallbackError subclass carrying the
WXBizMsgCrypt code (-40001 … -40011); nothing here raises a bare exception.

Both signatures cover the `timestamp` query parameter, so `check_timestamp` can bound how old (or
how far ahead) a verified callback may be: a captured request replayed later is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Collection
from dataclasses import dataclass
from xml.sax.saxutils import escape

from Crypto.Cipher import AES

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
from gateway.wechat.xmlmsg import MAX_XML_BYTES, _cdata, build_xml, parse_xml

BLOCK = 32  # WeChat pads to 32 bytes even though AES blocks are 16
_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}")  # use fullmatch: "$" also matches before a trailing "\n"


def sha1_signature(*parts: str) -> str:
    """hex(sha1(concat(sorted(parts)))) — both the 3-part and the 4-part signature."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_plain_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """MP `signature` (URL check and plain mode); raises SignatureError (-40001)."""
    expected = sha1_signature(token, timestamp, nonce)
    if not hmac.compare_digest(expected.encode(), (signature or "").lower().encode()):
        raise SignatureError("signature does not match token/timestamp/nonce")


class StaleCallback(CallbackError):
    """A verified callback signed too far from now: a replay, or a clock that is off (400)."""

    code = "callback_stale"


def check_timestamp(timestamp: str, *, now: float, max_age: float) -> None:
    """The signed `timestamp` (epoch seconds) must lie within `max_age` seconds of `now`, either way.

    `max_age` <= 0 turns the check off. Raises StaleCallback.
    """
    if max_age <= 0:
        return
    raw = (timestamp or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise StaleCallback("the callback's timestamp is not epoch seconds")
    skew = int(raw) - now
    if abs(skew) > max_age:
        direction = "old" if skew < 0 else "ahead"
        raise StaleCallback(
            f"the callback's timestamp is {abs(skew):.0f} s {direction}; at most {max_age:.0f} s is accepted"
        )


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """EncodingAESKey (exactly 43 base64 chars) → 32-byte AES key; AesKeyError (-40004) otherwise."""
    if not isinstance(encoding_aes_key, str) or not _KEY_RE.fullmatch(encoding_aes_key):
        raise AesKeyError("EncodingAESKey must be exactly 43 characters of the base64 alphabet")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:  # pragma: no cover - 43 valid chars always decode to 32 bytes
        raise AesKeyError("EncodingAESKey does not decode to 32 bytes")
    return key


@dataclass(frozen=True, slots=True)
class EncryptedMessage:
    """An encrypted callback envelope and the query parameters that go with it."""

    xml: str
    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str

    @property
    def query(self) -> dict[str, str]:
        return {"msg_signature": self.msg_signature, "timestamp": self.timestamp, "nonce": self.nonce}


class WeChatCrypto:
    """One channel's callback crypto: token, EncodingAESKey and the expected receive id(s).

    `receive_id` is the CorpID (WeCom self-built app), SuiteID (third-party suite) or AppID (MP);
    pass several to accept any of them.
    """

    __slots__ = ("_ecb", "_iv", "_key", "receive_ids", "token")

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str | Collection[str]) -> None:
        self.token = token
        self._key = decode_aes_key(encoding_aes_key)
        # CBC decryption as one reusable ECB pass plus an XOR with the shifted ciphertext: the same
        # result as AES.new(MODE_CBC) per message without paying its set-up on every callback
        self._ecb = AES.new(self._key, AES.MODE_ECB)
        self._iv = self._key[:16]
        ids = (receive_id,) if isinstance(receive_id, str) else tuple(receive_id)
        if not ids or not all(ids):
            raise ReceiveIdError("a receive id (corpid, suiteid or appid) is required")
        self.receive_ids = ids

    def __repr__(self) -> str:  # never print the key or the token
        return f"WeChatCrypto(receive_ids={self.receive_ids!r})"

    # ------------------------------------------------------------------ signatures

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypt)

    def check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Constant-time check of msg_signature; raises SignatureError (-40001)."""
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), (msg_signature or "").lower().encode()):
            raise SignatureError("msg_signature does not match the encrypted payload")

    # ------------------------------------------------------------------ AES layer

    def encrypt(self, plaintext: str | bytes, *, random16: bytes | None = None, receive_id: str | None = None) -> str:
        """Encrypt one message for the wire; `random16` is fixed only by known-answer tests."""
        try:
            msg = plaintext.encode() if isinstance(plaintext, str) else bytes(plaintext)
            prefix = os.urandom(16) if random16 is None else random16
            if len(prefix) != 16:
                raise EncryptError("random prefix must be 16 bytes")
            rid = (receive_id or self.receive_ids[0]).encode()
            body = prefix + struct.pack(">I", len(msg)) + msg + rid
            pad = BLOCK - len(body) % BLOCK
            body += bytes([pad]) * pad
            cipher = AES.new(self._key, AES.MODE_CBC, iv=self._key[:16])
            return base64.b64encode(cipher.encrypt(body)).decode()
        except EncryptError:
            raise
        except (TypeError, ValueError, struct.error) as exc:
            raise EncryptError(f"cannot encrypt: {exc}") from None

    def decrypt(self, encrypt: str) -> str:
        """Decrypt an `Encrypt` / echostr value and check its receive id; returns the message text."""
        raw = _b64decode(encrypt)
        if not raw or len(raw) % BLOCK:
            raise DecryptError(f"ciphertext length {len(raw)} is not a positive multiple of {BLOCK}")
        try:
            blocks = self._ecb.decrypt(raw)
        except ValueError as exc:  # pragma: no cover - lengths were checked above
            raise DecryptError(f"AES decryption failed: {exc}") from None
        chain = int.from_bytes(self._iv + raw[:-16], "big")
        plain = (int.from_bytes(blocks, "big") ^ chain).to_bytes(len(raw), "big")
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise BufferError_("bad PKCS#7 padding (wrong key or tampered ciphertext)")
        content = plain[16:-pad]
        if len(content) < 4:
            raise BufferError_("plaintext too short for its length field")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise BufferError_(f"length field {length} exceeds the {len(content) - 4} bytes present")
        msg, receive_id = content[4 : 4 + length], content[4 + length :]
        try:
            text = msg.decode()
            rid = receive_id.decode()
        except UnicodeDecodeError:
            raise BufferError_("plaintext is not UTF-8") from None
        if not any(hmac.compare_digest(rid.encode(), ok.encode()) for ok in self.receive_ids):
            raise ReceiveIdError("receive id in the payload does not match this channel's corpid/appid")
        return text

    # ------------------------------------------------------------------ flows

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """WeCom GET URL check: verify over the encrypted echostr and return its plaintext."""
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_message(
        self,
        body: bytes | str,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        *,
        max_bytes: int = MAX_XML_BYTES,
    ) -> str:
        """Encrypted POST body → verified, decrypted inner XML text."""
        encrypt = _envelope_encrypt(body, max_bytes)
        if encrypt is None:  # anything unusual goes through the full, defused parser (and its errors)
            envelope = parse_xml(body, max_bytes=max_bytes)
            encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise XmlParseError("envelope has no <Encrypt> element")
        self.check_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypt_message(
        self,
        plaintext: str,
        *,
        timestamp: str,
        nonce: str,
        to_user: str | None = None,
        random16: bytes | None = None,
    ) -> EncryptedMessage:
        """Build an encrypted envelope as the platform pushes it (or as a passive reply).

        With `to_user` the body is the push shape `<ToUserName/><Encrypt/>`; without, the reply
        shape `<Encrypt/><MsgSignature/><TimeStamp/><Nonce/>`.
        """
        encrypt = self.encrypt(plaintext, random16=random16)
        signature = self.signature(timestamp, nonce, encrypt)
        if to_user is not None:
            xml = build_xml({"ToUserName": to_user, "Encrypt": encrypt})
        else:
            xml = (
                f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
                f"<TimeStamp>{escape(timestamp)}</TimeStamp>"
                f"<Nonce>{_cdata(nonce)}</Nonce></xml>"
            )
        return EncryptedMessage(xml=xml, encrypt=encrypt, msg_signature=signature, timestamp=timestamp, nonce=nonce)


def _b64decode(value: str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    data = data.strip()
    if not data or len(data) % 4:
        raise Base64DecodeError("ciphertext is not valid base64")
    try:  # strict: only the alphabet, padding only at the end
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        raise Base64DecodeError("ciphertext is not valid base64") from None


_ENVELOPE = re.compile(rb"<Encrypt><!\[CDATA\[([A-Za-z0-9+/]+={0,2})\]\]></Encrypt>")


def _envelope_encrypt(body: bytes | str, max_bytes: int) -> str | None:
    """The Encrypt text of an ordinary envelope, without an XML parser; None for anything else.

    Ordinary = within the size limit, one <Encrypt> element in CDATA, and no markup declaration
    other than CDATA (so no DTD or entity can be involved). Only the signed ciphertext is used.
    """
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > max_bytes or raw.count(b"<!") != raw.count(b"<![CDATA[") or raw.count(b"<Encrypt>") != 1:
        return None
    match = _ENVELOPE.search(raw)
    return match.group(1).decode() if match else None
