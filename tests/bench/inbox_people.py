"""Benchmark 3, people part: the operator's list (unread_count, last_message, labels) and the unread total.

Seeded on top of inbox_reads' data set: the list columns come from migration 0007's backfill
(timed: it is what an upgrade runs on an existing database), then 20 operators; 60 % of the
conversations that are not resolved are assigned to one of them; every operator has read 5,000
random conversations (read_incoming anywhere up to the conversation's count) and operator 1 also
every conversation assigned to them; 10 labels on 20,000 conversations. The viewer is operator 1.
Targets: lists p95 < 10 ms, unread total p95 < 20 ms.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from sqlalchemy import text

OPERATORS = 20
READS_PER_OPERATOR = 5_000
LABELS = 10
LABELLED = 20_000
VIEWER = 1
TARGETS = {"unread": 20.0}  # case-name prefix → p95 target in ms (others: 10)

Case = tuple[Callable[[], Awaitable[Any]], Callable[[], str], int]


async def seed_people(url: str) -> dict[str, Any]:
    from gateway.db.engine import Database
    from gateway.db.models import Conversation
    from gateway.db.people import ConversationLabel, Label, Operator, ReadState

    migration = import_module("migrations.versions.20261206_0007_people")
    rng = random.Random(5)
    now = datetime.now(UTC)
    db = Database(url)
    try:
        started = time.perf_counter()
        async with db.engine.begin() as connection:
            await connection.execute(migration.BACKFILL)
        backfill = time.perf_counter() - started
        print(f"  migration 0007 backfill over the seeded data: {backfill:.1f} s")
        async with db.engine.begin() as connection:
            await connection.execute(
                Operator.__table__.insert(),
                [
                    {
                        "id": n,
                        "email": f"op{n}@example.com",
                        "name": f"op{n}",
                        "password_hash": "-",
                        "role": "agent",
                        "active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(1, OPERATORS + 1)
                ],
            )
            found = await connection.execute(
                text("SELECT id, status, incoming_count, last_message_id FROM conversations")
            )
            conversations = [tuple(r) for r in found]
            assigned: dict[int, int] = {}
            for cid, status, _, _ in conversations:
                if status != "resolved" and rng.random() < 0.6:
                    assigned[cid] = rng.randint(1, OPERATORS)
            by_operator: dict[int, list[int]] = {}
            for cid, op in assigned.items():
                by_operator.setdefault(op, []).append(cid)
            for op, ids in by_operator.items():
                for offset in range(0, len(ids), 5_000):
                    await connection.execute(
                        Conversation.__table__.update()
                        .where(Conversation.id.in_(ids[offset : offset + 5_000]))
                        .values(operator_id=op)
                    )
            meta = {cid: (count, last) for cid, _, count, last in conversations}
            reads: dict[tuple[int, int], dict[str, Any]] = {}
            for op in range(1, OPERATORS + 1):
                picked = rng.sample(list(meta), min(READS_PER_OPERATOR, len(meta) // 2))
                if op == VIEWER:
                    picked += by_operator.get(op, [])
                for cid in picked:
                    count, last = meta[cid]
                    reads[(op, cid)] = {
                        "operator_id": op,
                        "conversation_id": cid,
                        "last_read_message_id": last or 0,
                        "read_incoming": rng.randint(0, count),
                        "updated_at": now,
                    }
            rows = list(reads.values())
            for offset in range(0, len(rows), 10_000):
                await connection.execute(ReadState.__table__.insert(), rows[offset : offset + 10_000])
            await connection.execute(
                Label.__table__.insert(),
                [
                    {
                        "id": n,
                        "name": f"label{n}",
                        "color": "#000",
                        "description": "",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(1, LABELS + 1)
                ],
            )
            labelled = [
                {"conversation_id": cid, "label_id": rng.randint(1, LABELS), "created_at": now}
                for cid in rng.sample(list(meta), min(LABELLED, len(meta) // 5))
            ]
            await connection.execute(ConversationLabel.__table__.insert(), labelled)
        print(f"  people seeded: {len(assigned)} assigned, {len(rows)} read states, labels on {len(labelled)}")
        return {"backfill_seconds": round(backfill, 1), "assigned": len(assigned), "read_states": len(rows)}
    finally:
        await db.dispose()


async def deep_positions(
    db: Any, where: str, order: str, column: str, rng: random.Random
) -> list[tuple[datetime, int]]:
    """Keyset positions between 30 % and 95 % of the rows matching `where` in `order`."""
    from gateway.db.types import UTCDateTime

    out = []
    async with db.engine.connect() as connection:
        total = await connection.scalar(text(f"SELECT count(*) FROM conversations WHERE {where}"))
        for _ in range(20):
            offset = int(total * rng.uniform(0.30, 0.95))
            row = (
                await connection.execute(
                    text(
                        f"SELECT {column}, id FROM conversations WHERE {where} ORDER BY {order} LIMIT 1 OFFSET {offset}"
                    )
                )
            ).one()
            out.append((UTCDateTime().process_result_value(row[0], db.engine.dialect), row[1]))
    return out


async def people_cases(db: Any, rng: random.Random, repeat: int) -> dict[str, Case]:
    from gateway.api.listing import conversation_cursor
    from gateway.db.repositories import browse, reading

    deep_all = await deep_positions(db, "1=1", "last_activity_at DESC, id DESC", "last_activity_at", rng)
    waiting = "waiting_since IS NOT NULL AND status = 'open'"
    deep_waiting = await deep_positions(db, waiting, "waiting_since, id", "waiting_since", rng)
    F = browse.ConversationFilter
    me = f"operator_id={VIEWER}"

    async def page(filters: browse.ConversationFilter, after: tuple[datetime, int] | None = None) -> None:
        async with db.sessions() as session:
            await browse.conversation_page(session, filters, after=after, limit=51)

    async def unread(filters: browse.ConversationFilter) -> None:
        async with db.sessions() as session:
            await reading.unread_totals(session, filters, VIEWER)

    def label() -> int:
        return rng.randint(1, LABELS)

    return {
        "operator list: all, first page": (
            lambda: page(F(viewer=VIEWER)),
            lambda: f"/api/v1/conversations?{me}",
            repeat,
        ),
        "operator list: all, deep page": (
            lambda: page(F(viewer=VIEWER), rng.choice(deep_all)),
            lambda: f"/api/v1/conversations?{me}&cursor={conversation_cursor(*rng.choice(deep_all))}",
            repeat,
        ),
        "operator list: mine": (
            lambda: page(F(viewer=VIEWER, operator_id=VIEWER)),
            lambda: f"/api/v1/conversations?{me}&assignee=me",
            repeat,
        ),
        "operator list: mine + status=open": (
            lambda: page(F(viewer=VIEWER, operator_id=VIEWER, status="open")),
            lambda: f"/api/v1/conversations?{me}&assignee=me&status=open",
            repeat,
        ),
        "operator list: unassigned + status=pending": (
            lambda: page(F(viewer=VIEWER, unassigned=True, status="pending")),
            lambda: f"/api/v1/conversations?{me}&assignee=unassigned&status=pending",
            repeat,
        ),
        "operator list: label": (
            lambda: page(F(viewer=VIEWER, label_id=label())),
            lambda: f"/api/v1/conversations?{me}&label=label{label()}",
            repeat,
        ),
        "operator list: sort=waiting + status=open": (
            lambda: page(F(viewer=VIEWER, status="open", sort="waiting")),
            lambda: f"/api/v1/conversations?{me}&status=open&sort=waiting",
            repeat,
        ),
        "operator list: sort=waiting + status=open, deep": (
            lambda: page(F(viewer=VIEWER, status="open", sort="waiting"), rng.choice(deep_waiting)),
            lambda: (
                f"/api/v1/conversations?{me}&status=open&sort=waiting"
                f"&cursor={conversation_cursor(*rng.choice(deep_waiting), 'waiting')}"
            ),
            repeat,
        ),
        "operator list: sort=waiting (every status)": (
            lambda: page(F(viewer=VIEWER, sort="waiting")),
            lambda: f"/api/v1/conversations?{me}&sort=waiting",
            repeat,
        ),
        "operator list: mine, sort=waiting": (
            lambda: page(F(viewer=VIEWER, operator_id=VIEWER, sort="waiting")),
            lambda: f"/api/v1/conversations?{me}&assignee=me&sort=waiting",
            repeat,
        ),
        "unread total: all": (lambda: unread(F(viewer=VIEWER)), lambda: f"/api/v1/conversations/unread?{me}", repeat),
        "unread total: mine": (
            lambda: unread(F(viewer=VIEWER, operator_id=VIEWER)),
            lambda: f"/api/v1/conversations/unread?{me}&assignee=me",
            repeat,
        ),
        "unread total: unassigned": (
            lambda: unread(F(viewer=VIEWER, unassigned=True)),
            lambda: f"/api/v1/conversations/unread?{me}&assignee=unassigned",
            repeat,
        ),
        "unread total: inbox": (
            lambda: unread(F(viewer=VIEWER, inbox_id=3)),
            lambda: f"/api/v1/conversations/unread?{me}&inbox_id=3",
            repeat,
        ),
        "unread total: label": (
            lambda: unread(F(viewer=VIEWER, label_id=label())),
            lambda: f"/api/v1/conversations/unread?{me}&label=label{label()}",
            repeat,
        ),
    }


def target_ms(name: str) -> float:
    return next((ms for prefix, ms in TARGETS.items() if name.startswith(prefix)), 10.0)
