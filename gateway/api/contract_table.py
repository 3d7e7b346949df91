"""The tables gateway.api.contract finishes the OpenAPI document with: error answers, enums, examples.

`Answer` is one documented error: an HTTP status, a stable code and a line on what to do. Most are
built from the exception classes (`Answer.of`), so the status and code cannot drift from what
gateway.api.errors sends. `RAISES` names, per operation id, what a handler raises beyond the rules
of gateway.api.contract; tests/api/test_openapi.py reads the handlers' code and fails when a raise
is missing here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.api.channels import SecretReentryRequired
from gateway.api.listing import OperatorRequired
from gateway.api.signin import InvalidCredentials, TooManyAttempts
from gateway.channels.config import ApiBaseNotAllowed
from gateway.channels.send_specs import ALIASES, SPECS
from gateway.cutover.planfile import PlanError
from gateway.db.passwords import WeakPassword
from gateway.db.repositories.canned import ShortCodeTaken
from gateway.db.repositories.directory import DELETED
from gateway.db.repositories.labels import LabelExists, UnknownLabel
from gateway.db.repositories.notes import InvalidNote, NoteTooLong
from gateway.db.repositories.operators import AgentLinked, EmailTaken, LastAdmin
from gateway.db.repositories.reading import MessageNotInConversation, UnknownOperator
from gateway.db.repositories.reopen import ConversationNotResolved, ConversationSuperseded
from gateway.domain import (
    MEDIA_CONTENT_TYPES,
    AgentStatus,
    ChannelKind,
    ContentType,
    ConversationStatus,
    MessageStatus,
    MessageType,
    SenderType,
)
from gateway.errors import (
    AgentNotServicer,
    CallbackError,
    ChannelNotFound,
    Conflict,
    ConversationResolved,
    Forbidden,
    GatewayError,
    IdempotencyKeyBusy,
    IdempotencyKeyReused,
    InvalidRequest,
    MediaExpired,
    MediaFailed,
    MediaNotFound,
    MediaPending,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PlatformError,
    ReplyNotAllowed,
    TooManyStreams,
    Unauthorized,
    UnsupportedByChannel,
    VariantFailed,
)
from gateway.inbound.assignment import PlatformHoldsSession
from gateway.inbound.codes import EventCodeExpired
from gateway.outbound.netguard import WebhookTargetForbidden, WebhookTargetUnresolvable, WebhookUrlInsecure


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    code: str
    summary: str
    retry: bool = False  # sent with Retry-After

    @classmethod
    def of(cls, error: type[GatewayError], summary: str = "", *, retry: bool = False) -> Answer:
        doc = (error.__doc__ or "").strip().split("\n")[0].rstrip(".") if error.__doc__ else ""
        text = summary or NOTES.get(error.code) or doc or error.code.replace("_", " ")
        return cls(error.status_code, error.code, text, retry or error.retry_after is not None)

    def example(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.summary}


NOTES = {  # what a code means, where the class's docstring does not say it in a line
    "not_found": "no such id",
    "idempotency_key_busy": "the first request with this Idempotency-Key still runs: retry after Retry-After",
    "idempotency_key_reused": "this Idempotency-Key came with a different request",
    "reply_not_allowed": "the platform would refuse this reply now; `reason` says why (window_closed, ...)",
    "unsupported_by_channel": "this channel's platform has no such operation",
    "conversation_ended": "the conversation has ended: nothing more can be done on it",
    "too_many_streams": "this API key or operator holds as many event streams as it may; close one",
    "too_many_attempts": "too many failed sign-ins for this email or address: wait Retry-After seconds",
    "invalid_credentials": "unknown email, wrong password or inactive operator (the same answer for each)",
    "conflict": "the request conflicts with the current state (the message says which)",
    "media_not_found": "no such media, no such variant of it, or no copy kept",
    "media_pending": "the vault has not downloaded the file yet: retry later",
    "media_failed": "the platform would not give the file",
    "variant_failed": "no playable or thumbnail form could be made; the original is there",
    "media_expired": "the file left the platform before the gateway fetched it",
    "platform_error": "the platform refused with an errcode the gateway does not know (errcode, errmsg)",
    "channel_not_found": "no such channel (or it is disabled)",
}


def _subclasses(base: type[GatewayError]) -> Iterator[type[GatewayError]]:
    yield base
    for sub in base.__subclasses__():
        yield from _subclasses(sub)


AUTH = (
    Answer.of(Unauthorized, "no API key or session, a revoked key or an ended session (WWW-Authenticate: Bearer)"),
    Answer.of(Forbidden, "the API key's or operator's scope (read < write < admin) or role does not allow this"),
)
CSRF = Answer(403, "csrf_failed", "a write with the session cookie but without the session's X-CSRF-Token")
SHED = Answer.of(Overloaded, "the gateway sheds load (requests in flight, or no database connection free)")
NOT_FOUND = Answer.of(NotFound, "no such id")
INVALID = Answer.of(InvalidRequest, "a parameter or body field is missing, malformed or out of bounds (`field`)")
TOO_LARGE = Answer.of(PayloadTooLarge, "the body is larger than the gateway takes (nothing was written)")
BAD_BODY = Answer(400, "bad_request", "the body is not valid JSON (or not a readable form)")
INTERNAL = Answer(500, "internal_error", "a bug: logged with the request id, nothing half-written")
# every answer of a call that reaches a platform (docs/errors.md): the classes of gateway.errors
PLATFORM = tuple(Answer.of(error) for error in _subclasses(PlatformError))
CALLBACK = tuple(Answer.of(error) for error in _subclasses(CallbackError) if error is not CallbackError)
WEBHOOK_TARGET = (WebhookUrlInsecure, WebhookTargetForbidden, WebhookTargetUnresolvable)

_Raised = type[GatewayError] | Answer
RAISES: Mapping[str, tuple[_Raised, ...]] = {
    "callbackGet": (ChannelNotFound, *CALLBACK),
    "callbackPost": (ChannelNotFound, PayloadTooLarge, *CALLBACK),
    "signIn": (InvalidCredentials, Answer.of(TooManyAttempts, retry=True), NotFound),
    "me": (NotFound,),
    "createOperator": (EmailTaken, WeakPassword),
    "updateOperator": (WeakPassword, LastAdmin),
    "linkAgent": (AgentLinked,),
    "createChannel": (ApiBaseNotAllowed, *CALLBACK),
    "updateChannel": (ApiBaseNotAllowed, SecretReentryRequired, Conflict, *CALLBACK),
    "verifyChannel": (Conflict,),
    "addServicers": (UnsupportedByChannel,),
    "createContactWay": (UnsupportedByChannel,),
    "createInbox": (UnsupportedByChannel,),
    "renameInbox": (UnsupportedByChannel,),
    "deleteInbox": (UnsupportedByChannel,),
    "removeServicer": (UnsupportedByChannel, InvalidRequest),
    "createAgent": (UnsupportedByChannel,),
    "updateAgent": (UnsupportedByChannel,),
    "deleteAgent": (UnsupportedByChannel, InvalidRequest),
    "inviteAgent": (UnsupportedByChannel,),
    "updateContact": (Conflict,),
    "getConversation": (UnknownOperator,),
    "listConversations": (OperatorRequired, UnknownLabel, UnknownOperator),
    "unreadTotal": (OperatorRequired, UnknownLabel, UnknownOperator),
    "markRead": (OperatorRequired, UnknownOperator, MessageNotInConversation),
    "createWebhook": WEBHOOK_TARGET,
    "updateWebhook": WEBHOOK_TARGET,
    "redeliver": (Conflict,),
    "stream": (TooManyStreams,),
    "assign": (ConversationResolved, AgentNotServicer, PlatformHoldsSession),
    "handover": (ConversationResolved,),
    "resolve": (ConversationResolved, InvalidRequest),
    "eventReply": (Conflict, EventCodeExpired, UnsupportedByChannel),
    "typing": (UnsupportedByChannel,),
    "upgradeService": (UnsupportedByChannel,),
    "send": (IdempotencyKeyBusy, IdempotencyKeyReused, ReplyNotAllowed, UnsupportedByChannel),
    "sendWithUpload": (
        IdempotencyKeyBusy,
        IdempotencyKeyReused,
        ReplyNotAllowed,
        UnsupportedByChannel,
        InvalidRequest,
        PayloadTooLarge,
    ),
    "uploadMedia": (InvalidRequest, PayloadTooLarge),
    "createLabel": (LabelExists,),
    "updateLabel": (LabelExists,),
    "addConversationLabels": (UnknownLabel,),
    "removeConversationLabel": (UnknownLabel,),
    "addContactLabels": (UnknownLabel, Conflict),
    "removeContactLabel": (UnknownLabel, Conflict),
    "createCanned": (ShortCodeTaken,),
    "updateCanned": (ShortCodeTaken,),
    "createNote": (InvalidNote, NoteTooLong),
    "reopenConversation": (ConversationNotResolved, ConversationSuperseded, InvalidRequest),
    "migrationReport": (PlanError, NotFound),
    "getMediaFile": (
        MediaNotFound,
        MediaPending,
        MediaFailed,
        VariantFailed,
        MediaExpired,
        Answer(416, "range_not_satisfiable", "the Range lies outside the file (Content-Range: bytes */size)"),
    ),
}


def raises(op_id: str) -> list[Answer]:
    return [item if isinstance(item, Answer) else Answer.of(item) for item in RAISES.get(op_id, ())]


IDEMPOTENT = frozenset({"send", "sendWithUpload"})  # the handlers that read Idempotency-Key (sending.py)

_SEND_TYPES = sorted({*ALIASES, *(name for specs in SPECS.values() for name in specs)})
_CONVERSATION = [s.value for s in ConversationStatus]
ENUMS: Mapping[tuple[str, str], list[str]] = {
    ("ConversationOut", "status"): _CONVERSATION,
    ("ActionResult", "status"): _CONVERSATION,
    ("Reopened", "status"): _CONVERSATION,
    ("AgentOut", "status"): [*(s.value for s in AgentStatus), DELETED],
    ("AgentSummary", "status"): [*(s.value for s in AgentStatus), DELETED],
    ("ChannelOut", "kind"): [k.value for k in ChannelKind],
    ("MessageOut", "message_type"): [t.value for t in MessageType],
    ("LastMessageOut", "message_type"): [t.value for t in MessageType],
    ("MessageOut", "sender_type"): [t.value for t in SenderType],
    ("MessageOut", "content_type"): [t.value for t in ContentType],
    ("LastMessageOut", "content_type"): [t.value for t in ContentType],
    ("MessageOut", "status"): [s.value for s in MessageStatus],
    ("AttachmentOut", "kind"): sorted(t.value for t in MEDIA_CONTENT_TYPES),
    ("AttachmentOut", "status"): ["pending", "stored", "failed", "expired", "unavailable"],
    ("SendMessage", "content_type"): _SEND_TYPES,
}

EXAMPLES: Mapping[str, dict[str, Any]] = {
    "send": {
        "text": {"summary": "a text reply", "value": {"content_type": "text", "content": "您好，请问有什么可以帮您？"}},
        "image": {"summary": "an image uploaded first", "value": {"content_type": "image", "media_id": "MEDIA_ID"}},
        "link": {
            "summary": "a link card (WeCom)",
            "value": {
                "content_type": "link",
                "title": "Order 1024",
                "description": "Tap to track the parcel",
                "url": "https://shop.example.com/orders/1024",
                "thumb_media_id": "MEDIA_ID",
            },
        },
    },
    "assign": {
        "agent": {"summary": "to a platform agent", "value": {"agent_id": 7}},
        "operator": {"summary": "to a signed-in operator", "value": {"operator_id": 3}},
        "unassign": {"summary": "back to the queue", "value": {"agent_id": None}},
    },
    "signIn": {"operator": {"value": {"email": "alice@example.com", "password": "correct horse battery"}}},
    "createNote": {"note": {"value": {"content": "Called back; waiting for the invoice."}}},
}
