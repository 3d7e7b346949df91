"""`GET /api/v1/media/{id}`: a file from the media vault, to operators and API keys with `read`.

Serves the original (`?variant=playable` the MP3 of a voice, `?variant=thumb` an image's JPEG
preview) with its type, `Content-Disposition` (RFC 5987 for Chinese names), a strong ETag (the
content hash), Last-Modified and single byte ranges, so a `<video>` seeks and an `<audio>` plays.
The file served is only ever the path recorded in the row, and only when it lies under
GATEWAY_MEDIA_DIR: nothing in the request names a path.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from litestar import MediaType, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream

from gateway.api.auth import SECURITY
from gateway.api.errors import error_body
from gateway.api.ranges import ByteRange, Unsatisfiable, content_disposition, etag_matches, parse_range
from gateway.db.engine import Database
from gateway.db.models import Media
from gateway.db.repositories import media as media_repo
from gateway.errors import MediaExpired, MediaFailed, MediaNotFound, MediaPending, VariantFailed

CHUNK = 64 * 1024
EXTENSIONS = {"audio/amr": ".amr", "audio/silk": ".silk", "audio/mpeg": ".mp3", "image/jpeg": ".jpg"}
# user content on the gateway's origin: never a script, never sniffed into one
SAFETY = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}

Variant = Literal["original", "playable", "thumb"]


def _file(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=bytes, media_type="application/octet-stream", description=description, generate_examples=False
    )


RESPONSES = {  # its error answers: gateway.api.contract_table.RAISES
    200: _file("the whole file, in its own type"),
    206: _file("the bytes of the one `Range` (Content-Range)"),
    304: ResponseSpec(data_container=None, description="If-None-Match matched the ETag"),
}


@get("/api/v1/media/{media_id:int}", tags=["media"], security=SECURITY, responses=RESPONSES)
async def get_media_file(
    media_id: int,
    request: Request[Any, Any, Any],
    db: Database,
    media_dir: Path,
    variant: Annotated[
        Variant, Parameter(description="original (default); playable: a voice as MP3; thumb: an image's preview")
    ] = "original",
    download: Annotated[bool, Parameter(description="Content-Disposition attachment instead of inline")] = False,
) -> Response[Any]:
    """The file, or 206 with the bytes of one `Range`. Errors: 404 media_not_found (no such media,
    no such variant of it, or no copy kept), 409 media_pending / media_failed / variant_failed,
    410 media_expired, 416 (with `Content-Range: bytes */size`)."""
    async with db.sessions() as session:
        media = await media_repo.get_media(session, media_id)
    if media is None:
        raise MediaNotFound(f"no media {media_id}")
    recorded, mime, filename, tag = _pick(media, variant)
    path = _inside(recorded, media_dir)
    stat = path.stat()
    etag = f'"{media.sha256}"' if variant == "original" else f'"{media.sha256}.{variant}"'
    headers = {
        **SAFETY,
        "ETag": etag,
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=86400",
        "Content-Disposition": content_disposition(filename + tag, mime, download=download),
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=headers)
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() not in (etag, headers["Last-Modified"]):
        wanted = None  # the file changed since the client's copy: send it whole
    try:
        byte_range = parse_range(wanted, stat.st_size)
    except Unsatisfiable:
        body = error_body("range_not_satisfiable", f"the file has {stat.st_size} bytes")
        headers = {**headers, "Content-Range": f"bytes */{stat.st_size}"}
        return Response(body, status_code=416, headers=headers, media_type=MediaType.JSON)
    part = byte_range or ByteRange(0, stat.st_size - 1)
    headers["Content-Length"] = str(max(part.length, 0))
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range(stat.st_size)
    return Stream(
        _read(path, part),
        status_code=206 if byte_range is not None else 200,
        media_type=mime,
        headers=headers,
    )


def _pick(media: Media, variant: str) -> tuple[str, str, str, str]:
    """(path, mime, file name, extension) of the requested form, or the error that stands for it."""
    if media.status == "pending":
        raise MediaPending("the vault has not downloaded this media yet; retry shortly")
    if media.status == "failed":
        raise MediaFailed(f"the platform did not give the file: {media.error or 'unknown error'}")
    if media.status == "expired":
        raise MediaExpired("the platform no longer holds this media (3-day lifetime) and no copy was kept")
    if not media.path:
        raise MediaNotFound("the gateway keeps no copy of this media")
    mime = media.mime or "application/octet-stream"
    name = media.filename or f"{media.kind or 'media'}-{media.id}{_extension(mime)}"
    if variant == "original":
        return media.path, mime, name, ""
    derived = media.variants.get(variant)
    if not isinstance(derived, dict):
        raise MediaNotFound(f"media {media.id} ({media.kind or mime}) has no {variant} variant")
    if derived.get("error") or not derived.get("path"):
        raise VariantFailed(f"no {variant} form: {derived.get('error', 'unknown error')}; the original is served")
    derived_mime = str(derived.get("mime") or "application/octet-stream")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return str(derived["path"]), derived_mime, stem, _extension(derived_mime)


def _extension(mime: str) -> str:
    return EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ""


def _inside(recorded: str, media_dir: Path) -> Path:
    """The recorded path, resolved, when it lies under the vault root and exists; 404 otherwise."""
    path = Path(recorded).resolve()
    if not path.is_relative_to(media_dir.resolve()) or not path.is_file():
        raise MediaNotFound("the stored file is not in the vault")
    return path


async def _read(path: Path, part: ByteRange) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        await file.seek(part.start)
        remaining = part.length
        while remaining > 0:
            chunk = await file.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
