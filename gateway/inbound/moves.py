"""MP session moves made by the gateway, and the platform's callbacks that race them.

MP moves a user between kf accounts only by closing the session and creating a new one
(gateway.channels.mp handover). The platform pushes a kf_close_session and a kf_create_session for
that, and may still be delivering session events from before the move (a kf took the user in their
own client a moment earlier). Applied as they arrive, those callbacks would end the conversation
(the move's close) or give it back to the old kf (an older create). The conversation's
`platform_state` carries a mark through the move so ingest can tell them apart:

- REASSIGNING: the move is under way. Session events from callbacks are the move's own or older
  than it: ignored (a close turns the mark into MOVE_CLOSED, so a refusal knows it was seen).
- MOVED: the move succeeded. Events about another kf are older than the move: ignored. The first
  event about the new holder is the platform catching up and ends the mark; so does a state read.
- MOVE_REFUSED: the platform refused the new kf and gave the user back to the first: the move's
  close is still on its way and is ignored once.

A mark whose callbacks never arrive (the platform drops pushes after its retries) is cleared by the
next state read of the conversation (gateway.inbound.sessions).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Agent, Conversation
from gateway.domain import StateChange

MP_CLOSE = "kf_close_session"
MP_SESSION_EVENTS = frozenset({"kf_create_session", "kf_switch_session", MP_CLOSE})
HELD = "kfsession"  # what getsession says: a kf holds the user
REASSIGNING = "reassigning"
MOVE_CLOSED = "reassigning_closed"
MOVED = "moved"
MOVE_REFUSED = "move_refused"


async def stale_session_event(
    session: AsyncSession, channel_id: int, conversation: Conversation, change: StateChange
) -> bool:
    """True when this MP session event from a callback must not change the conversation (see the
    module docstring); consumes the marks it settles."""
    if change.platform_state not in MP_SESSION_EVENTS:
        return False
    closing = change.platform_state == MP_CLOSE
    mark = conversation.platform_state
    if mark in (REASSIGNING, MOVE_CLOSED):
        if closing:
            conversation.platform_state = MOVE_CLOSED
        return True
    if mark == MOVE_REFUSED and closing:
        conversation.platform_state = HELD  # the first kf has the user back
        return True
    holder = await _holder(session, channel_id, conversation)
    about_holder = bool(change.assignee_source_id) and change.assignee_source_id == holder
    if mark == MOVED:
        return not about_holder
    # a close by a kf that no longer holds the user is older than whatever moved it
    return closing and holder is not None and bool(change.assignee_source_id) and not about_holder


async def _holder(session: AsyncSession, channel_id: int, conversation: Conversation) -> str | None:
    if conversation.assignee_id is None:
        return None
    agent = await session.get(Agent, conversation.assignee_id)
    return agent.source_id if agent is not None and agent.channel_id == channel_id else None
