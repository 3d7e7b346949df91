"""MpChannel: an Official Account's legacy kefu behind the Channel contract (gateway.channels.base).

Docs: developers.weixin.qq.com/doc/service/api/customer/ and /doc/service/guide/dev/push/ (docs/platforms.md
§4, §5.5). MP pushes content in the callback itself, so there is nothing to pull.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from gateway.channels.base import (
    AgentInfo,
    CallbackRequest,
    CallbackResult,
    ConversationRef,
    InboxInfo,
    MediaFile,
    OutboundMessage,
    SendResult,
)
from gateway.channels.config import ChannelConfig
from gateway.channels.mp_normalize import event_key, normalize
from gateway.domain import ChannelKind, ContactProfile, ConversationStatus, StateChange
from gateway.errors import (
    ConfigError,
    InvalidArgument,
    InvalidRequest,
    PlatformError,
    SignatureError,
    TransportError,
    UnsupportedByChannel,
    XmlParseError,
)
from gateway.wechat.crypto import check_plain_signature
from gateway.wechat.http import ApiClient
from gateway.wechat.mp_kefu import MpKefuClient
from gateway.wechat.tokens import Credential
from gateway.wechat.xmlmsg import parse_verified, parse_xml

log = logging.getLogger(__name__)

CALLBACK_MODES = ("plain", "compat", "safe")
PROFILE_CONCURRENCY = 5

# Unified content types MP can send (link goes as a one-article news), plus MP-only msgtypes by name;
# outbound_payload() maps them.
SEND_TYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "news",
        "link",
        "menu",
        "miniprogram",
        "music",
        "mpnews",
        "mpnewsarticle",
        "wxcard",
    }
)


def _now() -> datetime:
    return datetime.now(tz=UTC)


class MpChannel:
    """公众号客服 (multi-kf). Settings: api_base, callback_mode ("plain" | "compat" | "safe"),
    receive_ids, token_kind ("mp" = stable_token, default; "mp-token" = /cgi-bin/token), name.
    Secrets: secret (AppSecret), token (callback Token), encoding_aes_key.

    Callbacks: a POST is encrypted when the query says `encrypt_type=aes` or the body holds
    `<Encrypt>`. `signature` (3-part) is checked whenever present and is required for plain
    bodies; encrypted bodies must also carry a valid `msg_signature` over the Encrypt text and
    decrypt to this appid (or a configured receive id). A channel in "safe" mode refuses plain
    bodies with SignatureError (-40001): nothing would authenticate their content.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.MP
    display_name: ClassVar[str] = "WeChat Official Account (公众号客服)"
    default_api_base: ClassVar[str] = "https://api.weixin.qq.com"
    send_types: ClassVar[frozenset[str]] = SEND_TYPES

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self.channel_id = config.channel_id
        self.app_id = config.app_id
        self.settings = config.settings
        self.callback_mode = config.settings.get("callback_mode", "plain")
        if self.callback_mode not in CALLBACK_MODES:
            raise ConfigError(f"callback_mode must be one of {CALLBACK_MODES}")
        token_kind = config.settings.get("token_kind", "mp")
        if token_kind not in ("mp", "mp-token"):
            raise ConfigError('token_kind must be "mp" (stable_token) or "mp-token"')
        self.callback_token = config.callback_token
        self.credential = Credential(
            kind=token_kind, app_id=config.app_id, secret=config.secret, api_base=config.api_base(self.default_api_base)
        )
        self.tokens = config.tokens
        self.http = config.http
        self.client = MpKefuClient(ApiClient(config.http, self.credential, config.tokens, on_call=config.on_call))

    # ------------------------------------------------------------------ callbacks

    async def handle_callback(self, request: CallbackRequest) -> CallbackResult:
        """GET: URL check, echostr (plain in every MP mode) returned as-is. POST: verify, decrypt,
        normalize; reply "success". Raises SignatureError, XmlParseError, ReceiveIdError, …"""
        q = request.query
        timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
        if not self.callback_token:
            raise SignatureError("channel has no callback token")
        if request.method.upper() == "GET":
            check_plain_signature(self.callback_token, q.get("signature", ""), timestamp, nonce)
            return CallbackResult(reply=q.get("echostr", ""), event_kind="url_verification")
        envelope = parse_xml(request.body)
        encrypted = q.get("encrypt_type", "").lower() == "aes" or "Encrypt" in envelope
        if "signature" in q or not encrypted:
            check_plain_signature(self.callback_token, q.get("signature", ""), timestamp, nonce)
        if encrypted:
            encrypt = envelope.get("Encrypt")
            if not isinstance(encrypt, str) or not encrypt:
                raise XmlParseError("encrypted callback without an <Encrypt> element")
            crypto = self.config.crypto()
            crypto.check_signature(q.get("msg_signature", ""), timestamp, nonce, encrypt)
            payload = crypto.decrypt(encrypt)
            fields = parse_verified(payload)  # the signature held: a bad document is a MalformedCallback
        elif self.callback_mode == "safe":
            raise SignatureError("plain callback refused: the channel is in safe mode")
        else:
            payload = request.body.decode("utf-8", "replace")
            fields = envelope
        batch = normalize(fields, app_id=self.app_id, channel_id=self.channel_id, payload=payload)
        kind = f"event:{fields.get('Event', '')}" if fields.get("MsgType") == "event" else str(fields["MsgType"])
        return CallbackResult(event_key=event_key(fields), event_kind=kind, payload=payload, batch=batch)

    # ------------------------------------------------------------------ actions

    async def send(self, ref: ConversationRef, message: OutboundMessage) -> SendResult:
        """custom/send (never retried: MP has no idempotency key). `attributes.kf_account` sends as
        that kf. The platform returns no id, so source_id is our msgid."""
        msgtype, payload = outbound_payload(message)
        kf_account = message.attributes.get("kf_account") or None
        raw = await self.client.send(ref.contact_source_id, msgtype, payload, kf_account=kf_account)
        return SendResult(source_id=message.msgid, raw=raw)

    async def typing(self, ref: ConversationRef, on: bool) -> None:
        await self.client.typing(ref.contact_source_id, on)

    async def handover(self, ref: ConversationRef, target: str, agent_source_id: str | None = None) -> StateChange:
        """ "agent" → kfsession/create (65402 kf not bound, 65415 kf offline). A user another kf
        serves (getsession) is moved the only way the platform allows: kfsession/close for that kf,
        then create for the new one; when the create is refused the user goes back to the first kf
        and the refusal is raised with `session_after` saying where the user ended up. MP has no API
        to queue a user or hand it back to a bot: UnsupportedByChannel."""
        if target != "agent":
            raise UnsupportedByChannel(f"MP cannot hand a conversation to {target!r}", field="target")
        if not agent_source_id:
            raise InvalidRequest("handover to an agent needs the kf_account", field="agent_source_id")
        openid = ref.contact_source_id
        current = (await self.client.get_session(openid)).kf_account
        if current and current != agent_source_id:
            await self.client.close_session(current, openid)
            try:
                await self.client.create_session(agent_source_id, openid)
            except PlatformError as refused:
                try:
                    await self.client.create_session(current, openid)
                    refused.session_after = self._change(ref, ConversationStatus.OPEN, "kfsession", current)
                except PlatformError as exc:
                    log.warning("could not give %s back to %s after a refused move: %s", openid, current, exc)
                    refused.session_after = self._change(ref, ConversationStatus.RESOLVED, "kf_close_session", None)
                raise
        else:
            await self.client.create_session(agent_source_id, openid)
        return self._change(ref, ConversationStatus.OPEN, "kfsession", agent_source_id)

    async def resolve(self, ref: ConversationRef) -> StateChange:
        """kfsession/close for the kf holding the session (looked up when the ref has none)."""
        assignee = ref.assignee_source_id or (await self.client.get_session(ref.contact_source_id)).kf_account
        if assignee:
            await self.client.close_session(assignee, ref.contact_source_id)
        return self._change(ref, ConversationStatus.RESOLVED, "kf_close_session", None)

    async def session_state(self, ref: ConversationRef) -> StateChange:
        """getsession (a kf → open), else getwaitcase (listed → queued), else pending. The wait list
        shows only the earliest 100 users, so a user further back reads as pending."""
        session = await self.client.get_session(ref.contact_source_id)
        if session.kf_account:
            return self._change(ref, ConversationStatus.OPEN, "kfsession", session.kf_account)
        waiting = await self.client.wait_cases()
        if any(case.openid == ref.contact_source_id for case in waiting.waitcaselist):
            return self._change(ref, ConversationStatus.QUEUED, "waitcase", "")
        return self._change(ref, ConversationStatus.PENDING, "none", "")

    async def waiting(self) -> tuple[list[str], bool]:
        """getwaitcase: the openids waiting for a kf, earliest first, and whether that is all of them
        (the platform lists only the earliest 100 while `count` says how many wait)."""
        found = await self.client.wait_cases()
        openids = [case.openid for case in found.waitcaselist if case.openid]
        return openids, found.count <= len(openids)

    def _change(
        self, ref: ConversationRef, status: ConversationStatus, state: str, assignee: str | None
    ) -> StateChange:
        return StateChange(
            inbox_source_id=self.app_id,
            contact_source_id=ref.contact_source_id,
            at=_now(),
            status=status,
            platform_state=state,
            assignee_source_id=assignee,
        )

    async def fetch_profiles(self, source_ids: list[str]) -> list[ContactProfile]:
        """user/info per openid, PROFILE_CONCURRENCY at a time; openids the platform calls
        invalid (40003) are skipped, other errors raise."""
        gate = asyncio.Semaphore(PROFILE_CONCURRENCY)

        async def one(openid: str) -> ContactProfile | None:
            async with gate:
                try:
                    info = await self.client.user_info(openid)
                except InvalidArgument as exc:
                    log.info("user/info skipped %s: %s", openid, exc)
                    return None
            return ContactProfile(
                source_id=info.openid or openid,
                name=info.nickname or None,
                avatar_url=info.headimgurl or None,
                gender=info.sex if info.subscribe else None,
                unionid=info.unionid or None,
                raw={
                    "subscribe": info.subscribe,
                    "subscribe_time": info.subscribe_time,
                    "language": info.language,
                    "remark": info.remark,
                },
            )

        results = await asyncio.gather(*(one(o) for o in dict.fromkeys(source_ids)))
        return [p for p in results if p is not None]

    async def list_inboxes(self) -> list[InboxInfo]:
        """The account itself is the one inbox."""
        return [InboxInfo(source_id=self.app_id, name=self.settings.get("name") or self.app_id)]

    async def list_agents(self) -> list[AgentInfo]:
        """getkflist merged with getonlinekflist (status 1 = online)."""
        accounts, online = await asyncio.gather(self.client.list_accounts(), self.client.list_online())
        live = {kf.kf_account: kf for kf in online}
        agents = []
        for kf in accounts:
            on = live.get(kf.kf_account)
            agents.append(
                AgentInfo(
                    source_id=kf.kf_account,
                    name=kf.kf_nick,
                    status="online" if on is not None and on.status == 1 else "offline",
                    inbox_source_ids=[self.app_id],
                    raw={
                        "kf_id": kf.kf_id,
                        "kf_wx": kf.kf_wx,
                        "kf_headimgurl": kf.kf_headimgurl,
                        "invite_status": kf.invite_status,
                        "accepted_case": on.accepted_case if on else 0,
                    },
                )
            )
        return agents

    async def upload_media(self, kind: str, filename: str, content: bytes, content_type: str) -> str:
        """Temporary media for sends (valid 3 days; MP has no "file" kind); returns the media_id."""
        if kind == "file":
            raise UnsupportedByChannel("MP kefu cannot send files", field="type")
        return (
            await self.client.upload_media(kind, (filename, content, content_type))
        ).id  # thumbs answer thumb_media_id

    async def add_agent(self, kf_account: str, nickname: str) -> None:
        """kfaccount/add ("prefix@<wechat id>"; 65403 bad nickname, 65404 bad account, 65406 exists)."""
        await self.client.add_account(kf_account, nickname)

    async def update_agent(self, kf_account: str, nickname: str) -> None:
        await self.client.update_account(kf_account, nickname)

    async def delete_agent(self, kf_account: str) -> None:
        await self.client.delete_account(kf_account)

    async def invite_agent(self, kf_account: str, invite_wx: str) -> None:
        """kfaccount/inviteworker: bind a WeChat user to the kf account (65407–65412)."""
        await self.client.invite_worker(kf_account, invite_wx)

    async def verify(self) -> None:
        await self.tokens.get(self.credential)

    async def download_media(self, media_id: str) -> MediaFile:
        """media/get (temporary media live 3 days; 40007 after). The platform answers video with a
        JSON `video_url`, which is fetched here (no token needed)."""
        media = await self.client.get_media(media_id)
        if media.video_url:
            try:
                response = await self.http.get(media.video_url, timeout=60.0)
            except httpx.HTTPError as exc:
                raise TransportError(f"video download failed: {type(exc).__name__}", path="video_url") from None
            if response.status_code != 200:
                raise TransportError(
                    f"video download: HTTP {response.status_code}", path="video_url", status=response.status_code
                )
            content_type = response.headers.get("content-type", "video/mp4")
            return MediaFile(content=response.content, content_type=content_type.split(";")[0].strip())
        content_type = media.content_type.split(";")[0].strip() or "application/octet-stream"
        return MediaFile(content=media.content, content_type=content_type, filename=media.filename)


def outbound_payload(message: OutboundMessage) -> tuple[str, dict[str, Any]]:
    """OutboundMessage (unified vocabulary) → (MP msgtype, payload). UnsupportedByChannel for
    types MP cannot send (file, location, business_card, …); InvalidRequest for >1 news article."""
    a, kind = message.attributes, message.content_type

    def pick(*names: str) -> dict[str, Any]:
        return {n: a[n] for n in names if a.get(n) not in (None, "")}

    if kind == "text":
        return "text", {"content": message.content or a.get("content", "")}
    if kind in ("image", "voice", "mpnews"):
        return kind, pick("media_id")
    if kind == "video":
        return "video", pick("media_id", "thumb_media_id", "title", "description")
    if kind == "music":
        return "music", pick("title", "description", "musicurl", "hqmusicurl", "thumb_media_id")
    if kind in ("news", "link"):
        articles = a.get("articles") or [
            {
                "title": a.get("title") or message.content or "",
                "description": a.get("description", ""),
                "url": a.get("url", ""),
                "picurl": a.get("picurl") or a.get("pic_url", ""),
            }
        ]
        if len(articles) != 1:
            raise InvalidRequest("MP custom/send takes exactly one news article", field="articles")
        return "news", {"articles": articles}
    if kind == "mpnewsarticle":
        return "mpnewsarticle", pick("article_id")
    if kind == "wxcard":
        return "wxcard", pick("card_id")
    if kind == "menu":
        items = [
            {"id": str(i.get("id", "")), "content": str(i.get("content", ""))}
            for i in a.get("items") or a.get("list") or []
        ]
        return "msgmenu", {
            "head_content": a.get("head_content") or message.content or "",
            "list": items,
            "tail_content": a.get("tail_content", ""),
        }
    if kind == "miniprogram":
        return "miniprogrampage", pick("title", "appid", "pagepath", "thumb_media_id")
    raise UnsupportedByChannel(f"MP custom/send cannot send {kind!r}", field="content_type")
