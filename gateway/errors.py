"""The gateway's exception tree; each class is an HTTP status and a stable `code`.

    GatewayError                      status_code, stable `code`, retry_after (→ Retry-After)
    ├── ConfigError                   500 config_error (bad settings; never a client's fault)
    ├── NotFound                      404 not_found
    │   ├── ChannelNotFound           404 channel_not_found
    │   └── MediaNotFound             404 media_not_found (no such media, variant or kept file)
    ├── Conflict                      409 conflict
    │   ├── ConversationResolved      409 conversation_ended (no platform call: the gateway knows)
    │   ├── IdempotencyKeyBusy        409 idempotency_key_busy (the first request with the key still runs; retry)
    │   ├── ReplyNotAllowed           409 reply_not_allowed (+ reason: window_closed, quota_exhausted, ...)
    │   ├── MediaPending              409 media_pending (the vault has not downloaded it yet)
    │   ├── MediaFailed               409 media_failed (the platform would not give the file)
    │   └── VariantFailed             409 variant_failed (no playable/thumb form; the original is there)
    ├── MediaExpired                  410 media_expired (gone from the platform before it was fetched)
    ├── InvalidRequest                422 validation_error (+ field)
    │   ├── AgentNotServicer          422 agent_not_servicer (no platform call: the directory knows)
    │   ├── UnsupportedByChannel      422 unsupported_by_channel
    │   └── IdempotencyKeyReused      422 idempotency_key_reused
    ├── Unauthorized                  401 unauthorized
    ├── Forbidden                     403 forbidden
    ├── ServiceStopping               503 service_stopping (shutting down; retry)
    ├── Overloaded                    503 overloaded (load shed: busy or no database connection free; retry)
    ├── TooManyStreams                429 too_many_streams (this key or operator holds its event streams)
    ├── PayloadTooLarge               413 payload_too_large (nothing was read further, nothing written)
    ├── CallbackError                 400 callback_* (+ sdk_code -40001 … -40011 from WXBizMsgCrypt)
    │   └── SignatureError, XmlParseError, ShaError, AesKeyError, ReceiveIdError, EncryptError,
    │       DecryptError, BufferError_, Base64EncodeError, Base64DecodeError, ReplyXmlError
    └── PlatformError                 502 platform_error (+ errcode, errmsg; an errcode the registry lacks)
        ├── TransportError            502 platform_unreachable, transient (network, timeout, HTTP 5xx)
        ├── SystemBusy                503 platform_busy, transient
        ├── RateLimited               503 platform_rate_limited, transient
        ├── ChannelMisconfigured      424 channel_misconfigured (credentials, IP lists, API permissions)
        │   └── TokenError            424 (40001 40014 42001 after the one refresh)
        ├── InvalidArgument           422 platform_invalid_argument
        │   ├── InvalidMedia          422 invalid_media
        │   ├── NotAServicer          422 agent_not_servicer
        │   ├── UpgradeTargetNotConfigured  422 upgrade_target_not_configured
        │   ├── InvalidWechatId       422 invalid_wechat_id
        │   └── PlatformNotFound      404 platform_not_found
        └── PlatformConflict          409 platform_conflict, and by meaning: window_closed,
                                      quota_exhausted, state_forbids_api, state_transition_refused,
                                      conversation_ended, agent_unavailable, served_by_another_agent,
                                      no_platform_session, typing_not_allowed, invalid_event_code,
                                      already_exists, invitation_conflict, platform_limit_reached,
                                      contact_unreachable, platform_forbids

Which errcode raises which class, with its meaning, is the one registry in gateway/wechat/errcodes.py
(`platform_error` builds the exception); docs/errors.md is its table for CRM developers. Transient
classes (and only they) carry `retry_after`: the job runner retries them, the API says when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from gateway.domain import StateChange


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose; maps to an HTTP answer."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    retry_after: ClassVar[int | None] = None  # seconds; set on answers that invite a retry

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


class MediaNotFound(NotFound):
    code = "media_not_found"


class MediaExpired(GatewayError):
    status_code = 410
    code = "media_expired"


class Conflict(GatewayError):
    status_code = 409
    code = "conflict"


class ConversationResolved(Conflict):
    """Known without asking the platform; the same code as the platform's 95013 (ConversationEnded)."""

    code = "conversation_ended"


class IdempotencyKeyBusy(Conflict):
    code = "idempotency_key_busy"
    retry_after = 1


class ReplyNotAllowed(Conflict):
    """The platform would refuse this send; `reason` says why (see gateway.outbound.policy)."""

    code = "reply_not_allowed"

    def __init__(self, reason: str, message: str = "", **extra: Any) -> None:
        super().__init__(message or f"reply not allowed: {reason}", reason=reason, **extra)
        self.reason = reason


class MediaPending(Conflict):
    code = "media_pending"


class MediaFailed(Conflict):
    code = "media_failed"


class VariantFailed(Conflict):
    code = "variant_failed"


class InvalidRequest(GatewayError):
    status_code = 422
    code = "validation_error"

    def __init__(self, message: str = "", *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message, field=field, **extra)
        self.field = field


class AgentNotServicer(InvalidRequest):
    """Known from the directory without asking; the same code as the platform's 95014 (NotAServicer)."""

    code = "agent_not_servicer"


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
    retry_after = 1


class Overloaded(GatewayError):
    status_code = 503
    code = "overloaded"
    retry_after = 1


class TooManyStreams(GatewayError):
    status_code = 429
    code = "too_many_streams"
    retry_after = 5


class PayloadTooLarge(GatewayError):
    status_code = 413
    code = "payload_too_large"


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
# One class per meaning; which errcode means what is the registry in gateway/wechat/errcodes.py.


class PlatformError(GatewayError):
    """The platform answered `errcode != 0` (or could not be reached: TransportError).

    `transient`: the same call may succeed later (the job runner retries it, the API answers with
    `Retry-After: retry_after`). Every transient class has a `retry_after`, every other has none.
    `meaning` is the registry's explanation of the errcode: what the caller should change.
    """

    status_code = 502
    code = "platform_error"
    transient: ClassVar[bool] = False  # safe to retry later (with the same msgid for sends)
    # Set by an adapter whose refused call had already changed the session (an MP move closes the
    # first kf's session before the refused create): the session as the platform now has it.
    session_after: StateChange | None = None

    def __init__(self, errcode: int | None, errmsg: str = "", *, path: str | None = None, meaning: str = "") -> None:
        if errcode is None:
            text = meaning or errmsg
        else:
            text = f"{meaning} (errcode {errcode})" if meaning else f"errcode {errcode}: {errmsg}"
        super().__init__(text, errcode=errcode, errmsg=errmsg or None, path=path)
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class TransportError(PlatformError):
    """Network failure, timeout or HTTP 5xx (errcode None): nothing says the platform refused."""

    code = "platform_unreachable"
    transient = True
    retry_after = 5

    def __init__(self, errmsg: str, *, path: str | None = None, status: int | None = None) -> None:
        super().__init__(None, errmsg, path=path, meaning=f"the platform could not be reached ({errmsg}); retry later")
        self.http_status = status


class SystemBusy(PlatformError):
    status_code = 503
    code = "platform_busy"
    transient = True
    retry_after = 5


class RateLimited(PlatformError):
    status_code = 503
    code = "platform_rate_limited"
    transient = True
    retry_after = 60  # WeCom blocks for one window (a minute at least)


class ChannelMisconfigured(PlatformError):
    """The channel's credentials or platform settings are wrong: an admin must fix the channel."""

    status_code = 424
    code = "channel_misconfigured"


class TokenError(ChannelMisconfigured):
    """40001 / 40014 / 42001 still refused after the one token refresh (wechat/http.py)."""


class InvalidArgument(PlatformError):
    """The platform refused a value the caller gave; subclasses name which."""

    status_code = 422
    code = "platform_invalid_argument"


class InvalidMedia(InvalidArgument):
    code = "invalid_media"


class NotAServicer(InvalidArgument):
    code = "agent_not_servicer"


class UpgradeTargetNotConfigured(InvalidArgument):
    code = "upgrade_target_not_configured"


class InvalidWechatId(InvalidArgument):
    code = "invalid_wechat_id"


class PlatformNotFound(InvalidArgument):
    """The platform no longer knows the kf account / open_kfid the gateway has on record."""

    status_code = 404
    code = "platform_not_found"


class PlatformConflict(PlatformError):
    """The platform's current state refuses the request; retrying the same call will not help."""

    status_code = 409
    code = "platform_conflict"


class ReplyWindowClosed(PlatformConflict):
    code = "window_closed"


class ReplyQuotaExhausted(PlatformConflict):
    code = "quota_exhausted"


class SessionStateForbids(PlatformConflict):
    code = "state_forbids_api"


class StateTransitionRefused(PlatformConflict):
    code = "state_transition_refused"


class ConversationEnded(PlatformConflict):
    code = "conversation_ended"


class AgentUnavailable(PlatformConflict):
    code = "agent_unavailable"


class ServedByAnotherAgent(PlatformConflict):
    code = "served_by_another_agent"


class NoPlatformSession(PlatformConflict):
    code = "no_platform_session"


class TypingRefused(PlatformConflict):
    code = "typing_not_allowed"


class InvalidCode(PlatformConflict):
    code = "invalid_event_code"


class AlreadyExists(PlatformConflict):
    code = "already_exists"


class InvitationConflict(PlatformConflict):
    code = "invitation_conflict"


class LimitReached(PlatformConflict):
    code = "platform_limit_reached"


class ContactUnreachable(PlatformConflict):
    code = "contact_unreachable"


class PlatformForbids(PlatformConflict):
    """The account's platform settings forbid this (banned account, component settings, …)."""

    code = "platform_forbids"
