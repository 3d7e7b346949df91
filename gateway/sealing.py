"""Secrets at rest: AES-256-GCM under a key derived from GATEWAY_SECRET_KEY.

Sealed values are text `v1.<base64(nonce ‖ ciphertext ‖ tag)>`; the version prefix lets a later
key rotation tell old envelopes from new ones. Only the holder of the key can read them back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

from Crypto.Cipher import AES

from gateway.errors import ConfigError

_PREFIX = "v1."
_INFO = b"kefu-gateway/sealing/v1"


class SecretBox:
    """Seal and open small secrets (channel secrets, cached access tokens, webhook secrets)."""

    __slots__ = ("_key",)

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ConfigError("a secret key is required to seal secrets")
        # HKDF would be nicer; one SHA-256 over a domain tag is enough for a single derived key.
        self._key = hashlib.sha256(_INFO + secret_key.encode()).digest()

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: str | bytes) -> str:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        ciphertext, tag = cipher.encrypt_and_digest(data)
        return _PREFIX + base64.urlsafe_b64encode(nonce + ciphertext + tag).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(_PREFIX):
            raise ConfigError("sealed value has an unknown format")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_PREFIX) :])
            nonce, ciphertext, tag = raw[:12], raw[12:-16], raw[-16:]
            cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
            return cipher.decrypt_and_verify(ciphertext, tag).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ConfigError(
                "cannot open a sealed secret: GATEWAY_SECRET_KEY differs from the key it was sealed with"
            ) from None

    def seal_json(self, value: dict[str, Any]) -> str:
        return self.seal(json.dumps(value, separators=(",", ":"), sort_keys=True))

    def open_json(self, sealed: str) -> dict[str, Any]:
        return json.loads(self.open(sealed))
