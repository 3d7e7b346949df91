"""Operations endpoints: /healthz (database reachable), /readyz (reachable, migrated; warnings) and
/metrics (Prometheus text format). None needs a key, none passes the REST admission gate, and none
shows a secret: /readyz names channels by id and name only."""

from __future__ import annotations

import functools
from typing import Any

from alembic.runtime.migration import MigrationContext
from litestar import MediaType, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import select, text

from gateway.channels.advice import channel_warnings
from gateway.db import migrate
from gateway.db.engine import Database
from gateway.db.models import Channel
from gateway.db.repositories import feed
from gateway.db.types import utcnow
from gateway.metrics import Metrics
from gateway.outbound.jobs import queue_depth

# the probes' own body, not the error envelope: {"status": "error", "database": ..., "warnings": [...]}
NOT_READY = ResponseSpec(
    data_container=dict[str, Any], description="the database does not answer (readyz: or its schema is behind)"
)


@get("/healthz", tags=["ops"], responses={503: NOT_READY})
async def healthz(db: Database) -> Response[dict[str, Any]]:
    """Liveness: the process answers and reaches its database (no authentication)."""
    try:
        async with db.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of the endpoint is to say so
        return Response({"status": "error", "database": type(exc).__name__}, status_code=503)
    return Response({"status": "ok", "database": db.dialect})


@functools.cache
def _head(url: str) -> str | None:
    return migrate.head_revision(url)


@get("/readyz", tags=["ops"], responses={503: NOT_READY})
async def readyz(db: Database) -> Response[dict[str, Any]]:
    """200 when the database answers and its schema is at the code's migration head, else 503.
    `warnings` lists what an operator should fix (e.g. MP channels whose callback bodies are not signed)."""
    head = _head(db.url)
    try:
        async with db.sessions() as session:
            connection = await session.connection()
            current = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
            rows = (
                await session.execute(
                    select(Channel.id, Channel.name, Channel.kind, Channel.settings).where(Channel.enabled)
                )
            ).all()
    except Exception as exc:  # the point of the endpoint is to say so
        return Response({"status": "error", "database": type(exc).__name__, "warnings": []}, status_code=503)
    warnings = [
        {"channel_id": row.id, "channel": row.name, "warning": text_}
        for row in rows
        for text_ in channel_warnings(row.kind, row.settings or {})
    ]
    body: dict[str, Any] = {"status": "ok", "database": db.dialect, "migration": current, "warnings": warnings}
    if current != head:
        body.update(status="error", migration_expected=head)
        return Response(body, status_code=503)
    return Response(body)


@get("/metrics", media_type=MediaType.TEXT, tags=["ops"])
async def metrics(db: Database, metrics: Metrics) -> Response[bytes]:
    """Prometheus metrics in the text format (no authentication; bounded label values)."""
    m = metrics
    async with db.sessions() as session:
        depth = await queue_depth(session)
        cursors = await feed.list_cursors(session)
    m.job_queue_depth.clear()
    for kind, count in depth.items():
        m.job_queue_depth.labels(kind).set(count)
    now = utcnow()
    for cursor in cursors:
        if cursor.last_synced_at is not None:
            m.sync_lag.labels(str(cursor.channel_id), cursor.stream).set((now - cursor.last_synced_at).total_seconds())
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
