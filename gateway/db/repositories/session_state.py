"""Queries behind session truth (gateway.inbound.sessions): what a platform session-state read
needs, the conversations whose state is unknown, and the MP wait queue's live conversations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Agent, ContactIdentity, Conversation, Inbox, Job

# platform_state of a conversation reopened by the gateway alone (POST …/reopen where the platform has
# no API for it): the platform holds no session until the customer writes again, so a read of WeCom
# state 4 leaves it open, and the customer's next message queues a fresh read (gateway.inbound.sessions)
REOPENED = "reopened"


class StateTarget(NamedTuple):
    """What a platform session-state read needs about a live conversation."""

    inbox_source_id: str
    contact_source_id: str
    assignee_id: int | None
    assignee_source_id: str | None
    assignee_is_platform: bool  # a servicer / kf account, not a gateway agent


async def state_target(session: AsyncSession, conversation_id: int) -> StateTarget | None:
    """The platform keys of a live conversation (None when it is resolved or gone)."""
    row = (
        await session.execute(
            select(
                Inbox.source_id, ContactIdentity.source_id, Conversation.assignee_id, Agent.source_id, Agent.channel_id
            )
            .select_from(Conversation)
            .join(Inbox, Inbox.id == Conversation.inbox_id)
            .join(ContactIdentity, ContactIdentity.id == Conversation.identity_id)
            .outerjoin(Agent, Agent.id == Conversation.assignee_id)
            .where(Conversation.id == conversation_id, Conversation.active_key.is_not(None))
        )
    ).first()
    if row is None:
        return None
    return StateTarget(row[0], row[1], row[2], row[3], row[4] is not None)


async def lock_live(session: AsyncSession, conversation_id: int) -> Conversation | None:
    """The conversation, re-read and row-locked (FOR NO KEY UPDATE on PostgreSQL), if still live."""
    conversation = await session.get(
        Conversation, conversation_id, with_for_update={"key_share": True}, populate_existing=True
    )
    return conversation if conversation is not None and conversation.active_key is not None else None


async def stamp_state_checked(session: AsyncSession, conversation_id: int, at: datetime) -> None:
    await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(state_checked_at=at))


async def unknown_states(session: AsyncSession, conversation_ids: Iterable[int]) -> list[int]:
    """Of these conversations, those whose platform state was never read or is unknown / ended
    ("4": the next customer message starts a session the platform may give to a servicer), or
    reopened by the gateway alone (`REOPENED`)."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return []
    query = select(Conversation.id).where(
        Conversation.id.in_(ids),
        Conversation.active_key.is_not(None),
        (Conversation.state_checked_at.is_(None))
        | (Conversation.platform_state.is_(None))
        | (Conversation.platform_state.in_(("4", REOPENED))),
    )
    return list(await session.scalars(query))


async def job_waiting(session: AsyncSession, kind: str, channel_id: int) -> bool:
    """Whether a job of `kind` for this channel is queued and not yet claimed (coalescing reads)."""
    query = select(Job.id).where(Job.kind == kind, Job.channel_id == channel_id, Job.status == "pending").limit(1)
    return (await session.scalar(query)) is not None


async def live_states(
    session: AsyncSession, inbox_id: int, source_ids: Iterable[str]
) -> dict[str, tuple[str, str | None]]:
    """contact source id → (status, platform_state) of the inbox's live conversations that are
    `queued` or whose contact is one of `source_ids`."""
    ids = sorted(set(source_ids))
    query = (
        select(ContactIdentity.source_id, Conversation.status, Conversation.platform_state)
        .join(ContactIdentity, ContactIdentity.id == Conversation.identity_id)
        .where(Conversation.inbox_id == inbox_id, Conversation.active_key.is_not(None))
    )
    wanted = Conversation.status == "queued"
    if ids:
        wanted = wanted | ContactIdentity.source_id.in_(ids)
    return {source: (status, state) for source, status, state in await session.execute(query.where(wanted))}
