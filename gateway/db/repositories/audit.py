"""The audit trail: who did what through the API (an operator or an API key), in the writer's transaction.

`record` adds one `audit_log` row to the caller's session, so the entry commits or rolls back with
the change it describes. `actor` is the `ref()` of gateway.api.actor.Actor (or any mapping with
`type`, `id`, `name`: the CLI records itself as `{"type": "cli", "id": None, "name": <user>}`).
Never put secrets in `detail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.people import AuditEntry


async def record(
    session: AsyncSession,
    actor: Mapping[str, Any],
    action: str,
    *,
    subject_type: str = "",
    subject_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor_type=str(actor.get("type") or "system"),
        actor_id=actor.get("id"),
        actor_name=str(actor.get("name") or "")[:128],
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=dict(detail or {}),
    )
    session.add(entry)
    await session.flush()
    return entry


async def entries(
    session: AsyncSession, *, subject_type: str | None = None, subject_id: int | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if subject_type is not None:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    return list(await session.scalars(query))
