"""Assigning on the platform without lying about who holds the session (POST …/assign calls these).

WeCom moves a held session (state 3) only to another servicer (3 → 3) or to its end (4); MP moves a
user between kf accounts only by closing the session and creating a new one (kfsession/create for a
user another kf serves answers 65414), which the MP adapter does. Neither platform can hand a held
session back to nobody, so un-assigning it answers 409 `platform_holds_session` instead of clearing
the assignee in our rows only (docs/platforms.md §2.3, §4.3).
"""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import Channel, ConversationRef
from gateway.db.engine import Database
from gateway.db.models import Agent, Conversation
from gateway.db.repositories import session_state
from gateway.domain import Batch, ChannelKind, ConversationStatus, StateChange
from gateway.errors import Conflict, PlatformError
from gateway.inbound.ingest import ingest
from gateway.inbound.moves import MOVE_CLOSED, MOVE_REFUSED, MOVED, REASSIGNING


class PlatformHoldsSession(Conflict):
    """Un-assigning would leave the platform session with its servicer / kf (no API gives it back)."""

    code = "platform_holds_session"


async def refuse_platform_unassign(session: AsyncSession, conversation: Conversation, agent: Agent | None) -> None:
    """409 when a servicer / kf account holds the live conversation on its platform and the request
    would put it with nobody or with a gateway agent: the platform session would stay where it is."""
    if conversation.assignee_id is None or conversation.status != ConversationStatus.OPEN:
        return
    holder = await session.get(Agent, conversation.assignee_id)
    if holder is None or holder.channel_id is None:
        return
    target = "nobody" if agent is None else f"gateway agent {agent.id}"
    raise PlatformHoldsSession(
        f"{holder.source_id} holds this session on the platform, which has no API to give it to {target}: "
        "assign another servicer / kf account, or resolve the conversation",
        holder=holder.source_id,
    )


async def assign_on_platform(
    db: Database, channel: Channel, channel_id: int, conversation_id: int, ref: ConversationRef, agent_source_id: str
) -> StateChange:
    """Hand the conversation to a servicer / kf account. On MP the conversation carries a mark through
    the move (gateway.inbound.moves), so the callbacks the move causes, and older ones still on their
    way, do not end it or give it back to the old kf. Another kf may hold the user without the
    gateway knowing yet, so every MP handover to a new kf is marked."""
    moving = channel.kind == ChannelKind.MP and ref.assignee_source_id != agent_source_id
    before: str | None = None
    if moving:
        async with db.session() as session:
            conversation = await session_state.lock_live(session, conversation_id)
            if conversation is not None:
                before, conversation.platform_state = conversation.platform_state, REASSIGNING
    try:
        change = await channel.handover(ref, "agent", agent_source_id)
    except BaseException as exc:
        if moving:
            after = exc.session_after if isinstance(exc, PlatformError) else None
            await _after_refused_move(db, channel_id, conversation_id, before, after)
        raise
    return msgspec.structs.replace(change, platform_state=MOVED) if moving else change


async def _after_refused_move(
    db: Database, channel_id: int, conversation_id: int, before: str | None, after: StateChange | None
) -> None:
    """Settle the mark after a refused (or failed) MP move.

    - The user went back to the first kf (`after` open): the platform pushes a kf_close_session for
      that kf (and a create, which it may drop as a repeat of the first within one second). If the
      close was ingested during the move, the mark is undone; if not, it becomes MOVE_REFUSED, which
      the close consumes. Undoing the mark here unconditionally raced with that callback: a close
      ingested after the undo ended the conversation of a user the first kf still serves.
    - The user is with nobody (`after` resolved: the give-back was refused too): the conversation
      ends now, whatever the order of this and the close callback.
    - Nothing changed on the platform (no `after`: the close itself failed): the mark is undone.
    """
    async with db.session() as session:
        conversation = await session_state.lock_live(session, conversation_id)
        if conversation is None:
            return
        given_back = after is not None and after.status == ConversationStatus.OPEN
        if conversation.platform_state == REASSIGNING:
            conversation.platform_state = MOVE_REFUSED if given_back else before
        elif conversation.platform_state == MOVE_CLOSED:
            conversation.platform_state = before
        if after is not None and after.status == ConversationStatus.RESOLVED:
            await session.flush()  # ingest re-reads the row: it must see the mark undone
            await ingest(session, Batch(channel_id=channel_id, state_changes=[after]))
