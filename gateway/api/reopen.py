"""`POST /api/v1/conversations/{id}/reopen`: a resolved conversation becomes live again.

The gateway's rows change first (gateway.db.repositories.reopen: status `open`, active_key back,
`conversation.updated` with the actor), so whatever the platform pushes next finds this
conversation live instead of opening a new one. Then the platform, where it can:

* MP: `kfsession/create` for the kf account the conversation is assigned to, within 48 h of the
  user's last message (the window in which a kf may talk to them). Its answer goes through ingest's
  state-change path like any assignment.
* WeCom: no API reopens an ended session (`service_state/trans` from state 4 answers 95013; only a
  servicer writing from the WeCom client does), so the reopen is the gateway's alone.

When the platform is not reopened the answer says `platform_reopened: false` with a `reason`
(`platform_cannot_reopen`, `no_agent`, `window_closed`, or the platform's refusal code) and the
conversation's `platform_state` is `reopened`: the platform holds no session, and the customer's
next message, which starts one, lands in this conversation. A later resolve of such a conversation
needs no platform call (gateway.api.actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request, post

from gateway.api.actor import current_actor
from gateway.api.auth import SECURITY
from gateway.api.inbox_schemas import Reopened
from gateway.channels.base import ConversationRef
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.models import Agent, Channel, Conversation
from gateway.db.repositories import reopen as repo
from gateway.db.repositories.session_state import REOPENED
from gateway.db.types import utcnow
from gateway.domain import Batch, ChannelKind
from gateway.errors import PlatformError
from gateway.inbound.ingest import ingest
from gateway.outbound import replies

MP_SESSION_WINDOW = timedelta(hours=48)  # a kf may take a user who wrote within 48 h (docs/platforms.md §4.2)


@dataclass(slots=True)
class Plan:
    channel_id: int
    ref: ConversationRef
    kf_account: str | None  # MP: the kf to create the session for; None: gateway-side only
    reason: str | None
    detail: str


@post(
    "/api/v1/conversations/{conversation_id:int}/reopen",
    status_code=200,
    tags=["actions"],
    security=SECURITY,
)
async def reopen_conversation(
    request: Request[Any, Any, Any], conversation_id: int, db: Database, channels: ChannelPool
) -> Reopened:
    """Reopen a resolved conversation (409 conversation_not_resolved otherwise; 409
    conversation_superseded, naming it, when a newer conversation of the same contact and inbox
    exists). `platform_reopened` says whether the platform session was created again; when not,
    `reason` says why and the customer's next message lands in this conversation."""
    actor = current_actor(request)
    async with db.sessions() as session:
        conversation, inbox, channel_row, identity = await replies.load_context(session, conversation_id)
        await repo.check_reopenable(session, conversation)
        ref = await replies.conversation_ref(session, conversation, inbox, identity)
        plan = await _plan(session, conversation, channel_row, ref)
    async with db.session() as session:
        await repo.reopen(session, conversation_id, actor.ref(), platform_state=REOPENED)
    reopened, reason, detail = False, plan.reason, plan.detail
    if plan.kf_account is not None:
        try:
            change = await (await channels.get(plan.channel_id)).handover(plan.ref, "agent", plan.kf_account)
        except PlatformError as exc:  # the gateway-side reopen stands; the answer says what the platform said
            reason, detail = exc.code, f"the platform refused kfsession/create: {exc.message}"
        else:
            async with db.session() as session:
                await ingest(session, Batch(channel_id=plan.channel_id, state_changes=[change]))
            reopened, reason, detail = True, None, f"kfsession/create for {plan.kf_account}"
    async with db.sessions() as session:
        row = await session.get(Conversation, conversation_id, populate_existing=True)
        assert row is not None
        return Reopened(
            conversation_id=row.id,
            status=row.status,
            platform_state=row.platform_state,
            assignee_id=row.assignee_id,
            platform_reopened=reopened,
            reason=reason,
            detail=detail,
        )


async def _plan(session: Any, conversation: Conversation, channel: Channel, ref: ConversationRef) -> Plan:
    """What the platform allows for this conversation, from the gateway's rows (no platform call)."""
    if channel.kind != ChannelKind.MP:
        return Plan(
            channel.id,
            ref,
            None,
            "platform_cannot_reopen",
            "WeCom has no API to reopen an ended session (service_state/trans answers 95013): reopened in the "
            "gateway; the customer's next message starts a new platform session in this conversation",
        )
    agent = await session.get(Agent, conversation.assignee_id) if conversation.assignee_id is not None else None
    if agent is None or agent.channel_id != channel.id:
        return Plan(
            channel.id,
            ref,
            None,
            "no_agent",
            "MP re-creates a session only for a kf account (kfsession/create) and none is assigned: reopened in "
            "the gateway; assign a kf account, or the user's next message lands in this conversation",
        )
    last = conversation.last_incoming_at
    if last is None or utcnow() - last >= MP_SESSION_WINDOW:
        return Plan(
            channel.id,
            ref,
            None,
            "window_closed",
            "the user has not written in the last 48 h, so no kf session can be created: reopened in the "
            "gateway; the user's next message lands in this conversation",
        )
    return Plan(channel.id, ref, agent.source_id, None, "")
