"""Domain events (the ordered feed behind webhooks, /events and SSE) and sync cursors.

Event ids are commit-ordered. `append_event` only queues an event on the session; when the
transaction commits, a `before_commit` hook takes the next ids from the one-row `feed_counter`
(an UPDATE … RETURNING whose row lock lasts until COMMIT), inserts the events and fans them out to
the matching webhooks (webhook_deliveries rows + a deliver_webhook job) in that same transaction.
A second writer waits on the counter row until the first has committed, so on PostgreSQL, where
sequence ids commit out of order, an event never becomes visible before one with a smaller id.

Guarantee: a reader that has seen event N will never later find a newly committed event with an
id ≤ N, so `after=N` polling, SSE resume and webhook fan-out skip nothing. Limits: it holds for
reads on the primary (an asynchronous standby may lag, never reorder), and only for events written
through this module. The price is that event-writing transactions serialize for their last few
statements (counter, event rows, deliveries, COMMIT); everything before runs in parallel. On
SQLite the single writer already commits in order; the same code runs there.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import BigInteger, any_, bindparam, cast, event, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_session
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import await_only

from gateway.db.models import Contact, Conversation, DomainEvent, FeedCounter, SyncCursor
from gateway.db.repositories import webhooks as webhook_repo
from gateway.db.repositories.util import insert_for, is_postgres
from gateway.db.types import utcnow

log = logging.getLogger(__name__)

EVENT_TYPES = (
    "message.created",
    "message.updated",
    "conversation.created",
    "conversation.updated",
    "contact.created",
    "contact.updated",
    "contact.merged",
    "note.created",
)

_PENDING = "gateway.feed.pending"  # session.info: [([events], savepoint they were added in, or None)]
_COMMITTED = "gateway.feed.committed"  # session.info: this transaction wrote events


class CommitWatcher(Protocol):
    def notify(self) -> None: ...


_watchers: weakref.WeakSet[Any] = weakref.WeakSet()


Embedder = Callable[[AsyncSession, list[Any]], Awaitable[None]]
_embedders: list[Embedder] = []


def embed_objects_with(embedder: Embedder) -> None:
    """Run `embedder(session, events)` at COMMIT, after the last flush and before the counter lock.

    gateway.db.repositories.snapshots registers itself here (gateway.db.engine imports it), so payloads
    carry the objects they are about; registered, not imported, because it reads through
    repositories that write events themselves.
    """
    if embedder not in _embedders:
        _embedders.append(embedder)


def watch_commits(watcher: CommitWatcher) -> None:
    """Call `watcher.notify()` after every commit in this process that wrote events (held weakly).

    In-process wake-up for SSE streams and the job runner; other processes poll.
    """
    _watchers.add(watcher)


def unwatch_commits(watcher: CommitWatcher) -> None:
    _watchers.discard(watcher)


async def append_event(
    session: AsyncSession,
    type_: str,
    payload: dict[str, Any],
    *,
    conversation_id: int | None = None,
    contact_id: int | None = None,
) -> DomainEvent:
    """Add one event to the feed in the caller's transaction: it is written, with its id, at COMMIT.

    `event.id` stays None until then; a rollback (of the transaction or of the savepoint the event
    was added in) drops it.
    """
    event_ = DomainEvent(
        type=type_, payload=payload, conversation_id=conversation_id, contact_id=contact_id, created_at=utcnow()
    )
    _queue(session.sync_session, [event_])
    return event_


@dataclass(slots=True)
class NewEvent:
    """An event queued by `append_events`: a plain row, no ORM object; `id` is set at COMMIT."""

    type: str
    payload: dict[str, Any]
    conversation_id: int | None = None
    contact_id: int | None = None
    id: int | None = None


async def append_events(session: AsyncSession, events: Iterable[NewEvent]) -> None:
    """`append_event` for many events at once (a sync page's `message.created`), in the given order.

    Same contract: ids and rows at COMMIT, dropped with the transaction or the savepoint they were
    added in; only cheaper, as the rows go in with the other events' one executemany.
    """
    events = list(events)
    if events:
        _queue(session.sync_session, events)


def _queue(session: Session, events: list[Any]) -> None:
    session.info.setdefault(_PENDING, []).append((events, session.get_nested_transaction()))


@event.listens_for(Session, "before_flush")
def _catch_added_events(session: Session, _context: Any, _instances: Any) -> None:
    """A DomainEvent given to session.add() is queued as well, so no event row takes an early id."""
    for obj in list(session.new):
        if isinstance(obj, DomainEvent) and obj.id is None:
            session.expunge(obj)
            _queue(session, [obj])


@event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # the caller's rows (and their row locks) first: the counter lock comes last
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    events = [e for group, _ in pending for e in group]
    proxy = async_session(session)  # every gateway writer is an AsyncSession; the hook runs in its greenlet
    if proxy is not None:
        for embedder in _embedders:
            await_only(embedder(proxy, events))
    _lock_referenced(session, events)  # before the counter, like the webhook rows below
    targets = webhook_repo.fan_out_targets(session)  # before the counter: it may wait on a webhook row
    last = session.execute(_take_ids(session, len(events))).scalar_one()
    now = utcnow()
    rows = []
    for offset, event_ in enumerate(events, start=last - len(events) + 1):
        event_.id = offset
        rows.append(
            {
                "id": offset,
                "type": event_.type,
                "conversation_id": event_.conversation_id,
                "contact_id": event_.contact_id,
                "payload": event_.payload if event_.payload is not None else {},
                "created_at": getattr(event_, "created_at", None) or now,
            }
        )
    # Core, not the ORM: the events stay plain objects (append_event's carrying their id)
    if is_postgres(session):  # one statement, an array per column
        session.execute(_INSERT_EVENTS_PG, {f"a_{name}": [row[name] for row in rows] for name in _EVENT_COLUMNS})
    else:  # one executemany (the table, not the entity: no ORM bulk-insert pass over the rows)
        session.execute(insert(_EVENTS), rows)
    webhook_repo.fan_out(session, targets, events)
    session.info[_COMMITTED] = True


def _lock_referenced(session: Session, events: list[DomainEvent]) -> None:
    """KEY SHARE the conversations and contacts the events point at, as their foreign keys will.

    Inserting an event takes these row locks anyway; taken after the counter they deadlock with a
    transaction that holds a stronger lock on the row (e.g. a contact whose unionid it just set)
    and waits for the counter. Taken here, such a writer is simply waited for.
    """
    if not is_postgres(session):
        return
    for model, ids in (
        (Conversation, {e.conversation_id for e in events if e.conversation_id is not None}),
        (Contact, {e.contact_id for e in events if e.contact_id is not None}),
    ):
        if ids:
            session.execute(
                select(model.id)
                .where(model.id == any_(bindparam("ids", sorted(ids), type_=ARRAY(BigInteger))))
                .order_by(model.id)
                .with_for_update(read=True, key_share=True)
            )


_EVENTS = DomainEvent.__table__
_EVENT_COLUMNS = ("id", "type", "conversation_id", "contact_id", "payload", "created_at")
_unnest = (
    func.unnest(
        *(
            cast(bindparam(f"a_{name}", type_=ARRAY(_EVENTS.c[name].type)), ARRAY(_EVENTS.c[name].type))
            for name in _EVENT_COLUMNS
        )
    )
    .table_valued(*_EVENT_COLUMNS)
    .render_derived()
)
_INSERT_EVENTS_PG = insert(_EVENTS).from_select(list(_EVENT_COLUMNS), select(*(_unnest.c[n] for n in _EVENT_COLUMNS)))


def _take_ids(session: Session, count: int) -> Any:
    stmt = insert_for(session, FeedCounter).values(id=1, last_event_id=count)
    return stmt.on_conflict_do_update(
        index_elements=["id"], set_={"last_event_id": FeedCounter.last_event_id + count}
    ).returning(FeedCounter.last_event_id)


@event.listens_for(Session, "after_commit")
def _notify(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.pop(_COMMITTED, False):
        return
    for watcher in list(_watchers):
        try:
            watcher.notify()
        except Exception:  # a watcher of a finished event loop must not break the committer
            log.debug("commit watcher failed", exc_info=True)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if not previous.nested:
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [(e, sp) for e, sp in pending if not _within(sp, previous)]


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_COMMITTED, None)


def _within(savepoint: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is ancestor:
            return True
        savepoint = savepoint.parent
    return False


async def events_after(
    session: AsyncSession,
    after_id: int,
    *,
    limit: int = 100,
    types: list[str] | None = None,
    upto: int | None = None,
) -> list[DomainEvent]:
    """Events with after_id < id (≤ upto), oldest first.

    Read `last_event_id` first and pass it as `upto`: a page shorter than `limit` then proves
    there is nothing else up to `upto`, so a filtered reader may move its cursor there.
    """
    query = select(DomainEvent).where(DomainEvent.id > after_id).order_by(DomainEvent.id).limit(limit)
    if upto is not None:
        query = query.where(DomainEvent.id <= upto)
    if types:
        query = query.where(DomainEvent.type.in_(types))
    return list(await session.scalars(query))


async def last_event_id(session: AsyncSession) -> int:
    """The newest committed event id (0 for an empty feed)."""
    return int(await session.scalar(select(func.coalesce(func.max(DomainEvent.id), 0))) or 0)


async def get_cursor(session: AsyncSession, channel_id: int, stream: str) -> SyncCursor | None:
    return await session.get(SyncCursor, (channel_id, stream))


async def save_cursor(session: AsyncSession, channel_id: int, stream: str, cursor: str | None) -> None:
    """Upsert the stream's cursor in the caller's transaction (the one holding the rows)."""
    now = utcnow()
    stmt = insert_for(session, SyncCursor).values(
        channel_id=channel_id, stream=stream, cursor=cursor, last_synced_at=now, last_error=None, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id", "stream"],
        set_={"cursor": cursor, "last_synced_at": now, "last_error": None, "updated_at": now},
    )
    await session.execute(stmt)


async def save_callback_token(
    session: AsyncSession, channel_id: int, stream: str, token: str | None, at: datetime
) -> None:
    """Remember the newest sync Token of a stream (valid 10 min) for the puller."""
    stmt = insert_for(session, SyncCursor).values(
        channel_id=channel_id, stream=stream, callback_token=token, callback_token_at=at, updated_at=at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id", "stream"], set_={"callback_token": token, "callback_token_at": at}
    )
    await session.execute(stmt)


async def record_sync_error(session: AsyncSession, channel_id: int, stream: str, error: str) -> None:
    now = utcnow()
    stmt = insert_for(session, SyncCursor).values(
        channel_id=channel_id, stream=stream, last_error=error, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["channel_id", "stream"], set_={"last_error": error, "updated_at": now}
    )
    await session.execute(stmt)


async def list_cursors(session: AsyncSession, channel_id: int | None = None) -> list[SyncCursor]:
    query = select(SyncCursor).order_by(SyncCursor.channel_id, SyncCursor.stream)
    if channel_id is not None:
        query = query.where(SyncCursor.channel_id == channel_id)
    return list(await session.scalars(query))
