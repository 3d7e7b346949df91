"""WeCom send_msg_on_event codes as data: how long each kind lives, and what an enter_session tells a CRM.

Lifetimes (docs/platforms.md §2.6): the welcome and closing codes 20 s, the queue and taken codes
48 h; each code works once, and an expired one answers 95007.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gateway.db.types import utcnow
from gateway.domain import (  # noqa: F401  (event-code lifetimes re-exported: their home is the domain)
    EVENT_CODE_LIFETIMES,
    SHORTEST_CODE,
    Batch,
    MessageType,
    event_code_expired,
    event_code_expires_at,
)
from gateway.errors import Conflict


class EventCodeExpired(Conflict):
    """The conversation's event code is past its lifetime; the platform would answer 95007."""

    code = "event_code_expired"


def entry_fields(
    scene: str | None, scene_param: str | None, welcome_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """The enter_session facts a webhook carries: scene, scene_param, whether the welcome code can
    still be used (`welcome_possible`) and until when (`welcome_until`, ISO 8601, None without one)."""
    until = event_code_expires_at("welcome", welcome_at)
    return {
        "scene": scene or None,
        "scene_param": scene_param or None,
        "welcome_possible": until is not None and now < until,
        "welcome_until": until.isoformat() if until is not None else None,
    }


def batch_entries(
    batch: Batch, inbox_ids: Mapping[str, int], identity_ids: Mapping[str, int]
) -> dict[tuple[int, int], dict[str, Any]]:
    """The enter_session items of the batch, keyed (inbox id, identity id) by the ids ingest gave
    their source ids → their scene, scene_param and welcome code window."""
    entered = {
        (m.inbox_source_id, m.contact_source_id): m
        for m in batch.messages
        if m.message_type == MessageType.ACTIVITY and m.content_attributes.get("event_type") == "enter_session"
    }
    if not entered:
        return {}
    welcomes = {
        (c.inbox_source_id, c.contact_source_id): c.at
        for c in batch.state_changes
        if c.event_code_kind == "welcome" and c.event_code
    }
    now = utcnow()
    return {
        (inbox_ids[inbox], identity_ids[contact]): entry_fields(
            m.content_attributes.get("scene"),
            m.content_attributes.get("scene_param"),
            welcomes.get((inbox, contact)),
            now,
        )
        for (inbox, contact), m in entered.items()
    }
