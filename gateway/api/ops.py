"""Operations endpoints: /healthz (database reachable), /readyz (reachable, migrated, channel tokens,
pulls, job backlog and sync lag healthy; warnings) and
/metrics (Prometheus text format). None needs a key, none passes the REST admission gate, and none
shows a secret: /readyz names channels by id and name only."""

from __future__ import annotations

import functools
from typing import Any

from alembic.runtime.migration import MigrationContext
from litestar import MediaType, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import select, text

from gateway.api import readiness as readiness_checks
from gateway.channels.advice import channel_warnings
from gateway.channels.pool import ChannelPool
from gateway.db import migrate
from gateway.db.engine import Database
from gateway.db.models import Channel
from gateway.db.repositories import feed, health
from gateway.db.types import utcnow
from gateway.metrics import Metrics
from gateway.outbound.jobs import queue_depth
from gateway.settings import ReadinessSettings

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
async def readyz(db: Database, channels: ChannelPool, readiness: ReadinessSettings) -> Response[dict[str, Any]]:
    """200 when every check passes, else 503 with `failing`: the database answers, its schema is at
    the code's migration head, no enabled channel's credentials were refused at its last token
    fetch, no pull error stands past GATEWAY_READY_SYNC_LAG, the oldest runnable job has waited
    less than GATEWAY_READY_JOB_BACKLOG, no WeCom kf account is further behind its callbacks than
    GATEWAY_READY_SYNC_LAG (gateway.api.readiness). `checks` details each; `warnings` lists what an
    operator should fix but does not make the process unready (e.g. MP channels whose callback
    bodies are not signed)."""
    head = _head(db.url)
    try:
        async with db.sessions() as session:
            connection = await session.connection()
            current = await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
            rows = (
                await session.execute(
                    select(Channel.id, Channel.name, Channel.kind, Channel.settings)
                    .where(Channel.enabled)
                    .order_by(Channel.id)
                )
            ).all()
            checks = [
                {"check": "database", "ok": True, "dialect": db.dialect},
                {"check": "migration", "ok": current == head, "current": current, "expected": head},
            ]
            if current == head:  # the other checks read tables the code's schema has
                checks.append(await readiness_checks.job_check(session, readiness))
                checks += await readiness_checks.channel_checks(
                    session, channels, readiness, [(row.id, row.name) for row in rows]
                )
    except Exception as exc:  # the point of the endpoint is to say so
        failed = {"check": "database", "ok": False, "error": type(exc).__name__}
        body_ = {"status": "error", "database": type(exc).__name__, "warnings": [], "failing": [failed]}
        return Response(body_, status_code=503)
    warnings = [
        {"channel_id": row.id, "channel": row.name, "warning": text_}
        for row in rows
        for text_ in channel_warnings(row.kind, row.settings or {})
    ]
    failing = [check for check in checks if not check["ok"]]
    body: dict[str, Any] = {
        "status": "error" if failing else "ok",
        "database": db.dialect,
        "migration": current,
        "warnings": warnings,
    }
    if current != head:
        body["migration_expected"] = head
    if failing:
        body["failing"] = failing
        return Response(body, status_code=503)
    body["checks"] = checks
    return Response(body)


@get("/metrics", media_type=MediaType.TEXT, tags=["ops"])
async def metrics(db: Database, metrics: Metrics) -> Response[bytes]:
    """Prometheus metrics in the text format (no authentication; bounded label values)."""
    m = metrics
    async with db.sessions() as session:
        depth = await queue_depth(session)
        cursors = await feed.list_cursors(session)
        behind = await health.sync_lags(session, utcnow())
    m.job_queue_depth.clear()
    for kind, count in depth.items():
        m.job_queue_depth.labels(kind).set(count)
    now = utcnow()
    for cursor in cursors:
        if cursor.last_synced_at is not None:
            m.sync_lag.labels(str(cursor.channel_id), cursor.stream).set((now - cursor.last_synced_at).total_seconds())
    m.sync_behind.clear()  # kf accounts of deleted or disabled channels drop out
    for lag in behind:
        m.sync_behind.labels(str(lag.channel_id), lag.stream).set(lag.seconds)
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
