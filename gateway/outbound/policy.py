"""Reply policy for both platforms: will the platform accept a send now? Decided from the rows alone.

WeCom kf (docs/platforms.md §2.5): only while the session is in state 0 or 1 (95018), within 48 h of the
customer's last message (95002; 95031 when they never wrote), at most 5 sends per customer
message (95001).
MP kefu (docs/platforms.md §4.2): a user message opens a 48 h grant of 5 messages; a menu click, subscribe
or scan opens a 1 min grant of 3, spent first because it lapses first; nothing open → 45015,
everything open used up → 45047.
`record_reply` moves the same counters when a send goes out, in the order the platform spends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.db.models import Conversation
from gateway.domain import ChannelKind
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
    # when allowed: when the last open grant lapses, and how many sends remain across open grants
    # (after the ones already queued) — what an inbox shows before an agent types
    window_closes_at: datetime | None = None
    replies_left: int | None = None

    def __bool__(self) -> bool:
        return self.allowed


def can_reply(conversation: Conversation, kind: str, now: datetime, *, pending: int = 0) -> Decision:
    """Allowed, or the reason the platform would refuse (window_closed, quota_exhausted, ...).

    `pending` counts replies already queued but not yet sent: they will spend the allowance first.

    A resolved MP conversation may still be answered while the user's grant is open (the platform
    allows it); a resolved WeCom conversation is in state 4, where the API may not send.
    """
    if kind == ChannelKind.WECOM:
        return _wecom(conversation, now, pending)
    return _mp(conversation, now, pending)


def _wecom(conversation: Conversation, now: datetime, pending: int = 0) -> Decision:
    state = conversation.platform_state
    if state not in WECOM_SENDABLE_STATES or (state is None and conversation.status == "resolved"):
        return Decision(
            False, STATE_FORBIDS_API, detail=f"session state {conversation.platform_state}: a servicer holds it (95018)"
        )
    last = conversation.last_incoming_at
    if last is None:
        return Decision(False, WINDOW_CLOSED, detail="the customer has not written in the last 48 h (95031)")
    if now - last > REPLY_WINDOW:
        return Decision(False, WINDOW_CLOSED, detail="more than 48 h since the customer's last message (95002)")
    left = WECOM_SENDS_PER_MESSAGE - conversation.replies_since_incoming - pending
    if left <= 0:
        return Decision(False, QUOTA_EXHAUSTED, detail="5 messages per customer message (95001)")
    return Decision(True, grant="message", window_closes_at=last + REPLY_WINDOW, replies_left=left)


def _mp(conversation: Conversation, now: datetime, pending: int = 0) -> Decision:
    grants: list[tuple[str, datetime, int]] = []  # open grants, the one spent first first
    if conversation.last_event_at is not None and now - conversation.last_event_at < EVENT_WINDOW:
        left = max(MP_EVENT_QUOTA - conversation.replies_since_event, 0)
        grants.append(("event", conversation.last_event_at + EVENT_WINDOW, left))
    if conversation.last_incoming_at is not None and now - conversation.last_incoming_at < REPLY_WINDOW:
        left = max(MP_MESSAGE_QUOTA - conversation.replies_since_incoming, 0)
        grants.append(("message", conversation.last_incoming_at + REPLY_WINDOW, left))
    remaining = pending
    for grant, _, left in grants:
        if remaining < left:
            total = sum(g[2] for g in grants) - pending
            closes = max(g[1] for g in grants if g[2] > 0)
            return Decision(True, grant=grant, window_closes_at=closes, replies_left=total)
        remaining -= left
    if grants:
        return Decision(False, QUOTA_EXHAUSTED, detail="reply quota for this window is used up (45047)")
    if conversation.last_incoming_at is None and conversation.last_event_at is None:
        return Decision(False, WINDOW_CLOSED, detail="the user has never written or clicked (45015)")
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
