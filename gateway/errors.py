"""The gateway's exception tree and the platform errcode registry.

    GatewayError                      status_code, stable `code`
    ├── ConfigError                   500 config_error (bad settings; never a client's fault)
    ├── NotFound                      404 not_found
    │   └── ChannelNotFound           404 channel_not_found
    ├── Conflict                      409 conflict
    │   └── ReplyNotAllowed           409 reply_not_allowed (+ reason: window_closed, quota_exhausted, ...)
    ├── InvalidRequest                422 validation_error (+ field)
    │   ├── UnsupportedByChannel      422 unsupported_by_channel
    │   └── IdempotencyKeyReused      422 idempotency_key_reused
    ├── Unauthorized                  401 unauthorized
    ├── Forbidden                     403 forbidden
    ├── ServiceStopping               503 service_stopping (shutting down; the caller should retry)
    ├── CallbackError                 400 callback_* (+ sdk_code -40001 … -40011 from WXBizMsgCrypt)
    │   ├── SignatureError            -40001 callback_bad_signature
    │   ├── XmlParseError             -40002 callback_bad_xml
    │   ├── ShaError                  -40003 callback_sha_error
    │   ├── AesKeyError               -40004 callback_bad_aes_key
    │   ├── ReceiveIdError            -40005 callback_bad_receive_id
    │   ├── EncryptError              -40006 callback_encrypt_failed
    │   ├── DecryptError              -40007 callback_decrypt_failed
    │   ├── BufferError_              -40008 callback_bad_buffer
    │   ├── Base64EncodeError         -40009 callback_base64_encode_failed
    │   ├── Base64DecodeError         -40010 callback_bad_base64
    │   └── ReplyXmlError             -40011 callback_reply_xml_failed
    └── PlatformError                 502 platform_error (+ errcode, errmsg; one class per errcode group)
        ├── TransportError            network failure / timeout / HTTP 5xx (errcode None)
        ├── SystemBusy                -1
        ├── TokenError                40001 40014 42001 (refresh the token and retry once)
        ├── TokenMissing              41001
        ├── RateLimited               45009 45011 45033
        ├── ReplyWindowClosed         45015 95002 95031
        ├── ReplyQuotaExhausted       45047 95001
        ├── SessionStateForbids       95018
        ├── StateTransitionRefused    95016
        ├── TypingRefused             45072 45080 45081
        ├── AgentUnavailable          65402 65415
        ├── InvalidCode               95007
        └── InvalidArgument           40003 40058 40096 95000 95004 95008 95009 65401 65416 65417 …

`platform_error(errcode, errmsg)` picks the registered class; unknown codes get `PlatformError`
itself, still carrying `errcode`/`errmsg`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose; maps to an HTTP answer."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str = "", **extra: Any) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update({k: v for k, v in self.extra.items() if v is not None})
        return body


class ConfigError(GatewayError):
    code = "config_error"


class NotFound(GatewayError):
    status_code = 404
    code = "not_found"


class ChannelNotFound(NotFound):
    code = "channel_not_found"


class Conflict(GatewayError):
    status_code = 409
    code = "conflict"


class ReplyNotAllowed(Conflict):
    """The platform would refuse this send; `reason` says why (see gateway.policy)."""

    code = "reply_not_allowed"

    def __init__(self, reason: str, message: str = "", **extra: Any) -> None:
        super().__init__(message or f"reply not allowed: {reason}", reason=reason, **extra)
        self.reason = reason


class InvalidRequest(GatewayError):
    status_code = 422
    code = "validation_error"

    def __init__(self, message: str = "", *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message, field=field, **extra)
        self.field = field


class UnsupportedByChannel(InvalidRequest):
    code = "unsupported_by_channel"


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"


class Unauthorized(GatewayError):
    status_code = 401
    code = "unauthorized"


class Forbidden(GatewayError):
    status_code = 403
    code = "forbidden"


class ServiceStopping(GatewayError):
    status_code = 503
    code = "service_stopping"


# --------------------------------------------------------------------------- callback crypto


class CallbackError(GatewayError):
    """A callback that fails verification, decryption or parsing; `sdk_code` is WXBizMsgCrypt's."""

    status_code = 400
    code = "callback_error"
    sdk_code: ClassVar[int] = 0

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code, sdk_code=self.sdk_code)


class SignatureError(CallbackError):
    code, sdk_code = "callback_bad_signature", -40001


class XmlParseError(CallbackError):
    code, sdk_code = "callback_bad_xml", -40002


class ShaError(CallbackError):
    code, sdk_code = "callback_sha_error", -40003


class AesKeyError(CallbackError):
    code, sdk_code = "callback_bad_aes_key", -40004


class ReceiveIdError(CallbackError):
    code, sdk_code = "callback_bad_receive_id", -40005


class EncryptError(CallbackError):
    code, sdk_code = "callback_encrypt_failed", -40006


class DecryptError(CallbackError):
    code, sdk_code = "callback_decrypt_failed", -40007


class BufferError_(CallbackError):
    code, sdk_code = "callback_bad_buffer", -40008


class Base64EncodeError(CallbackError):
    code, sdk_code = "callback_base64_encode_failed", -40009


class Base64DecodeError(CallbackError):
    code, sdk_code = "callback_bad_base64", -40010


class ReplyXmlError(CallbackError):
    code, sdk_code = "callback_reply_xml_failed", -40011


# --------------------------------------------------------------------------- platform errors

_REGISTRY: dict[int, type[PlatformError]] = {}


def register(*errcodes: int) -> Callable[[type[PlatformError]], type[PlatformError]]:
    """Class decorator: raise this class for these platform errcodes."""

    def wrap(cls: type[PlatformError]) -> type[PlatformError]:
        for errcode in errcodes:
            if errcode in _REGISTRY:
                raise RuntimeError(f"errcode {errcode} registered twice")
            _REGISTRY[errcode] = cls
        return cls

    return wrap


class PlatformError(GatewayError):
    """The platform answered `errcode != 0` (or could not be reached: TransportError)."""

    status_code = 502
    code = "platform_error"
    transient: ClassVar[bool] = False  # safe to retry later (with the same msgid for sends)

    def __init__(self, errcode: int | None, errmsg: str = "", *, path: str | None = None) -> None:
        text = f"errcode {errcode}: {errmsg}" if errcode is not None else errmsg
        super().__init__(text, errcode=errcode, path=path)
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class TransportError(PlatformError):
    code = "platform_unreachable"
    transient = True

    def __init__(self, errmsg: str, *, path: str | None = None, status: int | None = None) -> None:
        super().__init__(None, errmsg, path=path)
        self.http_status = status


@register(-1)
class SystemBusy(PlatformError):
    code = "platform_busy"
    transient = True


@register(40001, 40014, 42001)
class TokenError(PlatformError):
    code = "platform_token_invalid"


@register(41001)
class TokenMissing(PlatformError):
    code = "platform_token_missing"


@register(45009, 45011, 45033)
class RateLimited(PlatformError):
    code = "platform_rate_limited"
    transient = True


@register(45015, 95002, 95031)
class ReplyWindowClosed(PlatformError):
    code = "window_closed"
    status_code = 409


@register(45047, 95001)
class ReplyQuotaExhausted(PlatformError):
    code = "quota_exhausted"
    status_code = 409


@register(95018)
class SessionStateForbids(PlatformError):
    code = "state_forbids_api"
    status_code = 409


@register(95016)
class StateTransitionRefused(PlatformError):
    code = "state_transition_refused"
    status_code = 409


@register(45072, 45080, 45081)
class TypingRefused(PlatformError):
    """MP custom/typing: bad command, no exchange with the user in the last 30 s, already typing."""

    code = "typing_not_allowed"
    status_code = 409


@register(65402, 65415)
class AgentUnavailable(PlatformError):
    """MP kfsession/create: the kf account is not bound to a WeChat user, or not online."""

    code = "agent_unavailable"
    status_code = 409


@register(95007)
class InvalidCode(PlatformError):
    code = "invalid_event_code"
    status_code = 409


@register(40003, 40058, 40096, 95000, 95004, 95006, 95008, 95009, 95022, 65401, 65403, 65404, 65416, 65417)
class InvalidArgument(PlatformError):
    code = "platform_invalid_argument"
    status_code = 422


def platform_error(errcode: int, errmsg: str = "", *, path: str | None = None) -> PlatformError:
    """The registered exception for `errcode` (generic PlatformError when unknown)."""
    cls = _REGISTRY.get(errcode, PlatformError)
    return cls(errcode, errmsg, path=path)
