"""What the conversation list and the unread total share: who is looking, the people filters, cursors.

- The viewer: a signed-in operator is themselves; an API key may act for an operator with
  `operator_id` (their read state, their `assignee=me`). An operator cannot look as someone else.
- `assignee`: `all` (default), `me` (conversations.operator_id is the viewer), `unassigned` (neither
  an operator nor a platform agent), or an operator id (that operator's conversations).
- `label`: a label name; one that does not exist is 422 `unknown_label` (a typo must not look like
  an empty inbox).
- Cursors are opaque and carry their sort: one handed out for `sort=waiting` is refused for
  `sort=last_activity` and the other way round (422 validation_error, field `cursor`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actor import Actor
from gateway.db.models import Conversation
from gateway.db.people import Label
from gateway.db.repositories import browse, reading
from gateway.errors import Forbidden, InvalidRequest

WAITING_PREFIX = "w|"


class OperatorRequired(InvalidRequest):
    code = "operator_required"


class UnknownLabel(InvalidRequest):
    code = "unknown_label"


def encode_cursor(at: datetime, conversation_id: int, sort: str = "last_activity") -> str:
    raw = f"{WAITING_PREFIX if sort == 'waiting' else ''}{at.astimezone(UTC).isoformat()}|{conversation_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str = "last_activity") -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        waiting = raw.startswith(WAITING_PREFIX)
        stamp, _, ident = raw.removeprefix(WAITING_PREFIX).partition("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError("naive")
        position = at, int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("cursor is not one this API handed out", field="cursor") from None
    if waiting != (sort == "waiting"):
        raise InvalidRequest("cursor was handed out for another sort", field="cursor")
    return position


def next_cursor(row: Conversation, sort: str) -> str:
    """The cursor after `row` in `sort` order."""
    at = row.waiting_since if sort == "waiting" and row.waiting_since is not None else row.last_activity_at
    return encode_cursor(at, row.id, sort)


async def viewer(session: AsyncSession, actor: Actor, operator_id: int | None) -> int | None:
    """The operator whose read state and `me` apply: the signed-in operator, or `operator_id` for a
    key (None: a key that names nobody)."""
    if actor.operator_id is not None:
        if operator_id is not None and operator_id != actor.operator_id:
            raise Forbidden("an operator acts only as themselves (operator_id is for API keys)")
        return actor.operator_id
    if operator_id is not None:
        await reading.find_operator(session, operator_id, field="operator_id")
    return operator_id


async def acting_operator(session: AsyncSession, actor: Actor, operator_id: int | None) -> int:
    """`viewer`, required: 422 operator_required for a key that names nobody."""
    who = await viewer(session, actor, operator_id)
    if who is None:
        raise OperatorRequired("an API key must name the operator it acts for: operator_id", field="operator_id")
    return who


async def conversation_filter(
    session: AsyncSession,
    actor: Actor,
    base: browse.ConversationFilter,
    *,
    assignee: str | None,
    operator_id: int | None,
    label: str | None,
) -> browse.ConversationFilter:
    """`base` (status, channel, inbox, … and sort) with the people filters resolved for this caller."""
    mode = (assignee or "all").strip().lower()
    numeric = mode.isascii() and mode.isdigit()  # str.isdigit() alone takes "²", which int() refuses
    if mode not in ("all", "me", "unassigned") and not (numeric and 0 < int(mode) < 2**63):
        raise InvalidRequest("assignee is me, unassigned, all or an operator id", field="assignee")
    if mode == "me":
        who: int | None = await acting_operator(session, actor, operator_id)
    else:
        who = await viewer(session, actor, operator_id)
    assigned: int | None = None
    if mode == "me":
        assigned = who
    elif numeric:
        assigned = (await reading.find_operator(session, int(mode), field="assignee", active=False)).id
    label_id = None
    if label is not None:
        label_id = await session.scalar(select(Label.id).where(Label.name == label))
        if label_id is None:
            raise UnknownLabel(f"no label named {label!r}", field="label")
    return replace(
        base,
        operator_id=assigned,
        unassigned=mode == "unassigned",
        label_id=label_id,
        viewer=who,
    )
