"""MP user info and temporary media (upload/get, 3-day lifetime) on the MP host."""

from __future__ import annotations

import string
from typing import Any

from litestar import Request, Response, get, post

from kefu_sim.mp.kf_accounts import multipart_media
from kefu_sim.mp.ops import app_of, known_follower
from kefu_sim.mp.send import live_media
from kefu_sim.mp.state import MpApp, MpMedia
from kefu_sim.world import SimError, World

# type → (max bytes, errcode when larger): 40009 image, 40010 voice, 40011 video, 40012 thumb size.
MEDIA_LIMITS = {
    "image": (10 * 1024 * 1024, 40009),
    "voice": (2 * 1024 * 1024, 40010),
    "video": (10 * 1024 * 1024, 40011),
    "thumb": (64 * 1024, 40012),
}

# image and thumb formats by extension or leading bytes (40005 otherwise); voice and video are not sniffed
IMAGE_FORMATS = {
    "image": ((".jpg", ".jpeg", ".png", ".gif", ".bmp"), (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")),
    "thumb": ((".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
}


def _format_ok(kind: str, filename: str, data: bytes) -> bool:
    if kind not in IMAGE_FORMATS:
        return True
    extensions, magic = IMAGE_FORMATS[kind]
    return filename.lower().endswith(extensions) or data.startswith(magic)


def store_media(
    world: World,
    app: MpApp,
    kind: str,
    content: bytes,
    *,
    filename: str = "media",
    content_type: str = "application/octet-stream",
) -> MpMedia:
    """Keep `content` as temporary media of `app` (also used for media users send)."""
    media = MpMedia(
        media_id=world.new_id("", 64, string.ascii_letters + string.digits + "_-"),
        type=kind,
        created_at=int(world.now()),
        content=content,
        filename=filename,
        content_type=content_type,
    )
    app.media[media.media_id] = media
    return media


@get("/cgi-bin/user/info", sync_to_thread=False)
def user_info(request: Request, world: World) -> dict[str, Any]:
    """?openid=&lang=: the profile of a follower; `subscribe` 0 carries only openid and unionid."""
    app = app_of(request, world)
    follower = known_follower(app, request.query_params.get("openid"))
    if not follower.subscribed:
        return {"subscribe": 0, "openid": follower.openid, "unionid": follower.unionid}
    person = world.state.persons.get(follower.unionid)
    return {
        "subscribe": 1,
        "openid": follower.openid,
        "nickname": person.nickname if person else "",
        "sex": person.gender if person else 0,
        "language": request.query_params.get("lang") or follower.language,
        "city": "",
        "province": "",
        "country": "",
        "headimgurl": person.avatar if person else "",
        "subscribe_time": follower.subscribe_time,
        "unionid": follower.unionid,
        "remark": follower.remark,
        "groupid": 0,
        "tagid_list": [],
        "subscribe_scene": follower.subscribe_scene,
        "qr_scene": follower.qr_scene,
        "qr_scene_str": follower.qr_scene_str,
    }


@post("/cgi-bin/media/upload", status_code=200)
async def media_upload(request: Request, world: World) -> dict[str, Any]:
    """?type=image|voice|video|thumb, multipart `media` → {type, media_id | thumb_media_id, created_at}.
    40004 unknown type, 41005 no file, 40009–40012 too large, 40005 an image or thumb in another format."""
    app = app_of(request, world)
    kind = request.query_params.get("type")
    if kind not in MEDIA_LIMITS:
        raise SimError(40004, "invalid media type")
    filename, data = await multipart_media(request)
    limit, errcode = MEDIA_LIMITS[kind]
    if len(data) > limit:
        raise SimError(errcode, f"invalid {kind} size: at most {limit} bytes")
    if not _format_ok(kind, filename, data):
        raise SimError(40005, f"invalid file type for {kind}: accepted {', '.join(IMAGE_FORMATS[kind][0])}")
    media = store_media(world, app, kind, data, filename=filename or "media")
    key = "thumb_media_id" if kind == "thumb" else "media_id"
    return {"type": kind, key: media.media_id, "created_at": media.created_at}


@get("/cgi-bin/media/get", sync_to_thread=False)
def media_get(request: Request, world: World) -> Response[bytes]:
    """The bytes of live temporary media; 40007 JSON when unknown or older than 3 days.

    (The platform answers video media with a JSON `video_url`; the simulator serves the bytes.)
    """
    app = app_of(request, world)
    media = live_media(world, app, request.query_params.get("media_id"))
    return Response(
        media.content,
        media_type=media.content_type,
        headers={"Content-Disposition": f'attachment; filename="{media.filename}"'},
    )


HANDLERS = [user_info, media_upload, media_get]
