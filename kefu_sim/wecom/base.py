"""WeCom basics: gettoken, temporary media (media/upload, media/get) and the token → corp lookup.

docs/platforms.md §1.1 and §2.8. A token belongs to "wecom:<corpid>:<secret>"; fetching again within its
validity returns the same token. Media lives 3 days and is shared by every app of the corp.
"""

from __future__ import annotations

import base64
import string
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from kefu_sim.common import authorize, ok
from kefu_sim.wecom.state import Media, WeComCorp
from kefu_sim.world import SimError, World

MB = 1024 * 1024
MEDIA_TYPES: dict[str, tuple[int, int, tuple[str, ...]]] = {
    # type: (max bytes, errcode when too big, accepted extensions; () = any)
    "image": (10 * MB, 40009, (".jpg", ".jpeg", ".png")),
    "voice": (2 * MB, 40010, (".amr",)),
    "video": (10 * MB, 40011, (".mp4",)),
    "file": (20 * MB, 40006, ()),
}
MAGIC = {".jpg": b"\xff\xd8\xff", ".png": b"\x89PNG", ".amr": b"#!AMR"}
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".amr": "audio/amr",
    ".mp4": "video/mp4",
}


def corp_for(request: Request, world: World) -> WeComCorp:
    """The corp behind the request's access_token (41001 / 40014 / 42001 through authorize)."""
    grant = authorize(request, world, "wecom")
    corpid = grant.owner.split(":", 2)[1]
    corp = world.state.corps.get(corpid)
    if corp is None:
        raise SimError(40014, "invalid access_token")
    return corp


def store_media(
    world: World, corp: WeComCorp, media_type: str, filename: str, content: bytes, content_type: str | None = None
) -> Media:
    """Keep a media file for 3 days (used by uploads and by customers sending images, voice...)."""
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    media = Media(
        media_id=world.new_id("", 44, string.ascii_letters + string.digits + "-_"),
        type=media_type,
        filename=filename,
        content_type=content_type or CONTENT_TYPES.get(ext, "application/octet-stream"),
        size=len(content),
        created_at=world.now(),
        data=base64.b64encode(content).decode(),
    )
    corp.media[media.media_id] = media
    return media


def live_media(world: World, corp: WeComCorp, media_id: object) -> Media:
    """A media_id of this corp that has not expired; 40007 otherwise."""
    media = corp.media.get(media_id) if isinstance(media_id, str) else None
    if media is None or not media.alive(world.now()):
        raise SimError(40007, f"invalid media_id: {media_id}")
    return media


def _format_ok(content: bytes, ext: str, accepted: tuple[str, ...]) -> bool:
    if not accepted:
        return True
    if ext in accepted:
        return True
    return any(content.startswith(MAGIC[e]) for e in accepted if e in MAGIC) or (
        ".mp4" in accepted and content[4:8] == b"ftyp"
    )


@get("/cgi-bin/gettoken", sync_to_thread=False)
def gettoken(request: Request, world: World) -> dict[str, Any]:
    """41002 corpid missing, 41004 secret missing, 40013 unknown corpid, 40001 wrong secret."""
    corpid = request.query_params.get("corpid")
    secret = request.query_params.get("corpsecret")
    if not corpid:
        raise SimError(41002, "corpid missing")
    if not secret:
        raise SimError(41004, "corpsecret missing")
    corp = world.state.corps.get(corpid)
    if corp is None:
        raise SimError(40013, "invalid corpid")
    if secret not in corp.secrets:
        raise SimError(40001, "invalid credential, hint: corpsecret does not match the corpid")
    owner = f"wecom:{corpid}:{secret}"
    now = world.now()
    alive = [g for g in world.tokens_of(owner) if g.expires_at > now]
    grant = max(alive, key=lambda g: g.expires_at) if alive else world.issue_token(owner)
    return ok(access_token=grant.value, expires_in=int(grant.expires_at - now))


@post("/cgi-bin/media/upload", status_code=200, request_max_body_size=21 * MB)
async def media_upload(request: Request, world: World) -> dict[str, Any]:
    """Multipart field `media`; type=image|voice|video|file. Size/format limits of docs/platforms.md §2.8."""
    corp = corp_for(request, world)
    media_type = request.query_params.get("type", "")
    if media_type not in MEDIA_TYPES:
        raise SimError(40004, f"invalid media type: {media_type!r}")
    try:
        form = await request.form()
    except Exception:  # the framework's multipart errors must not leak as a 4xx page
        raise SimError(41005, "media data missing: body is not multipart/form-data") from None
    upload = form.get("media")
    if not isinstance(upload, UploadFile):
        raise SimError(41005, "media data missing: no multipart field named 'media'")
    content = await upload.read()
    filename = upload.filename or "media"
    max_bytes, too_big, accepted = MEDIA_TYPES[media_type]
    if not content:
        raise SimError(44001, "empty media data")
    if len(content) <= 5:
        raise SimError(40006, "invalid file size: files must be larger than 5 bytes")
    if len(content) > max_bytes:
        raise SimError(too_big, f"invalid {media_type} size: more than {max_bytes // MB} MB")
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not _format_ok(content, ext, accepted):
        raise SimError(40005, f"invalid file type for {media_type}: accepted {', '.join(accepted)}")
    content_type = upload.content_type if upload.content_type not in ("", "application/octet-stream") else None
    media = store_media(world, corp, media_type, filename, content, content_type)
    return ok(type=media_type, media_id=media.media_id, created_at=str(int(media.created_at)))


@get("/cgi-bin/media/get", sync_to_thread=False)
def media_get(request: Request, world: World) -> Response[bytes]:
    """The file itself; errors come back as JSON (41006 missing, 40007 unknown or older than 3 days)."""
    corp = corp_for(request, world)
    media_id = request.query_params.get("media_id")
    if not media_id:
        raise SimError(41006, "media_id missing")
    media = live_media(world, corp, media_id)
    return Response(
        base64.b64decode(media.data),
        media_type=media.content_type,
        headers={"Content-Disposition": disposition(media.filename)},
    )


def disposition(filename: str) -> str:
    """The name as ASCII (others replaced) and, for names like 报价单.pdf, as RFC 5987 `filename*`."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_")
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


HANDLERS = [gettoken, media_upload, media_get]
