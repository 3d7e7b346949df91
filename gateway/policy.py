"""Reply policy for both platforms: will the platform accept a send now? Decided from the rows alone.

WeCom kf (API.md §2.5): only while the session is in state 0 or 1 (95018), within 48 h of the
customer's last message (95002; 95031 when they never wrote), at most 5 sends per customer
message (95001).
MP kefu (API.md §4.2): a user message opens a 48 h grant of 5 messages; a menu click, subscribe
or scan opens a 1 min grant of 3, spent first because it lapses first; nothing open → 45015,
everything open used up → 45047.
`record_reply` moves the same counters when a send goes out, in the order the platform spends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.db.models import Conversation
from gateway.errors import (
    PlatformError,
    ReplyQuotaExhausted,
    ReplyWindowClosed,
    SessionStateForbids,
)

REPLY_WINDOW = timedelta(hours=48)
EVENT_WINDOW = timedelta(minutes=1)
WECOM_SENDS_PER_MESSAGE = 5
MP_MESSAGE_QUOTA = 5
MP_EVENT_QUOTA = 3
WECOM_SENDABLE_STATES = {None, "0", "1"}  # None: we have not learnt the state; the platform decides

WINDOW_CLOSED = "window_closed"
QUOTA_EXHAUSTED = "quota_exhausted"
STATE_FORBIDS_API = "state_forbids_api"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str | None = None
    grant: str | None = None  # "message" | "event": which allowance the send will spend
    detail: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def can_reply(conversation: Conversation, kind: str, now: datetime, *, pending: int = 0) -> Decision:
    """Allowed, or the reason the platform would refuse (window_closed, quota_exhausted, ...).

    `pending` counts replies already queued but not yet sent: they will spend the allowance first.

    A resolved MP conversation may still be answered while the user's grant is open (the platform
    allows it); a resolved WeCom conversation is in state 4, where the API may not send.
    """
    if kind == "wecom":
        return _wecom(conversation, now, pending)
    return _mp(conversation, now, pending)


def _wecom(conversation: Conversation, now: datetime, pending: int = 0) -> Decision:
    state = conversation.platform_state
    if state not in WECOM_SENDABLE_STATES or (state is None and conversation.status == "resolved"):
        return Decision(
            False, STATE_FORBIDS_API, detail=f"session state {conversation.platform_state}: a servicer holds it (95018)"
        )
    last = conversation.last_incoming_at
    if last is None or now - last > REPLY_WINDOW:
        return Decision(False, WINDOW_CLOSED, detail="more than 48 h since the customer's last message (95002)")
    if conversation.replies_since_incoming + pending >= WECOM_SENDS_PER_MESSAGE:
        return Decision(False, QUOTA_EXHAUSTED, detail="5 messages per customer message (95001)")
    return Decision(True, grant="message")


def _mp(conversation: Conversation, now: datetime, pending: int = 0) -> Decision:
    opened = False
    if conversation.last_event_at is not None and now - conversation.last_event_at < EVENT_WINDOW:
        opened = True
        left = MP_EVENT_QUOTA - conversation.replies_since_event
        if pending < left:
            return Decision(True, grant="event")
        pending -= max(left, 0)
    if conversation.last_incoming_at is not None and now - conversation.last_incoming_at < REPLY_WINDOW:
        opened = True
        if conversation.replies_since_incoming + pending < MP_MESSAGE_QUOTA:
            return Decision(True, grant="message")
    if opened:
        return Decision(False, QUOTA_EXHAUSTED, detail="reply quota for this window is used up (45047)")
    return Decision(False, WINDOW_CLOSED, detail="no user interaction within the reply window (45015)")


def record_reply(conversation: Conversation, kind: str, now: datetime) -> None:
    """Spend one reply of the allowance `can_reply` would grant now."""
    decision = can_reply(conversation, kind, now)
    if decision.grant == "event":
        conversation.replies_since_event += 1
    else:
        conversation.replies_since_incoming += 1


def reason_for(exc: PlatformError) -> str | None:
    """Map the platform's own refusal (45015/45047/95001/95002/95018/95031) to the policy reason."""
    if isinstance(exc, ReplyWindowClosed):
        return WINDOW_CLOSED
    if isinstance(exc, ReplyQuotaExhausted):
        return QUOTA_EXHAUSTED
    if isinstance(exc, SessionStateForbids):
        return STATE_FORBIDS_API
    return None
