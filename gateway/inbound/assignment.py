"""Assigning on the platform without lying about who holds the session (POST …/assign calls these).

WeCom moves a held session (state 3) only to another servicer (3 → 3) or to its end (4); MP moves a
user between kf accounts only by closing the session and creating a new one (kfsession/create for a
user another kf serves answers 65414), which the MP adapter does. Neither platform can hand a held
session back to nobody, so un-assigning it answers 409 `platform_holds_session` instead of clearing
the assignee in our rows only (docs/platforms.md §2.3, §4.3).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import Channel, ConversationRef
from gateway.db.engine import Database
from gateway.db.models import Agent, Conversation
from gateway.db.repositories import session_state
from gateway.domain import ChannelKind, ConversationStatus, StateChange
from gateway.errors import Conflict
from gateway.inbound.ingest import REASSIGNING


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
    db: Database, channel: Channel, conversation_id: int, ref: ConversationRef, agent_source_id: str
) -> StateChange:
    """Hand the conversation to a servicer / kf account. For an MP session another kf holds, the
    conversation is marked `reassigning` while the adapter closes and re-creates the session, so the
    kf_close_session that causes does not end the conversation; a refused move restores the mark."""
    moving = (
        channel.kind == ChannelKind.MP
        and ref.assignee_source_id is not None
        and ref.assignee_source_id != agent_source_id
    )
    before: str | None = None
    if moving:
        async with db.session() as session:
            conversation = await session_state.lock_live(session, conversation_id)
            if conversation is not None:
                before, conversation.platform_state = conversation.platform_state, REASSIGNING
    try:
        return await channel.handover(ref, "agent", agent_source_id)
    except BaseException:
        if moving:
            async with db.session() as session:
                conversation = await session_state.lock_live(session, conversation_id)
                if conversation is not None and conversation.platform_state == REASSIGNING:
                    conversation.platform_state = before
        raise
