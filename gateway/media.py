"""The media vault: inbound platform media downloaded before it expires (3 days), content-addressed."""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import Channel
from gateway.db.models import Media, Message
from gateway.db.types import utcnow


@dataclass(frozen=True, slots=True)
class Stored:
    path: Path
    sha256: str
    size: int


def store_bytes(root: Path, content: bytes) -> Stored:
    """Write `content` under root/<sha[:2]>/<sha> (atomically; identical files are stored once)."""
    digest = hashlib.sha256(content).hexdigest()
    path = root / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    return Stored(path=path, sha256=digest, size=len(content))


async def download_into_vault(
    session: AsyncSession, channel: Channel, root: Path, *, message_id: int, media_id: str
) -> Media:
    """Fetch one media file and record it against its message (raises PlatformError on failure)."""
    file = await channel.download_media(media_id)
    stored = store_bytes(root, file.content)
    mime = file.content_type.split(";")[0].strip() or (
        mimetypes.guess_type(file.filename or "")[0] or "application/octet-stream"
    )
    media = Media(
        channel_id=channel.channel_id,
        message_id=message_id,
        direction="in",
        source_media_id=media_id,
        status="stored",
        path=str(stored.path),
        sha256=stored.sha256,
        size=stored.size,
        mime=mime,
        filename=file.filename,
    )
    session.add(media)
    message = await session.get(Message, message_id)
    if message is not None:
        message.content_attributes = {
            **message.content_attributes,
            "media_status": "stored",
            "sha256": stored.sha256,
            "size": stored.size,
            "mime": mime,
        }
        message.updated_at = utcnow()
    await session.flush()
    return media


async def mark_media_failed(session: AsyncSession, message_id: int, error: str) -> None:
    message = await session.get(Message, message_id)
    if message is not None:
        message.content_attributes = {**message.content_attributes, "media_status": "failed", "media_error": error}
        message.updated_at = utcnow()
