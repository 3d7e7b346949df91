"""`POST /api/v1/channels/{id}/media`: upload a file for a later send; cached by content for its 3-day life.

The answer's `media_id` goes into `POST /conversations/{id}/messages` (content_type image, voice,
video or file). The same bytes uploaded again within the platform's lifetime reuse the cached
media_id instead of a second upload.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from litestar import Request, post
from litestar.datastructures import UploadFile
from msgspec import Struct

from gateway.api.auth import SECURITY
from gateway.db.repositories import media as media_repo
from gateway.db.types import utcnow
from gateway.errors import InvalidRequest
from gateway.runtime import Runtime

KINDS = ("image", "voice", "video", "file")
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
async def upload_media(channel_id: int, request: Request, runtime: Runtime) -> MediaUploaded:
    """Multipart form: `type` (image | voice | video | file) and `file`. Platform limits apply
    (WeCom: image ≤10 MB jpg/png, voice ≤2 MB amr, video ≤10 MB mp4, file ≤20 MB)."""
    try:
        form = await request.form()
    except Exception:  # a body the multipart parser cannot read is the client's mistake
        raise InvalidRequest("the body must be multipart/form-data with `type` and `file`", field="file") from None
    kind, upload = form.get("type"), form.get("file")
    if kind not in KINDS:
        raise InvalidRequest(f"type must be one of {', '.join(KINDS)}", field="type")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest("a file part named `file` is required", field="file")
    content = await upload.read()
    if not content:
        raise InvalidRequest("the file is empty", field="file")
    digest = hashlib.sha256(content).hexdigest()
    async with runtime.db.sessions() as session:
        cached = await media_repo.cached_upload(session, channel_id, digest, kind, utcnow())
    if cached is not None:
        return MediaUploaded(
            media_id=cached.source_media_id or "",
            type=kind,
            sha256=digest,
            size=len(content),
            expires_at=cached.expires_at or utcnow(),
            reused=True,
        )
    channel = await runtime.channel(channel_id)
    media_id = await channel.upload_media(
        kind, upload.filename or f"upload.{kind}", content, upload.content_type or "application/octet-stream"
    )
    expires_at = utcnow() + LIFETIME
    async with runtime.db.session() as session:
        await media_repo.remember_upload(
            session, channel_id, media_id, kind, digest, len(content), upload.content_type, upload.filename, expires_at
        )
    return MediaUploaded(
        media_id=media_id, type=kind, sha256=digest, size=len(content), expires_at=expires_at, reused=False
    )
