"""Outbound media cache: a platform media_id per (channel, content hash, kind) until it expires."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Media


async def cached_upload(session: AsyncSession, channel_id: int, sha256: str, kind: str, now: datetime) -> Media | None:
    return await session.scalar(
        select(Media)
        .where(
            Media.channel_id == channel_id,
            Media.sha256 == sha256,
            Media.direction == "out",
            Media.kind == kind,
            Media.status == "stored",
            Media.expires_at > now,
        )
        .order_by(Media.expires_at.desc())
        .limit(1)
    )


async def remember_upload(
    session: AsyncSession,
    channel_id: int,
    media_id: str,
    kind: str,
    sha256: str,
    size: int,
    mime: str | None,
    filename: str | None,
    expires_at: datetime,
) -> Media:
    media = Media(
        channel_id=channel_id,
        direction="out",
        source_media_id=media_id,
        status="stored",
        kind=kind,
        sha256=sha256,
        size=size,
        mime=mime,
        filename=filename,
        expires_at=expires_at,
    )
    session.add(media)
    await session.flush()
    return media
