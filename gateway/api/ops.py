"""Operations endpoints: /healthz (database reachable) and /metrics (Prometheus text format)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response, get
from sqlalchemy import text

from gateway.db.repositories import feed
from gateway.db.types import utcnow
from gateway.jobs import queue_depth
from gateway.runtime import Runtime


@get("/healthz", tags=["ops"])
async def healthz(runtime: Runtime) -> Response[dict[str, Any]]:
    try:
        async with runtime.db.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of the endpoint is to say so
        return Response({"status": "error", "database": type(exc).__name__}, status_code=503)
    return Response({"status": "ok", "database": runtime.db.dialect})


@get("/metrics", media_type=MediaType.TEXT, tags=["ops"])
async def metrics(runtime: Runtime) -> Response[bytes]:
    m = runtime.metrics
    async with runtime.db.sessions() as session:
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
