"""Media rows: the outbound upload cache (a platform media_id per channel, content hash and kind until
it expires, with the bytes kept in the vault) and the inbound vault (a row per media message,
pending → stored | failed | expired). An upload's row is shared by every reply that names its
media_id, so a file reused in many replies is kept once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Inbox, Media, Message
from gateway.db.types import utcnow

MEDIA_KINDS = ("image", "voice", "video", "file")  # message content types that carry a file


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


@dataclass(frozen=True, slots=True)
class Kept:
    """Where the vault put an upload's bytes, and the forms derived from them."""

    path: str
    sha256: str
    size: int
    mime: str
    variants: dict[str, Any]


async def remember_upload(
    session: AsyncSession,
    channel_id: int,
    media_id: str,
    kind: str,
    kept: Kept,
    filename: str | None,
    expires_at: datetime,
) -> Media:
    media = Media(
        channel_id=channel_id,
        direction="out",
        source_media_id=media_id,
        status="stored",
        kind=kind,
        path=kept.path,
        sha256=kept.sha256,
        size=kept.size,
        mime=kept.mime,
        filename=filename,
        variants=kept.variants,
        expires_at=expires_at,
    )
    session.add(media)
    await session.flush()
    return media


async def keep_cached_upload(session: AsyncSession, media_id: int, kept: Kept) -> None:
    """A cached upload from before the vault kept uploads gets its copy (its replies then serve it)."""
    media = await session.get(Media, media_id)
    if media is not None:
        media.path, media.mime, media.variants = kept.path, kept.mime, kept.variants
        media.updated_at = utcnow()


# --------------------------------------------------------------------------- the inbound vault


async def add_pending(session: AsyncSession, channel_id: int, items: Sequence[tuple[int, str, str | None]]) -> None:
    """One `pending` vault row per (message id, platform media_id, kind), in the ingest transaction:
    a media message has its media id (and URL) before the download job has run."""
    session.add_all(
        Media(channel_id=channel_id, message_id=message_id, direction="in", source_media_id=media_id, kind=kind)
        for message_id, media_id, kind in items
    )


async def vault_row(session: AsyncSession, message_id: int) -> Media | None:
    """The inbound vault row of a message (the oldest, should a job have raced itself)."""
    return await session.scalar(
        select(Media).where(Media.message_id == message_id, Media.direction == "in").order_by(Media.id).limit(1)
    )


async def get_media(session: AsyncSession, media_id: int) -> Media | None:
    return await session.get(Media, media_id)


async def for_messages(session: AsyncSession, messages: Sequence[Message]) -> dict[int, Media]:
    """message id → its media, for a page of messages in at most two queries: the vault rows of the
    page, then the cached uploads (channel, platform media_id) that outgoing replies without one name."""
    ids = [m.id for m in messages if m.content_type in MEDIA_KINDS]
    if not ids:
        return {}
    found: dict[int, Media] = {}
    for row in await session.scalars(
        select(Media).where(Media.message_id.in_(ids), Media.direction == "in").order_by(Media.id.desc())
    ):
        found[row.message_id or 0] = row  # descending: the oldest row of a message wins
    replies: dict[str, list[Message]] = {}  # platform media_id → the replies naming it (a reused upload)
    for m in messages:
        if m.id in ids and m.id not in found and m.message_type == "outgoing" and m.content_attributes.get("media_id"):
            replies.setdefault(str(m.content_attributes["media_id"]), []).append(m)
    if replies:
        uploads = await session.scalars(
            select(Media)
            .join(Inbox, Inbox.channel_id == Media.channel_id)
            .where(
                Inbox.id.in_({m.inbox_id for named in replies.values() for m in named}),
                Media.direction == "out",
                Media.source_media_id.in_(list(replies)),
            )
            .order_by(Media.id)
        )
        for row in uploads:
            for message in replies.get(row.source_media_id or "", ()):
                found.setdefault(message.id, row)
    return found
