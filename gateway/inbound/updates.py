"""`conversation.updated`: the one place the event is built, for platform state changes (ingest) and
for changes the gateway makes itself (an assignment to a gateway agent or an operator).

`snapshot` before the change, `announce` after it: the event carries `changes` (old keys whose value
moved) and the new status, assignee_id, platform_state and operator_id; when a person or a key
caused it, `actor` (gateway.api.actor.Actor.ref()) too. Nothing is written when nothing moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Conversation
from gateway.db.repositories.feed import append_event
from gateway.db.types import utcnow

TRACKED = ("status", "assignee_id", "platform_state", "operator_id")


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who asked for a change applied through ingest (an API action), and the operator it assigns.

    `operator_id` applies only when `sets_operator` (None then clears it)."""

    actor: Mapping[str, Any] = field(default_factory=dict)
    sets_operator: bool = False
    operator_id: int | None = None


def snapshot(conversation: Conversation) -> dict[str, Any]:
    return {key: getattr(conversation, key) for key in TRACKED}


async def announce(
    session: AsyncSession, conversation: Conversation, before: Mapping[str, Any], actor: Mapping[str, Any] | None
) -> bool:
    """Append conversation.updated when a tracked field moved since `before`; True when it did."""
    after = snapshot(conversation)
    if after == dict(before):
        return False
    conversation.updated_at = utcnow()
    await session.flush()
    payload: dict[str, Any] = {
        "conversation_id": conversation.id,
        "changes": {k: v for k, v in after.items() if before.get(k) != v},
        **after,
    }
    if actor:
        payload["actor"] = dict(actor)
    await append_event(
        session, "conversation.updated", payload, conversation_id=conversation.id, contact_id=conversation.contact_id
    )
    return True
