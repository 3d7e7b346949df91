"""The media vault: inbound platform media downloaded before it expires (3 days), content-addressed.

Ingest records a `pending` row per media message (gateway.inbound.followups); the download job
fetches the bytes from the platform (no transaction open meanwhile), writes them under
root/<sha[:2]>/<sha>, derives the browser forms (gateway.inbound.variants: MP3 of a voice, a
thumbnail of an image) in a worker thread, then records it all in one short write. A download
the platform refuses for good marks the row `failed`, or `expired` when the platform no longer
knows the media_id (40007, what it answers after the 3 days).
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.channels.base import Channel
from gateway.db.engine import Database
from gateway.db.models import Media, Message
from gateway.db.repositories import media as media_repo
from gateway.db.types import utcnow
from gateway.inbound.variants import derive

UNKNOWN_MEDIA = 40007  # WeCom and MP: invalid media_id (expired, or never issued)
GENERIC_TYPES = ("", "application/octet-stream", "binary/octet-stream")
MAGIC: tuple[tuple[bytes, int, str], ...] = (  # (bytes, at offset, mime)
    (b"#!AMR-WB\n", 0, "audio/amr-wb"),
    (b"#!AMR\n", 0, "audio/amr"),
    (b"#!SILK_V3", 0, "audio/silk"),
    (b"\x02#!SILK_V3", 0, "audio/silk"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF8", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"WEBP", 8, "image/webp"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"ftyp", 4, "video/mp4"),
    (b"%PDF-", 0, "application/pdf"),
)


@dataclass(frozen=True, slots=True)
class Stored:
    path: Path
    sha256: str
    size: int


def sniff_mime(content: bytes, declared: str | None, filename: str | None) -> str:
    """The file's type by its leading bytes; else what the platform said; else by the file name.
    (MP serves media as application/octet-stream; WeCom's SILK voice must not pass for AMR.)"""
    for magic, offset, mime in MAGIC:
        if content[offset : offset + len(magic)] == magic:
            return mime
    declared = (declared or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES:
        return declared
    return mimetypes.guess_type(filename or "")[0] or "application/octet-stream"


def store_bytes(root: Path, content: bytes) -> Stored:
    """Write `content` under root/<sha[:2]>/<sha> (atomically; identical files are stored once)."""
    digest = hashlib.sha256(content).hexdigest()
    path = root / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{digest}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    return Stored(path=path, sha256=digest, size=len(content))


def keep(root: Path, content: bytes, mime: str) -> tuple[Stored, dict[str, Any]]:
    """Store the original and derive its variants (CPU and disk work: call it in a thread)."""
    stored = store_bytes(root, content)
    return stored, derive(stored.path, content, mime)


async def download_into_vault(db: Database, channel: Channel, root: Path, *, message_id: int, media_id: str) -> Media:
    """Fetch one media file and record it against its message (raises PlatformError on failure)."""
    file = await channel.download_media(media_id)
    mime = sniff_mime(file.content, file.content_type, file.filename)
    stored, variants = await asyncio.to_thread(keep, root, file.content, mime)
    async with db.session() as session:
        media = await _row(session, channel.channel_id, message_id, media_id)
        media.status, media.error = "stored", None
        media.path, media.sha256, media.size = str(stored.path), stored.sha256, stored.size
        media.mime, media.filename, media.variants = mime, file.filename, variants
        media.updated_at = utcnow()
        await _note(session, message_id, media_status="stored", sha256=stored.sha256, size=stored.size, mime=mime)
        await session.flush()
    return media


async def mark_media_failed(
    session: AsyncSession, channel_id: int, message_id: int, media_id: str, error: str, errcode: int | None
) -> None:
    """The platform will not give the file: `expired` when it no longer knows the id, else `failed`."""
    status = "expired" if errcode == UNKNOWN_MEDIA else "failed"
    media = await _row(session, channel_id, message_id, media_id)
    media.status, media.error, media.updated_at = status, error, utcnow()
    await _note(session, message_id, media_status=status, media_error=error)


async def _row(session: AsyncSession, channel_id: int, message_id: int, media_id: str) -> Media:
    """The message's pending row (a job queued before rows were made at ingest gets a new one)."""
    media = await media_repo.vault_row(session, message_id)
    if media is None:
        message = await session.get(Message, message_id)
        media = Media(
            channel_id=channel_id,
            message_id=message_id,
            direction="in",
            source_media_id=media_id,
            kind=message.content_type if message is not None else None,
        )
        session.add(media)
    return media


async def _note(session: AsyncSession, message_id: int, **attributes: Any) -> None:
    """The media's state in the message's content_attributes too (what the API showed before media rows)."""
    message = await session.get(Message, message_id)
    if message is not None:
        message.content_attributes = {**message.content_attributes, **attributes}
        message.updated_at = utcnow()
