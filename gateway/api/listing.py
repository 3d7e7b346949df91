"""Paging for every list, and what the conversation list and the unread total share.

Every list answers `{"data": [...], "next_cursor": <opaque string or null>}` and takes `?cursor=` and
`?limit=` (Limit: 1–200, default 50; the event feed allows 1–1000, default 100). A cursor is opaque:
it names the list it came from (its `kind`: the resource, its parent, its sort or direction) and the
sort key of the last row handed out, so a page boundary stays put while rows are added or change, and
a cursor used on another list, sort or direction is 422 validation_error, field `cursor`.

- The viewer: a signed-in operator is themselves; an API key may act for an operator with
  `operator_id` (their read state, their `assignee=me`). An operator cannot look as someone else.
- `assignee`: `all` (default), `me` (conversations.operator_id is the viewer), `unassigned` (neither
  an operator nor a platform agent), or an operator id (that operator's conversations).
- `label`: a label name; one that does not exist is 422 `unknown_label` (a typo must not look like
  an empty inbox).
- Conversation cursors carry their sort: one handed out for `sort=waiting` is refused for
  `sort=last_activity` and the other way round.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.actor import Actor
from gateway.db.models import Conversation
from gateway.db.people import Label
from gateway.db.repositories import browse, reading
from gateway.errors import Forbidden, InvalidRequest

PAGE_DEFAULT = 50
PAGE_MAX = 200

Limit = Annotated[int, Parameter(ge=1, le=PAGE_MAX, description=f"page size (1–{PAGE_MAX}, default {PAGE_DEFAULT})")]
CursorParam = Annotated[
    str | None, Parameter(min_length=1, max_length=512, description="the previous page's next_cursor (opaque)")
]

# a paging parameter a list used to take: still read (and left out of the schema) so that a client
# sending it gets 422 naming it, instead of a first page it would take for the page it asked for
Retired = Annotated[str | None, Parameter(include_in_schema=False)]

Key = tuple[str | int, ...]
T = TypeVar("T")


class OperatorRequired(InvalidRequest):
    code = "operator_required"


class UnknownLabel(InvalidRequest):
    code = "unknown_label"


def encode(kind: str, key: Key) -> str:
    """An opaque cursor: the list it belongs to (`kind`, e.g. `contacts` or `messages:7:older`) and the
    sort key of the last row handed out. Base64 of JSON, so clients cannot be tempted to build one."""
    raw = json.dumps([kind, *key], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str | None, kind: str, shape: tuple[type, ...]) -> Key | None:
    """The key `encode(kind, …)` put in `cursor` (None without one). A cursor that is not ours, or one
    handed out for another list, sort or direction (another `kind`), is 422 validation_error, field
    `cursor`: following it would silently start somewhere else."""
    if cursor is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = None
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise InvalidRequest("cursor is not one this API handed out", field="cursor")
    if value[0] != kind:
        raise InvalidRequest("cursor was handed out for another list, sort or direction", field="cursor")
    key = tuple(value[1:])
    if len(key) != len(shape) or not all(_fits(v, t) for v, t in zip(key, shape, strict=True)):
        raise InvalidRequest("cursor is not one this API handed out", field="cursor")
    return key


def _fits(value: object, kind: type) -> bool:
    """A key part the database can compare: an id-sized int (not a bool, which isinstance calls an
    int) or a string without U+0000 (PostgreSQL refuses it in text: a crafted cursor must be a 422,
    not a 500)."""
    if type(value) is not kind:
        return False
    if isinstance(value, int):
        return 0 <= value < 2**63
    return isinstance(value, str) and "\x00" not in value


def refuse_retired(**given: str | None) -> None:
    """422 validation_error for the first retired paging parameter the client still sends."""
    for name, value in given.items():
        if value is not None:
            raise InvalidRequest(f"{name} was replaced by cursor: pass the previous page's next_cursor", field=name)


def cut(rows: list[T], limit: int, kind: str, key: Callable[[T], Key]) -> tuple[list[T], str | None]:
    """A page from `limit + 1` rows fetched in list order: the first `limit`, and the cursor after the
    last of them when the extra row shows there is more (None on the last page)."""
    page = rows[:limit]
    return page, encode(kind, key(page[-1])) if len(rows) > limit else None


def conversation_kind(sort: str) -> str:
    return f"conversations:{sort}"


def conversation_position(cursor: str | None, sort: str) -> tuple[datetime, int] | None:
    """The (time, id) a conversations cursor points after; its sort must be this one."""
    key = decode(cursor, conversation_kind(sort), (str, int))
    if key is None:
        return None
    try:
        at = datetime.fromisoformat(str(key[0]))
    except ValueError:
        raise InvalidRequest("cursor is not one this API handed out", field="cursor") from None
    if at.tzinfo is None:
        raise InvalidRequest("cursor is not one this API handed out", field="cursor")
    return at, int(key[1])


def conversation_key(row: Conversation, sort: str) -> Key:
    """The position of `row` in `sort` order."""
    at = row.waiting_since if sort == "waiting" and row.waiting_since is not None else row.last_activity_at
    return at.astimezone(UTC).isoformat(), row.id


def conversation_cursor(at: datetime, conversation_id: int, sort: str = "last_activity") -> str:
    """The cursor after a conversation at this position (what a page hands out; benchmarks build them)."""
    return encode(conversation_kind(sort), (at.astimezone(UTC).isoformat(), conversation_id))


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
