"""`POST /api/v1/conversations/{id}/assign`: to a platform agent, a gateway agent, an operator, or
nobody; and the one path every action takes to write the platform's answer (`apply_change`).

An operator with a platform agent linked on the conversation's channel is assigned through that
agent (WeCom servicer state 3, MP kfsession/create), so the platform follows; an operator without
one is assigned in the gateway only (`assigned_on_platform: false`). Assigning a platform agent sets
the operator linked to it (or none). Unassigning clears both. Every assignment emits
conversation.updated with the actor, and is in the audit trail.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, Struct, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actor import Actor
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.models import Agent, Conversation, Inbox
from gateway.db.people import Operator, OperatorAgent
from gateway.db.repositories import audit, directory
from gateway.db.repositories import operators as operator_repo
from gateway.domain import Batch, ConversationStatus
from gateway.errors import AgentNotServicer, ConversationResolved, InvalidRequest
from gateway.inbound.assignment import assign_on_platform, refuse_platform_unassign
from gateway.inbound.ingest import ingest
from gateway.inbound.updates import Attribution, announce, snapshot
from gateway.outbound import replies


class Assign(Struct, kw_only=True, forbid_unknown_fields=True):
    """Exactly one of: `agent_id` (a platform or gateway agent) or `operator_id` (a person); null unassigns."""

    agent_id: int | UnsetType | None = UNSET
    operator_id: int | UnsetType | None = UNSET


class ActionResult(Struct, kw_only=True):
    conversation_id: int
    status: str
    platform_state: str | None
    assignee_id: int | None
    operator_id: int | None = None
    # assign only: whether a platform agent now holds the session for this assignment (false: the
    # operator has no agent linked on this channel, so only the gateway records it)
    assigned_on_platform: bool | None = None


def result(conversation: Conversation, on_platform: bool | None = None) -> ActionResult:
    return ActionResult(
        conversation_id=conversation.id,
        status=conversation.status,
        platform_state=conversation.platform_state,
        assignee_id=conversation.assignee_id,
        operator_id=conversation.operator_id,
        assigned_on_platform=on_platform,
    )


async def apply_change(
    db: Database,
    channel_id: int,
    conversation_id: int,
    change: Any,
    by: Attribution,
    *,
    action: str,
    detail: dict[str, Any] | None = None,
    on_platform: bool | None = None,
) -> ActionResult:
    """Write the platform's new state through the one write path, with the audit entry of `action`
    in the same transaction, then answer with the conversation."""
    async with db.session() as session:
        await ingest(session, Batch(channel_id=channel_id, state_changes=[change]), by)
        await audit.record(
            session, by.actor, action, subject_type="conversation", subject_id=conversation_id, detail=detail
        )
    async with db.sessions() as session:
        conversation, *_ = await replies.load_context(session, conversation_id)
        return result(conversation, on_platform)


def refuse_if_resolved(conversation: Conversation) -> None:
    if conversation.status == ConversationStatus.RESOLVED:
        raise ConversationResolved(
            f"conversation {conversation.id} is resolved; the customer's next message opens a new one"
        )


async def check_assignable(session: AsyncSession, conversation: Conversation, inbox: Inbox, agent: Agent) -> None:
    """What the gateway's own tables already say about assigning `agent` (a platform account)."""
    refuse_if_resolved(conversation)
    if agent.status == directory.DELETED or await directory.serves(session, inbox, agent.id) is False:
        raise AgentNotServicer(
            f"agent {agent.id} ({agent.source_id}) does not serve inbox {inbox.id} as of the last directory "
            "read: add it (WeCom: POST /api/v1/inboxes/{id}/agents), pick another agent, or refresh the "
            "directory (POST /api/v1/agents/sync)",
            field="agent_id",
        )


def _target(data: Assign) -> tuple[str, int | None]:
    given = [(name, value) for name, value in (("agent_id", data.agent_id), ("operator_id", data.operator_id))]
    chosen = [(n, v) for n, v in given if not isinstance(v, UnsetType)]
    if len(chosen) != 1:
        raise InvalidRequest("give exactly one of agent_id or operator_id (null unassigns)", field="agent_id")
    name, value = chosen[0]
    return name, value if isinstance(value, int) else None


async def assign(db: Database, channels: ChannelPool, conversation_id: int, data: Assign, actor: Actor) -> ActionResult:
    field, target = _target(data)
    async with db.session() as session:
        conversation, inbox, channel_row, identity = await replies.load_context(session, conversation_id)
        agent: Agent | None = None
        operator_id: int | None = None
        if field == "operator_id" and target is not None:
            operator = await session.get(Operator, target)
            if operator is None or not operator.active:
                raise InvalidRequest(f"operator {target} not found or inactive", field="operator_id")
            operator_id = operator.id
            agent = await operator_repo.linked_agent(session, operator.id, channel_row.id)
            if agent is None:  # no platform agent of theirs here: the gateway records the person only
                await _record(session, conversation, actor, conversation.assignee_id, operator_id)
                return result(conversation, on_platform=False)
        elif field == "agent_id" and target is not None:
            agent = await session.get(Agent, target)
            if agent is None:
                raise InvalidRequest(f"agent {target} not found", field="agent_id")
            link = await session.get(OperatorAgent, agent.id)
            operator_id = link.operator_id if link is not None else None
        if agent is None or agent.channel_id is None:  # nobody, or a gateway agent: no platform call
            await refuse_platform_unassign(session, conversation, agent)
            await _record(session, conversation, actor, agent.id if agent else None, operator_id)
            return result(conversation, on_platform=False if agent else None)
        if agent.channel_id != channel_row.id:
            raise InvalidRequest("the agent belongs to another channel", field=field)
        await check_assignable(session, conversation, inbox, agent)
        ref = await replies.conversation_ref(session, conversation, inbox, identity)
    channel = await channels.get(channel_row.id)
    change = await assign_on_platform(db, channel, channel_row.id, conversation_id, ref, agent.source_id)
    by = Attribution(actor=actor.ref(), sets_operator=True, operator_id=operator_id)
    detail = {"agent_id": agent.id, "operator_id": operator_id, "on_platform": True}
    return await apply_change(
        db, channel_row.id, conversation_id, change, by, action="conversation.assigned", detail=detail, on_platform=True
    )


async def _record(
    session: AsyncSession, conversation: Conversation, actor: Actor, assignee_id: int | None, operator_id: int | None
) -> None:
    """A gateway-side assignment: the row, conversation.updated with the actor, the audit entry."""
    before = snapshot(conversation)
    conversation.assignee_id, conversation.operator_id = assignee_id, operator_id
    await announce(session, conversation, before, actor.ref())
    await audit.record(
        session,
        actor.ref(),
        "conversation.assigned" if assignee_id or operator_id else "conversation.unassigned",
        subject_type="conversation",
        subject_id=conversation.id,
        detail={"agent_id": assignee_id, "operator_id": operator_id, "on_platform": False},
    )
