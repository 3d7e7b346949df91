"""Operator passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106 low-memory profile) and the
rules a new password must meet. The hash is the only form ever stored; nothing here logs.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.errors import InvalidRequest

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a huge body from costing hashing time

_hasher = PasswordHasher()  # argon2id
# verified against when the email is unknown, so an unknown email costs the same time as a wrong password
_DUMMY = _hasher.hash("kefu-gateway: no such operator")


class WeakPassword(InvalidRequest):
    code = "weak_password"


def check_password(password: str) -> str:
    """`password` if it meets the rules, else 422 weak_password (field `password`)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters", field="password")
    if not password.strip():
        raise WeakPassword("the password must not be blank", field="password")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check; `password_hash=None` (unknown operator) verifies against a dummy hash."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters (rehashed on the next good sign-in)."""
    return _hasher.check_needs_rehash(password_hash)
