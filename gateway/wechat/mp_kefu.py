"""MpKefuClient: the Official Account (公众号) legacy customer-service API, one method per endpoint.

Docs: developers.weixin.qq.com/doc/service/api/customer/ (servicermanage, messctrl, message) and
docs/platforms.md §4. Errors are gateway.errors types raised by ApiClient: 45015 ReplyWindowClosed, 45047
ReplyQuotaExhausted, 65401/65403/65404/65416/65417 InvalidArgument, other 654xx (65402 not bound,
65405 too many accounts, 65406 exists, 65407–65412 invitations, 65413/65414 session owner, 65415
kf offline) a PlatformError carrying `errcode`.

`custom/send` has no idempotency key, so sends are never retried on transient failures
(`idempotent=False`): a timeout may or may not have delivered the message (WxJava#2098).
Reads, `kfsession/create` (answers 0 when the session exists) and uploads are retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import msgspec

from gateway.errors import InvalidRequest
from gateway.wechat.http import ApiClient
from gateway.wechat.mp_kefu_types import (
    MSGTYPES,
    Article,
    KfAccount,
    KfSession,
    MediaContent,
    MediaUpload,
    MenuItem,
    MsgRecord,
    MsgRecordPage,
    OnlineKf,
    SessionItem,
    UserInfo,
    WaitCaseList,
    convert,
)

RECORD_WINDOW = 24 * 3600  # msgrecord: endtime - starttime ≤ 24 h (65417 beyond)
RECORD_PAGE_MAX = 10_000  # msgrecord: number ≤ 10 000 (65416 beyond)

Upload = bytes | tuple[str, bytes] | tuple[str, bytes, str]  # content | (filename, content[, mime])


def _file(media: Upload, default_name: str) -> tuple[str, bytes, str]:
    if isinstance(media, bytes):
        return (default_name, media, "application/octet-stream")
    if len(media) == 2:
        return (media[0], media[1], "application/octet-stream")
    return media


class MpKefuClient:
    """Typed calls over one account's ApiClient (credential kind "mp" = stable_token by default)."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    # ------------------------------------------------------------------ kf accounts (§4.1)

    async def add_account(self, kf_account: str, nickname: str, *, password: str | None = None) -> None:
        """kfaccount/add: "prefix@<WeChat ID>", nickname ≤16 chars; 65404/65403/65405/65406."""
        body = {"kf_account": kf_account, "nickname": nickname}
        if password is not None:  # legacy md5 password; the current doc dropped it
            body["password"] = password
        await self.api.post("/customservice/kfaccount/add", body)

    async def update_account(self, kf_account: str, nickname: str) -> None:
        await self.api.post(
            "/customservice/kfaccount/update", {"kf_account": kf_account, "nickname": nickname}, idempotent=True
        )

    async def delete_account(self, kf_account: str) -> None:
        """kfaccount/del: POST with the account in the JSON body (current doc) *and* the query
        (what the SDKs' GET sends), so either reading of the endpoint finds it (docs/platforms.md §7.12)."""
        await self.api.post(
            "/customservice/kfaccount/del", {"kf_account": kf_account}, params={"kf_account": kf_account}
        )

    async def invite_worker(self, kf_account: str, invite_wx: str) -> None:
        """kfaccount/inviteworker: invite a WeChat user to bind the account; 65407–65412."""
        await self.api.post("/customservice/kfaccount/inviteworker", {"kf_account": kf_account, "invite_wx": invite_wx})

    async def upload_headimg(self, kf_account: str, image: Upload) -> None:
        """kfaccount/uploadheadimg: multipart `media`, a jpg ≤5 MB (640×640 recommended)."""
        await self.api.post(
            "/customservice/kfaccount/uploadheadimg",
            params={"kf_account": kf_account},
            files={"media": _file(image, "headimg.jpg")},
            idempotent=True,
        )

    async def list_accounts(self) -> list[KfAccount]:
        data = await self.api.get("/cgi-bin/customservice/getkflist")
        return convert(data.get("kf_list") or [], list[KfAccount])

    async def list_online(self) -> list[OnlineKf]:
        data = await self.api.get("/cgi-bin/customservice/getonlinekflist")
        return convert(data.get("kf_online_list") or [], list[OnlineKf])

    # ------------------------------------------------------------------ sessions (§4.3)

    async def create_session(self, kf_account: str, openid: str) -> None:
        """kfsession/create: 65402 kf not bound, 65415 kf offline; 0 if the session already exists."""
        await self.api.post(
            "/customservice/kfsession/create", {"kf_account": kf_account, "openid": openid}, idempotent=True
        )

    async def close_session(self, kf_account: str, openid: str) -> None:
        """kfsession/close: 65413 no session, 65414 another kf holds it (legacy codes)."""
        await self.api.post("/customservice/kfsession/close", {"kf_account": kf_account, "openid": openid})

    async def get_session(self, openid: str) -> KfSession:
        data = await self.api.get("/customservice/kfsession/getsession", params={"openid": openid})
        return convert(data, KfSession)

    async def list_sessions(self, kf_account: str) -> list[SessionItem]:
        """kfsession/getsessionlist: the sessions `kf_account` is serving."""
        data = await self.api.get("/customservice/kfsession/getsessionlist", params={"kf_account": kf_account})
        return convert(data.get("sessionlist") or [], list[SessionItem])

    async def wait_cases(self) -> WaitCaseList:
        """kfsession/getwaitcase: total `count`, but only the earliest 100 users listed."""
        return convert(await self.api.get("/customservice/kfsession/getwaitcase"), WaitCaseList)

    # ------------------------------------------------------------------ chat records (§4.4)

    async def get_msglist(
        self, starttime: int, endtime: int, msgid: int = 1, number: int = RECORD_PAGE_MAX
    ) -> MsgRecordPage:
        """One page of msgrecord/getmsglist (times epoch s; span ≤24 h → 65417; number ≤10 000)."""
        body = {"starttime": int(starttime), "endtime": int(endtime), "msgid": int(msgid), "number": int(number)}
        data = await self.api.post("/customservice/msgrecord/getmsglist", body, idempotent=True)
        return convert(data, MsgRecordPage)

    async def iter_msgrecords(self, start: int, end: int, page_size: int = RECORD_PAGE_MAX) -> AsyncIterator[MsgRecord]:
        """Every record with start ≤ time ≤ end, walking ≤24 h windows and msgid pages.

        A window is asked again from the returned `msgid` while a page comes back full. Windows
        share their boundary second (whether the platform's endtime is inclusive is not
        documented), and records of that second already yielded are skipped in the next window.
        """
        if not 1 <= page_size <= RECORD_PAGE_MAX:
            raise InvalidRequest(f"page_size must be 1-{RECORD_PAGE_MAX}", field="page_size")
        if end < start:
            raise InvalidRequest("end is before start", field="end")
        window_start, seen_at_boundary = int(start), set[MsgRecord]()
        while True:
            window_end = min(window_start + RECORD_WINDOW, int(end))
            at_end: set[MsgRecord] = set()
            msgid = 1
            while True:
                page = await self.get_msglist(window_start, window_end, msgid, page_size)
                for record in page.recordlist:
                    if record.time == window_start and record in seen_at_boundary:
                        continue
                    if record.time == window_end:
                        at_end.add(record)
                    yield record
                if page.number < page_size or not page.recordlist or page.msgid <= msgid:
                    break
                msgid = page.msgid
            if window_end >= end:
                return
            window_start, seen_at_boundary = window_end, at_end

    # ------------------------------------------------------------------ sending (§4.2)

    async def send(
        self, touser: str, msgtype: str, payload: Mapping[str, Any] | msgspec.Struct, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        """custom/send, never retried: 45015 window closed/unsubscribed, 45047 quota used up,
        45008 >1 article, 40003 bad openid, 43004 not following, 65401 unknown kf_account."""
        if msgtype not in MSGTYPES:
            raise InvalidRequest(f"unknown MP msgtype {msgtype!r}", field="msgtype")
        body: dict[str, Any] = {
            "touser": touser,
            "msgtype": msgtype,
            msgtype: msgspec.to_builtins(payload) if isinstance(payload, msgspec.Struct) else dict(payload),
        }
        if kf_account:
            body["customservice"] = {"kf_account": kf_account}
        return await self.api.post("/cgi-bin/message/custom/send", body, idempotent=False)

    async def send_text(self, touser: str, content: str, *, kf_account: str | None = None) -> dict[str, Any]:
        """Text may embed <a href data-miniprogram-appid data-miniprogram-path> links."""
        return await self.send(touser, "text", {"content": content}, kf_account=kf_account)

    async def send_image(self, touser: str, media_id: str, *, kf_account: str | None = None) -> dict[str, Any]:
        return await self.send(touser, "image", {"media_id": media_id}, kf_account=kf_account)

    async def send_voice(self, touser: str, media_id: str, *, kf_account: str | None = None) -> dict[str, Any]:
        return await self.send(touser, "voice", {"media_id": media_id}, kf_account=kf_account)

    async def send_video(
        self,
        touser: str,
        media_id: str,
        *,
        thumb_media_id: str = "",
        title: str = "",
        description: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        payload = {"media_id": media_id, "thumb_media_id": thumb_media_id, "title": title, "description": description}
        return await self.send(touser, "video", payload, kf_account=kf_account)

    async def send_music(
        self,
        touser: str,
        *,
        musicurl: str,
        hqmusicurl: str,
        thumb_media_id: str,
        title: str = "",
        description: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        payload = {
            "title": title,
            "description": description,
            "musicurl": musicurl,
            "hqmusicurl": hqmusicurl,
            "thumb_media_id": thumb_media_id,
        }
        return await self.send(touser, "music", payload, kf_account=kf_account)

    async def send_news(self, touser: str, article: Article, *, kf_account: str | None = None) -> dict[str, Any]:
        """One article: the platform refuses more since 2018-10 (45008)."""
        return await self.send(touser, "news", {"articles": [msgspec.to_builtins(article)]}, kf_account=kf_account)

    async def send_mpnews(self, touser: str, media_id: str, *, kf_account: str | None = None) -> dict[str, Any]:
        return await self.send(touser, "mpnews", {"media_id": media_id}, kf_account=kf_account)

    async def send_mpnewsarticle(
        self, touser: str, article_id: str, *, kf_account: str | None = None
    ) -> dict[str, Any]:
        """An article published with the 发布 APIs (draft-era articles cannot go as mpnews)."""
        return await self.send(touser, "mpnewsarticle", {"article_id": article_id}, kf_account=kf_account)

    async def send_msgmenu(
        self,
        touser: str,
        items: Iterable[MenuItem],
        *,
        head_content: str = "",
        tail_content: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        """A menu of choices (not available on test accounts); a click arrives as text + bizmsgmenuid."""
        payload = {
            "head_content": head_content,
            "list": [msgspec.to_builtins(i) for i in items],
            "tail_content": tail_content,
        }
        return await self.send(touser, "msgmenu", payload, kf_account=kf_account)

    async def send_wxcard(self, touser: str, card_id: str, *, kf_account: str | None = None) -> dict[str, Any]:
        """Only cards without a custom code."""
        return await self.send(touser, "wxcard", {"card_id": card_id}, kf_account=kf_account)

    async def send_miniprogrampage(
        self,
        touser: str,
        *,
        appid: str,
        pagepath: str,
        thumb_media_id: str,
        title: str = "",
        kf_account: str | None = None,
    ) -> dict[str, Any]:
        payload = {"title": title, "appid": appid, "pagepath": pagepath, "thumb_media_id": thumb_media_id}
        return await self.send(touser, "miniprogrampage", payload, kf_account=kf_account)

    async def typing(self, touser: str, on: bool = True) -> None:
        """custom/typing Typing|CancelTyping: lasts 15 s, needs an exchange with the user in the last
        30 s and a send-eligible user (45015/45047); sending a message cancels it."""
        command = "Typing" if on else "CancelTyping"
        await self.api.post("/cgi-bin/message/custom/typing", {"touser": touser, "command": command})

    # ------------------------------------------------------------------ users and media

    async def user_info(self, openid: str, *, lang: str = "zh_CN") -> UserInfo:
        """cgi-bin/user/info: profile and `unionid` (when the account is bound to an open platform)."""
        return convert(await self.api.get("/cgi-bin/user/info", params={"openid": openid, "lang": lang}), UserInfo)

    async def user_infos(self, openids: Iterable[str], *, concurrency: int = 5, lang: str = "zh_CN") -> list[UserInfo]:
        """user/info for many openids, at most `concurrency` in flight; results in input order."""
        gate = asyncio.Semaphore(concurrency)

        async def one(openid: str) -> UserInfo:
            async with gate:
                return await self.user_info(openid, lang=lang)

        return list(await asyncio.gather(*(one(o) for o in openids)))

    async def upload_media(self, kind: str, media: Upload) -> MediaUpload:
        """Temporary media (3 days) of kind image | voice | video | thumb; size errcodes 40009–40012."""
        data = await self.api.post(
            "/cgi-bin/media/upload",
            params={"type": kind},
            files={"media": _file(media, f"{kind}.bin")},
            idempotent=True,
        )
        return convert(data, MediaUpload)

    async def get_media(self, media_id: str) -> MediaContent:
        """Temporary media bytes; 40007 once expired. Video answers JSON `video_url` on the platform."""
        response = await self.api.request("GET", "/cgi-bin/media/get", params={"media_id": media_id}, idempotent=True)
        content_type = response.headers.get("content-type", "")
        if "json" in content_type or response.content[:1] == b"{":
            data = msgspec.json.decode(response.content)
            if isinstance(data, dict) and data.get("video_url"):
                return MediaContent(video_url=str(data["video_url"]), content_type="application/json")
        disposition = response.headers.get("content-disposition", "")
        filename = disposition.split("filename=", 1)[1].strip('"') if "filename=" in disposition else None
        return MediaContent(content=response.content, content_type=content_type, filename=filename)
