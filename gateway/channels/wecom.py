"""WeComChannel: WeCom 微信客服 behind the Channel contract (gateway.channels.base).

Docs: developer.work.weixin.qq.com/document/path/94638 (kf), /96238 (callbacks); docs/platforms.md §2, §5.4.
The callback only says "something new on open_kfid X" (with a 10-minute sync Token); content is
pulled page by page with sync_msg and normalized by gateway.channels.wecom_normalize.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from gateway.channels.base import (
    AgentInfo,
    CallbackRequest,
    CallbackResult,
    ConversationRef,
    InboxInfo,
    MediaFile,
    OutboundMessage,
    PullRequest,
    SendResult,
    SyncPage,
)
from gateway.channels.config import ChannelConfig
from gateway.channels.wecom_normalize import callback_fields, normalize_items
from gateway.domain import WECOM_STATE_STATUS, Batch, ChannelKind, ContactProfile, InboxChange, StateChange
from gateway.errors import (
    InvalidArgument,
    InvalidRequest,
    SignatureError,
    UnsupportedByChannel,
    XmlParseError,
)
from gateway.wechat.crypto import WeChatCrypto
from gateway.wechat.http import ApiClient
from gateway.wechat.tokens import Credential
from gateway.wechat.wecom_kf import WeComKfClient
from gateway.wechat.wecom_kf_types import (
    MEDIA_MESSAGES,
    BusinessCardMsg,
    CaLinkMsg,
    LinkMsg,
    LocationMsg,
    MenuMsg,
    MiniprogramMsg,
    SendPayload,
    TextMsg,
)

# handover target → service_state; the msg_code trans hands out then, and what it is for
HANDOVER_STATES = {"bot": 1, "queue": 2, "agent": 3}
CODE_KINDS = {2: "queue", 3: "taken", 4: "closing"}
_SCENE_RE = re.compile(r"[0-9a-zA-Z_-]{0,32}")
_MSGID_RE = re.compile(r"[0-9a-zA-Z_-]{1,32}")
# a reused msgid is answered with 40058 "invalid parameter" (docs/platforms.md §2.5 only says it must be unique)
DUPLICATE_MSGID_ERRCODES = frozenset({40058})
SEND_TYPES = frozenset(
    {"text", "image", "voice", "video", "file", "link", "miniprogram", "menu", "location", "business_card", "ca_link"}
)


def _now() -> datetime:
    return datetime.now(tz=UTC)


def _values(value: Any) -> list[str]:
    """An XML field that may repeat (parse_xml gives a list then) → its non-empty strings."""
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, str) and v]


class WeComChannel:
    """微信客服 of one corp app. app_id = CorpID (the callback receive id).

    Settings: api_base, receive_ids (extra accepted receive ids, e.g. a SuiteID), welcome_message
    (text for enter_session's welcome_code), voice_format (0 AMR, 1 SILK).
    Secrets: secret (the kf-enabled app's secret), token (callback Token), encoding_aes_key.
    """

    kind: ClassVar[ChannelKind] = ChannelKind.WECOM
    display_name: ClassVar[str] = "WeCom 微信客服"
    default_api_base: ClassVar[str] = "https://qyapi.weixin.qq.com"
    send_types: ClassVar[frozenset[str]] = SEND_TYPES

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self.channel_id = config.channel_id
        self.app_id = config.app_id
        self.settings = config.settings
        self.welcome_message: str | None = config.settings.get("welcome_message") or None
        self.voice_format = int(config.settings.get("voice_format", 0))
        self.credential = Credential(
            kind="wecom", app_id=config.app_id, secret=config.secret, api_base=config.api_base(self.default_api_base)
        )
        self.tokens = config.tokens
        self.client = WeComKfClient(ApiClient(config.http, self.credential, config.tokens, on_call=config.on_call))

    # ------------------------------------------------------------------ callbacks

    def _crypto_or_fail(self) -> WeChatCrypto:
        if not self.config.callback_token:
            raise SignatureError("channel has no callback token")
        return self.config.crypto()

    async def handle_callback(self, request: CallbackRequest) -> CallbackResult:
        """GET: URL check — msg_signature over the encrypted echostr; reply its bare plaintext.
        POST: verify, decrypt, interpret. kf_msg_or_event asks for a pull keyed by its sync Token,
        kf_account_auth_change yields InboxChanges, anything else is only stored.
        Raises SignatureError (-40001), ReceiveIdError (-40005), XmlParseError, DecryptError, …"""
        crypto = self._crypto_or_fail()
        q = request.query
        signature, timestamp, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        if request.method.upper() == "GET":
            plain = crypto.verify_url(signature, timestamp, nonce, q.get("echostr", ""))
            return CallbackResult(reply=plain, event_kind="url_verification")
        payload = crypto.decrypt_message(request.body, signature, timestamp, nonce)
        fields = callback_fields(payload)  # the signature held: a bad document is a MalformedCallback
        msg_type, event = str(fields.get("MsgType", "")), str(fields.get("Event", ""))
        kind = f"event:{event}" if msg_type == "event" else msg_type
        # the platform re-encrypts a redelivery with fresh randomness, but the plaintext is the same
        digest = hashlib.sha1(payload.encode()).hexdigest()[:24]
        if event == "kf_msg_or_event":
            open_kfid, token = str(fields.get("OpenKfId", "")), str(fields.get("Token", ""))
            if not open_kfid:
                raise XmlParseError("kf_msg_or_event without <OpenKfId>")
            return CallbackResult(
                event_key=f"kf:{open_kfid}:{token or digest}",
                event_kind=kind,
                payload=payload,
                pull=PullRequest(stream=open_kfid, token=token or None),
            )
        if event == "kf_account_auth_change":
            batch = Batch(channel_id=self.channel_id)
            batch.inbox_changes += [
                InboxChange(inbox_source_id=i, added=True) for i in _values(fields.get("AuthAddOpenKfId"))
            ]
            batch.inbox_changes += [
                InboxChange(inbox_source_id=i, added=False) for i in _values(fields.get("AuthDelOpenKfId"))
            ]
            return CallbackResult(event_key=f"kf_auth:{digest}", event_kind=kind, payload=payload, batch=batch)
        return CallbackResult(event_key=f"{kind or 'unknown'}:{digest}", event_kind=kind, payload=payload)

    async def pull(self, stream: str, cursor: str | None, *, token: str | None = None, limit: int = 1000) -> SyncPage:
        """One sync_msg page of kf account `stream` after `cursor`. `batch.cursor` is where the next
        page starts (the old cursor when the platform gave none). Loop while `has_more`: a page may
        be empty and still have more. 95007 (InvalidCode) when the sync token expired (10 min)."""
        page = await self.client.sync_msg(stream, cursor, token, limit, self.voice_format)
        batch = normalize_items(self.channel_id, page.msg_list, stream=stream, cursor=page.next_cursor or cursor)
        return SyncPage(batch=batch, has_more=bool(page.has_more))

    # ------------------------------------------------------------------ sending

    async def send(self, ref: ConversationRef, message: OutboundMessage) -> SendResult:
        """send_msg with our msgid as the idempotency key (retried on transient failures).

        A msgid the platform has already accepted (a retry after a lost answer) is not an error:
        SendResult(duplicate=True). Refusals: 95018 SessionStateForbids (a servicer holds it),
        95001 ReplyQuotaExhausted, 95002 / 95031 ReplyWindowClosed; UnsupportedByChannel for types
        WeCom cannot send, InvalidRequest for missing attributes."""
        payload = outbound_payload(message)
        return await self._send(
            message.msgid,
            lambda msgid: self.client.send_msg(ref.contact_source_id, ref.inbox_source_id, payload, msgid=msgid),
        )

    async def send_on_event(self, code: str, message: OutboundMessage) -> SendResult:
        """send_msg_on_event: text (or a menu for welcome / closing codes) with a single-use code.
        95007 InvalidCode when it expired (welcome/closing: 20 s), was used, or the state moved on."""
        payload = outbound_payload(message)
        if not isinstance(payload, TextMsg | MenuMsg):
            raise UnsupportedByChannel("event-code messages are text or menu only", field="content_type")
        return await self._send(message.msgid, lambda msgid: self.client.send_msg_on_event(code, payload, msgid=msgid))

    async def send_welcome(self, change: StateChange, msgid: str) -> SendResult | None:
        """Send the configured welcome_message with an enter_session welcome code (None when either is missing)."""
        if not self.welcome_message or change.event_code_kind != "welcome" or not change.event_code:
            return None
        message = OutboundMessage(msgid=msgid, content_type="text", content=self.welcome_message)
        return await self.send_on_event(change.event_code, message)

    async def _send(self, our_msgid: str, call: Callable[[str], Awaitable[str]]) -> SendResult:
        msgid = platform_msgid(our_msgid)
        try:
            sent = await call(msgid)
        except InvalidArgument as exc:
            # the platform answers a reused msgid with 40058 "invalid parameter" naming the msgid; our
            # msgid is valid by construction (platform_msgid), so that answer means "already sent"
            if exc.errcode in DUPLICATE_MSGID_ERRCODES and "msgid" in exc.errmsg.lower():
                return SendResult(source_id=msgid, duplicate=True, raw={"errcode": exc.errcode, "errmsg": exc.errmsg})
            raise
        return SendResult(source_id=sent or msgid, raw={"msgid": sent})

    # ------------------------------------------------------------------ session state

    async def handover(self, ref: ConversationRef, target: str, agent_source_id: str | None = None) -> StateChange:
        """service_state/trans: "bot" → 1, "queue" → 2, "agent" → 3 with the servicer userid.
        95016 StateTransitionRefused (e.g. from 2 back to 1), 95014 / 95019 servicer unusable."""
        state = HANDOVER_STATES.get(target)
        if state is None:
            raise InvalidRequest(f"unknown handover target {target!r}", field="target")
        if state == 3 and not agent_source_id:
            raise InvalidRequest("handover to an agent needs the servicer userid", field="agent_source_id")
        code = await self.client.trans_service_state(
            ref.inbox_source_id, ref.contact_source_id, state, agent_source_id if state == 3 else None
        )
        return self._change(ref, state, agent_source_id if state == 3 else "", code)

    async def resolve(self, ref: ConversationRef) -> StateChange:
        """service_state/trans → 4 (allowed from 3; other states may answer 95016)."""
        code = await self.client.trans_service_state(ref.inbox_source_id, ref.contact_source_id, 4)
        return self._change(ref, 4, "", code)

    async def session_state(self, ref: ConversationRef) -> StateChange:
        found = await self.client.get_service_state(ref.inbox_source_id, ref.contact_source_id)
        assignee = found.servicer_userid if found.service_state == 3 else ""
        return self._change(ref, found.service_state, assignee, None)

    def _change(self, ref: ConversationRef, state: int, assignee: str | None, code: str | None) -> StateChange:
        return StateChange(
            inbox_source_id=ref.inbox_source_id,
            contact_source_id=ref.contact_source_id,
            at=_now(),
            status=WECOM_STATE_STATUS.get(state),
            platform_state=str(state),
            assignee_source_id=assignee,
            event_code=code,
            event_code_kind=CODE_KINDS.get(state) if code else None,
        )

    # ------------------------------------------------------------------ directory

    async def fetch_profiles(self, source_ids: list[str]) -> list[ContactProfile]:
        """customer/batchget in chunks of 100; ids without an interaction in 48 h are left out."""
        found = await self.client.batchget_customers(source_ids)
        return [
            ContactProfile(
                source_id=c.external_userid,
                name=c.nickname or None,
                avatar_url=c.avatar or None,
                gender=c.gender,
                unionid=c.unionid or None,
                raw={"nickname": c.nickname, "avatar": c.avatar, "gender": c.gender, "unionid": c.unionid},
            )
            for c in found.customer_list
        ]

    async def list_inboxes(self) -> list[InboxInfo]:
        """Every kf account (account/list, all pages)."""
        return [
            InboxInfo(
                source_id=a.open_kfid,
                name=a.name,
                avatar_url=a.avatar or None,
                raw={"manage_privilege": a.manage_privilege},
            )
            for a in await self.client.all_accounts()
        ]

    async def list_agents(self) -> list[AgentInfo]:
        """Servicers of every kf account, merged by userid (department entries are not agents).
        Status: 0 接待中 → online, 1 停止 → offline, 1 + stop_type 1 (挂起) → suspended."""
        agents: dict[str, AgentInfo] = {}
        for inbox in await self.list_inboxes():
            for servicer in await self.client.list_servicers(inbox.source_id):
                if not servicer.userid:
                    continue
                status = {0: "online", 1: "suspended" if servicer.stop_type == 1 else "offline"}.get(
                    servicer.status if servicer.status is not None else -1, "offline"
                )
                agent = agents.setdefault(
                    servicer.userid, AgentInfo(source_id=servicer.userid, name=servicer.userid, status=status)
                )
                agent.inbox_source_ids.append(inbox.source_id)
                agent.raw[inbox.source_id] = {"status": servicer.status, "stop_type": servicer.stop_type}
                if status == "online":
                    agent.status = status
        return list(agents.values())

    async def verify(self) -> None:
        """gettoken with the corp's kf app secret (40013 bad corpid, 40001 bad secret)."""
        await self.tokens.get(self.credential)

    async def download_media(self, media_id: str) -> MediaFile:
        """media/get: image/voice/video/file of sync_msg items, readable for 3 days (40007 after)."""
        file = await self.client.download_media(media_id)
        return MediaFile(
            content=file.content, content_type=file.content_type or "application/octet-stream", filename=file.filename
        )

    async def upload_media(self, kind: str, filename: str, content: bytes, content_type: str) -> str:
        """Temporary media for sends (valid 3 days); returns the media_id."""
        return (await self.client.upload_media(kind, filename, content, content_type)).media_id

    # ------------------------------------------------------------------ extras (beyond the protocol)

    async def add_inbox(self, name: str, avatar: bytes, filename: str = "avatar.png") -> InboxInfo:
        """Create a kf account with an avatar image (uploaded as temp media first)."""
        media = await self.client.upload_media("image", filename, avatar, "image/png")
        open_kfid = await self.client.add_account(name, media.media_id)
        return InboxInfo(source_id=open_kfid, name=name)

    async def update_inbox(self, open_kfid: str, *, name: str | None = None) -> None:
        """Rename a kf account (≤16 chars; 95006 invalid name)."""
        await self.client.update_account(open_kfid, name=name)

    async def delete_inbox(self, open_kfid: str) -> None:
        """Delete a kf account (95004 unknown; the corp must keep at least one)."""
        await self.client.delete_account(open_kfid)

    async def remove_servicers(self, open_kfid: str, userids: list[str]) -> dict[str, int]:
        """userid → per-item errcode (0 removed or already absent)."""
        return {r.userid or "": r.errcode for r in await self.client.delete_servicers(open_kfid, userids)}

    async def add_servicers(self, open_kfid: str, userids: list[str]) -> dict[str, int]:
        """userid → per-item errcode (0 added, or already there; 95014 not activated, …)."""
        return {r.userid or "": r.errcode for r in await self.client.add_servicers(open_kfid, userids)}

    async def contact_way_url(self, open_kfid: str, scene: str | None = None, scene_param: str | None = None) -> str:
        """The account's 客服链接; enter_session echoes `scene` and `scene_param` (≤128 bytes) back."""
        if scene is not None and not _SCENE_RE.fullmatch(scene):
            raise InvalidRequest("scene is at most 32 bytes of [0-9a-zA-Z_-]", field="scene")
        url = await self.client.add_contact_way(open_kfid, scene)
        if scene and scene_param:
            encoded = quote(scene_param, safe="")
            if len(encoded.encode()) > 128:
                raise InvalidRequest("scene_param is at most 128 bytes urlencoded", field="scene_param")
            url += f"&scene_param={encoded}"
        return url

    async def upgrade_service(
        self, ref: ConversationRef, *, userid: str | None = None, chat_id: str | None = None, wording: str | None = None
    ) -> None:
        """Recommend a member (客户联系) or a customer group to the customer; 95021 when not configured."""
        await self.client.upgrade_service(
            ref.inbox_source_id, ref.contact_source_id, userid=userid, chat_id=chat_id, wording=wording
        )

    async def cancel_upgrade_service(self, ref: ConversationRef) -> None:
        await self.client.cancel_upgrade_service(ref.inbox_source_id, ref.contact_source_id)


def platform_msgid(msgid: str) -> str:
    """Our msgid as WeCom accepts it (≤32 bytes of [0-9a-zA-Z_-]); longer ids are hashed, stably,
    so a retry of the same message still carries the same platform msgid."""
    if _MSGID_RE.fullmatch(msgid):
        return msgid
    return hashlib.sha256(msgid.encode()).hexdigest()[:32]


def _need(message: OutboundMessage, *names: str) -> list[Any]:
    values = []
    for name in names:
        value = message.attributes.get(name)
        if value in (None, ""):
            raise InvalidRequest(f"{message.content_type} needs attributes.{name}", field=f"attributes.{name}")
        values.append(value)
    return values


def _menu_item(item: dict[str, Any]) -> dict[str, Any]:
    """Unified menu item {type?, id, content, url, appid, pagepath, no_newline} → the wire form."""
    kind = item.get("type") or (
        "view" if item.get("url") else "miniprogram" if item.get("appid") else "text" if "id" not in item else "click"
    )
    fields = {
        "click": ("id", "content"),
        "view": ("url", "content"),
        "miniprogram": ("appid", "pagepath", "content"),
        "text": ("content", "no_newline"),
    }.get(kind)
    if fields is None:
        raise InvalidRequest(f"unknown menu item type {kind!r}", field="attributes.items")
    return {"type": kind, kind: {f: (str(item[f]) if f != "no_newline" else item[f]) for f in fields if f in item}}


def outbound_payload(message: OutboundMessage) -> SendPayload:
    """OutboundMessage (unified vocabulary, see base.OutboundMessage) → the send_msg payload.
    UnsupportedByChannel for types WeCom kf cannot send (news, …); InvalidRequest for missing fields."""
    a, kind = message.attributes, message.content_type
    if kind == "text":
        content = message.content or a.get("content")
        if not content:
            raise InvalidRequest("text needs content", field="content")
        return TextMsg(content=content)
    if kind in MEDIA_MESSAGES:
        (media_id,) = _need(message, "media_id")
        return MEDIA_MESSAGES[kind](media_id=media_id)
    if kind == "link":
        url, thumb = _need(message, "url", "thumb_media_id")
        return LinkMsg(
            title=a.get("title") or message.content or url,
            url=url,
            thumb_media_id=thumb,
            desc=a.get("description") or "",
        )
    if kind == "miniprogram":
        appid, pagepath, thumb = _need(message, "appid", "pagepath", "thumb_media_id")
        return MiniprogramMsg(
            appid=appid, pagepath=pagepath, thumb_media_id=thumb, title=a.get("title") or message.content or ""
        )
    if kind == "menu":
        items = [_menu_item(i) for i in a.get("items") or [] if isinstance(i, dict)]
        return MenuMsg(
            items=items,
            head_content=a.get("head_content") or message.content or "",
            tail_content=a.get("tail_content") or "",
        )
    if kind == "location":
        lat, lng = _need(message, "latitude", "longitude")
        return LocationMsg(
            latitude=float(lat), longitude=float(lng), name=a.get("name") or "", address=a.get("address") or ""
        )
    if kind == "business_card":
        (userid,) = _need(message, "userid")
        return BusinessCardMsg(userid=userid)
    if kind == "ca_link":
        link_url = a.get("link_url") or a.get("url")
        if not link_url:
            raise InvalidRequest("ca_link needs attributes.link_url", field="attributes.link_url")
        return CaLinkMsg(link_url=link_url)
    raise UnsupportedByChannel(f"WeCom kf send_msg cannot send {kind!r}", field="content_type")
