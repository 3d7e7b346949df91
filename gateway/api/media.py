"""`POST /api/v1/channels/{id}/media`: upload a file for a later send; cached by content for its 3-day life.

The answer's `media_id` goes into `POST /conversations/{id}/messages` (content_type image, voice,
video or file); a `thumb` upload answers the `thumb_media_id` that link, video, music and
miniprogram replies need (MP uploads it as its own thumb type, WeCom as an image). The same
bytes uploaded again within the platform's lifetime reuse the cached media_id instead of a
second upload.

The bytes are kept in the media vault as inbound media are (content-addressed under
GATEWAY_MEDIA_DIR, a thumbnail of an image, an MP3 of a voice): the replies that name the
media_id show it as their `attachment`, served by `GET /api/v1/media/{id}`. One row per upload
is shared by all those replies, and identical bytes are one file on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from litestar import Request, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from msgspec import Struct

from gateway.api.auth import SECURITY
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.repositories import media as media_repo
from gateway.db.types import utcnow
from gateway.domain import ChannelKind
from gateway.errors import InvalidRequest, PayloadTooLarge
from gateway.inbound.vault import keep, sniff_mime

KINDS = ("image", "voice", "video", "file", "thumb")
LIFETIME = timedelta(days=3) - timedelta(minutes=30)  # keep a margin before the platform forgets it
MAX_UPLOAD = 20 * 1024 * 1024  # the largest platform limit (WeCom file)


class MediaUploaded(Struct, kw_only=True):
    media_id: str
    type: str
    sha256: str
    size: int
    expires_at: datetime
    reused: bool


@post(
    "/api/v1/channels/{channel_id:int}/media",
    status_code=201,
    tags=["media"],
    security=SECURITY,
    request_max_body_size=MAX_UPLOAD + 64 * 1024,
)
async def upload_media(
    channel_id: int, request: Request, channels: ChannelPool, db: Database, media_dir: Path
) -> MediaUploaded:
    """Multipart form: `type` (image | voice | video | file | thumb) and `file`. Platform limits apply
    (WeCom: image ≤10 MB jpg/png, voice ≤2 MB amr, video ≤10 MB mp4, file ≤20 MB)."""
    form = await read_form(request, "the body must be multipart/form-data with `type` and `file`", field="file")
    kind, upload = form.get("type"), form.get("file")
    if kind not in KINDS:
        raise InvalidRequest(f"type must be one of {', '.join(KINDS)}", field="type")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest("a file part named `file` is required", field="file")
    content = await read_upload(upload, "file")
    return await store_upload(
        channels, db, media_dir, channel_id, kind, upload.filename or f"upload.{kind}", content, upload.content_type
    )


async def read_form(request: Request[Any, Any, Any], message: str, *, field: str) -> FormMultiDict:
    """The multipart form; 413 `payload_too_large` past the route's body limit (nothing read further)."""
    try:
        return await request.form()
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"the body is larger than this endpoint takes (files up to {MAX_UPLOAD} bytes)") from None
    except Exception:  # a body the multipart parser cannot read is the client's mistake
        raise InvalidRequest(message, field=field) from None


async def read_upload(part: UploadFile, name: str) -> bytes:
    """A file part's bytes: 413 past MAX_UPLOAD, 422 when empty."""
    content = await part.read()
    if len(content) > MAX_UPLOAD:
        raise PayloadTooLarge(f"the `{name}` file is larger than {MAX_UPLOAD} bytes", field=name)
    if not content:
        raise InvalidRequest(f"the `{name}` file is empty", field=name)
    return content


async def store_upload(
    channels: ChannelPool,
    db: Database,
    media_dir: Path,
    channel_id: int,
    kind: str,
    filename: str,
    content: bytes,
    content_type: str | None,
) -> MediaUploaded:
    """Upload `content` as temporary media of `kind` (or reuse the cached upload of the same bytes),
    its bytes kept in the vault under `media_dir`."""
    digest = hashlib.sha256(content).hexdigest()
    async with db.sessions() as session:
        cached = await media_repo.cached_upload(session, channel_id, digest, kind, utcnow())
    if cached is not None:
        if not cached.path or not await anyio.Path(cached.path).is_file():  # cached before uploads were kept
            kept = await _keep(media_dir, content, content_type, filename)
            async with db.session() as session:
                await media_repo.keep_cached_upload(session, cached.id, kept)
        return MediaUploaded(
            media_id=cached.source_media_id or "",
            type=kind,
            sha256=digest,
            size=len(content),
            expires_at=cached.expires_at or utcnow(),
            reused=True,
        )
    channel = await channels.get(channel_id)
    wecom_thumb = kind == "thumb" and channel.kind == ChannelKind.WECOM
    platform_kind = "image" if wecom_thumb else kind  # WeCom's thumb_media_id is an image
    media_id = await channel.upload_media(platform_kind, filename, content, content_type or "application/octet-stream")
    kept = await _keep(media_dir, content, content_type, filename)  # after the platform took it: no orphan file
    expires_at = utcnow() + LIFETIME
    async with db.session() as session:
        await media_repo.remember_upload(session, channel_id, media_id, kind, kept, filename, expires_at)
    return MediaUploaded(
        media_id=media_id, type=kind, sha256=digest, size=len(content), expires_at=expires_at, reused=False
    )


async def _keep(media_dir: Path, content: bytes, content_type: str | None, filename: str) -> media_repo.Kept:
    """The bytes in the vault with their variants (disk and CPU work, in a worker thread)."""
    mime = sniff_mime(content, content_type, filename)
    stored, variants = await asyncio.to_thread(keep, media_dir, content, mime)
    return media_repo.Kept(path=str(stored.path), sha256=stored.sha256, size=stored.size, mime=mime, variants=variants)
