"""Queueing a reply over REST: the JSON body (`POST …/messages`) and the multipart variant that
uploads the reply's media in the same request (`POST …/messages/upload`).

Both check the reply against its platform's spec and the reply policy before anything is written
(gateway.outbound.replies.queue_message); the multipart variant checks them before it uploads, so
a reply that would be refused costs no upload.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api import render
from gateway.api.actor import Actor, current_actor
from gateway.api.auth import SECURITY
from gateway.api.media import MAX_UPLOAD, read_form, read_upload, store_upload
from gateway.api.schemas import MessageOut
from gateway.channels.pool import ChannelPool
from gateway.channels.send_specs import SPECS, canonical
from gateway.channels.sendspec import validate
from gateway.db.engine import Database
from gateway.db.repositories import audit, idempotency
from gateway.db.repositories import media as media_repo
from gateway.db.repositories.operators import linked_agent
from gateway.domain import ChannelKind
from gateway.errors import IdempotencyKeyBusy, IdempotencyKeyReused, InvalidRequest, ReplyNotAllowed
from gateway.outbound import replies
from gateway.outbound.jobs import JobRunner

IDEMPOTENCY_WAIT = 10.0  # seconds a repeat waits for the first request with its key to finish
# the column holds 256 characters, an operator's key with its "operator:<id>:" prefix too
IDEMPOTENCY_KEY_MAX = 200
MEDIA_TYPES = ("image", "voice", "video", "file", "mpnews")  # types whose `media_id` a `media` part may carry


class SendMessage(Struct, kw_only=True, forbid_unknown_fields=True):
    """A reply: `content_type` and that type's fields, named as the platform names them.

    Which fields each type takes, per platform, is in docs/replies.md (the checks are
    gateway/channels/send_specs.py); a field the type does not take, or one missing or out of
    bounds, answers 422 naming it. WeCom: text, image, voice, video, file, link, miniprogram,
    msgmenu, location, business_card, ca_link. MP: text, image, voice, video, music, news, mpnews,
    mpnewsarticle, msgmenu, wxcard, miniprogrampage, each with an optional kf_account."""

    content_type: str = "text"
    content: str | None = None
    media_id: str | None = None
    thumb_media_id: str | None = None
    title: str | None = None
    description: str | None = None
    url: str | None = None
    picurl: str | None = None
    musicurl: str | None = None
    hqmusicurl: str | None = None
    articles: list[dict[str, Any]] | None = None
    article_id: str | None = None
    card_id: str | None = None
    link_url: str | None = None
    appid: str | None = None
    pagepath: str | None = None
    head_content: str | None = None
    items: list[dict[str, Any]] | None = None
    tail_content: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    userid: str | None = None
    kf_account: str | None = None  # MP: send as this kf account (name@wechat-id)
    agent_id: int | None = None  # the gateway agent replying (for the record)


def body_of(data: SendMessage) -> dict[str, Any]:
    """The flat reply body: every given field but the record-only `agent_id`."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None and k != "agent_id"}


async def queue_reply(
    request: Request[Any, Any, Any], conversation_id: int, data: SendMessage, db: Database, jobs: JobRunner
) -> Response[MessageOut]:
    """Queue `data` (202), honouring `Idempotency-Key` (README): repeats, even concurrent ones, get the
    first answer; a request that failed stored nothing, so its key may be used again."""
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidRequest(
            f"Idempotency-Key is longer than {IDEMPOTENCY_KEY_MAX} characters", field="Idempotency-Key"
        )
    actor = current_actor(request)
    # keys are scoped per API key; an operator's are kept apart under a prefix of their own
    scoped_key = f"operator:{actor.id}:{key}" if actor.operator_id is not None else (key or "")
    digest = hashlib.sha256(msgspec.json.encode([conversation_id, data])).hexdigest()
    async with db.session() as session:
        if key:
            try:
                await idempotency.hold(session, actor.api_key_id, scoped_key, wait=IDEMPOTENCY_WAIT)
            except idempotency.KeyBusy:
                raise IdempotencyKeyBusy("a request with this Idempotency-Key is still running; retry") from None
            earlier = await idempotency.find(session, actor.api_key_id, scoped_key)
            if earlier is not None:
                if earlier.request_hash != digest:
                    raise IdempotencyKeyReused(
                        "Idempotency-Key was used for a different request", field="Idempotency-Key"
                    )
                return Response(msgspec.convert(earlier.response, MessageOut), status_code=earlier.status_code)
        body, agent_id = await _as_operator(session, actor, conversation_id, body_of(data), data.agent_id)
        message = await replies.queue_message(
            session, conversation_id, body, agent_id=agent_id, operator_id=actor.operator_id, actor=actor.ref()
        )
        await audit.record(
            session,
            actor.ref(),
            "message.queued",
            subject_type="message",
            subject_id=message.id,
            detail={"conversation_id": conversation_id, "content_type": message.content_type},
        )
        media = await media_repo.for_messages(session, [message])  # an uploaded file is served at once
        out = render.message_out(message, attachment=render.attachment_out(message, media.get(message.id)))
        if key and not await idempotency.remember(
            session, actor.api_key_id, scoped_key, digest, 202, msgspec.to_builtins(out)
        ):
            raise IdempotencyKeyBusy("a concurrent request with this Idempotency-Key answered first; retry")
    jobs.notify()
    return Response(out, status_code=202)


async def _as_operator(
    session: AsyncSession, actor: Actor, conversation_id: int, body: dict[str, Any], agent_id: int | None
) -> tuple[dict[str, Any], int | None]:
    """An operator's reply names their platform agent on the conversation's channel when one is
    linked: `agent_id` defaults to it, and on MP the reply goes out as that kf account (unless the
    body names another `kf_account`)."""
    if actor.operator_id is None:
        return body, agent_id
    _, _, channel, _ = await replies.load_context(session, conversation_id)
    linked = await linked_agent(session, actor.operator_id, channel.id)
    if linked is None:
        return body, agent_id
    if channel.kind == ChannelKind.MP and not body.get("kf_account"):
        body = {**body, "kf_account": linked.source_id}
    return body, agent_id if agent_id is not None else linked.id


@post(
    "/api/v1/conversations/{conversation_id:int}/messages/upload",
    status_code=202,
    tags=["actions"],
    security=SECURITY,
    request_max_body_size=2 * MAX_UPLOAD + 64 * 1024,
)
async def send_with_upload(
    conversation_id: int,
    request: Request[Any, Any, Any],
    db: Database,
    channels: ChannelPool,
    jobs: JobRunner,
    media_dir: Path,
) -> Response[MessageOut]:
    """A reply and its media in one request. Multipart form: `message` (the JSON body of
    `POST …/messages`, without the ids the files stand for), `media` (the file of an image, voice,
    video or file reply) and/or `thumb` (the thumbnail of a link, video, music or miniprogram
    reply). The files are uploaded to the platform (cached by content) and the reply is queued as
    `POST …/messages` would; the shape and the reply policy are checked before any upload."""
    form = await read_form(request, "the body must be multipart/form-data with `message`", field="message")
    raw = form.get("message")
    try:
        data = msgspec.json.decode(raw if isinstance(raw, str | bytes) else b"", type=SendMessage)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"message must be the JSON body of a reply: {exc}", field="message") from None
    files = {name: form.get(name) for name in ("media", "thumb")}
    given = {name: part for name, part in files.items() if isinstance(part, UploadFile)}
    if not given:
        raise InvalidRequest("give a `media` or `thumb` file (or use POST …/messages)", field="media")
    contents = {name: await read_upload(part, name) for name, part in given.items()}  # sizes checked first
    body = body_of(data)
    content_type = canonical(str(body.get("content_type") or "text"))
    for name, field in (("media", "media_id"), ("thumb", "thumb_media_id")):
        if name in given:
            if body.get(field):
                raise InvalidRequest(f"give {field} or a `{name}` file, not both", field=field)
            if name == "media" and content_type not in MEDIA_TYPES:
                raise InvalidRequest(f"a {content_type!r} reply carries no `media` file", field="media")
            body[field] = f"<{name} upload>"  # stands for the id the upload will give
    async with db.sessions() as session:
        conversation, _, channel, _ = await replies.load_context(session, conversation_id)
        validate(SPECS[channel.kind], channel.kind, {**body, "content_type": content_type})
        decision = await replies.reply_decision(session, conversation, channel.kind)
    if not decision:
        raise ReplyNotAllowed(decision.reason or "refused", decision.detail)
    ids: dict[str, str] = {}
    for name, part in given.items():
        content = contents[name]
        kind = "thumb" if name == "thumb" else ("image" if content_type == "mpnews" else content_type)
        uploaded = await store_upload(
            channels, db, media_dir, channel.id, kind, part.filename or f"{name}.{kind}", content, part.content_type
        )
        ids["media_id" if name == "media" else "thumb_media_id"] = uploaded.media_id
    return await queue_reply(request, conversation_id, msgspec.structs.replace(data, **ids), db, jobs)
