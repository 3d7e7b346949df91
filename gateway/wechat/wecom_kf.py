"""WeComKfClient: every WeCom 微信客服 endpoint (docs/platforms.md §2), typed and async, over one ApiClient.

Errors are gateway.errors types raised by ApiClient: e.g. 95018 SessionStateForbids (send while a
human holds the session), 95016 StateTransitionRefused, 95001 ReplyQuotaExhausted, 95002 / 95031
ReplyWindowClosed, 95000 / 95004 InvalidArgument, 95007 InvalidCode. Reads retry transient failures;
sends retry them only when they carry a `msgid` (the platform refuses a repeated msgid, so a retry
after a timeout cannot deliver twice).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import msgspec

from gateway.wechat.http import ApiClient
from gateway.wechat.wecom_kf_types import (
    CorpQualification,
    Customer,
    CustomerBatch,
    KfAccount,
    MediaFile,
    MenuMsg,
    SendPayload,
    SendResponse,
    Servicer,
    ServicerResult,
    ServiceState,
    StatisticDay,
    SyncMsgPage,
    TextMsg,
    UpgradeServiceConfig,
    UploadedMedia,
)

KF = "/cgi-bin/kf"
BATCHGET_MAX = 100  # customer/batchget: 1–100 ids per call
ACCOUNT_PAGE_MAX = 100  # account/list: limit 1–100


def _drop_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class WeComKfClient:
    """微信客服 API of one corp app. Doc: https://developer.work.weixin.qq.com/document/path/94638."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    # ------------------------------------------------------------------ accounts (§2.1)

    async def add_account(self, name: str, media_id: str) -> str:
        """Create a kf account (name ≤16 chars, avatar temp media) → open_kfid. 95005/95027 at the cap."""
        data = await self.api.post(f"{KF}/account/add", {"name": name, "media_id": media_id})
        return str(data["open_kfid"])

    async def delete_account(self, open_kfid: str) -> None:
        await self.api.post(f"{KF}/account/del", {"open_kfid": open_kfid})

    async def update_account(self, open_kfid: str, *, name: str | None = None, media_id: str | None = None) -> None:
        body = _drop_none({"open_kfid": open_kfid, "name": name, "media_id": media_id})
        await self.api.post(f"{KF}/account/update", body, idempotent=True)

    async def list_accounts(self, offset: int = 0, limit: int = ACCOUNT_PAGE_MAX) -> list[KfAccount]:
        """One page of account/list (POST with offset/limit; the old GET form had no paging)."""
        data = await self.api.post(f"{KF}/account/list", {"offset": offset, "limit": limit}, idempotent=True)
        return msgspec.convert(data.get("account_list", []), list[KfAccount])

    async def iter_accounts(self, page_size: int = ACCOUNT_PAGE_MAX) -> AsyncIterator[KfAccount]:
        """Walk account/list by offset until a short page (the endpoint has no has_more flag)."""
        offset = 0
        while True:
            page = await self.list_accounts(offset, page_size)
            for account in page:
                yield account
            if len(page) < page_size:
                return
            offset += page_size

    async def all_accounts(self, page_size: int = ACCOUNT_PAGE_MAX) -> list[KfAccount]:
        return [account async for account in self.iter_accounts(page_size)]

    async def add_contact_way(self, open_kfid: str, scene: str | None = None) -> str:
        """The account's contact URL; with `scene` ([0-9a-zA-Z_-], ≤32 bytes) append `&scene_param=` yourself."""
        body = _drop_none({"open_kfid": open_kfid, "scene": scene})
        data = await self.api.post(f"{KF}/add_contact_way", body)
        return str(data["url"])

    # ------------------------------------------------------------------ servicers (§2.2)

    async def add_servicers(
        self, open_kfid: str, userids: Sequence[str] = (), department_ids: Sequence[int] = ()
    ) -> list[ServicerResult]:
        """Add up to 100 userids / 100 departments; per-item errcode in the result (95014 not activated)."""
        return await self._servicers("add", open_kfid, userids, department_ids)

    async def delete_servicers(
        self, open_kfid: str, userids: Sequence[str] = (), department_ids: Sequence[int] = ()
    ) -> list[ServicerResult]:
        return await self._servicers("del", open_kfid, userids, department_ids)

    async def _servicers(
        self, op: str, open_kfid: str, userids: Sequence[str], department_ids: Sequence[int]
    ) -> list[ServicerResult]:
        body: dict[str, Any] = {"open_kfid": open_kfid}
        if userids:
            body["userid_list"] = list(userids)
        if department_ids:
            body["department_id_list"] = list(department_ids)
        # adding or removing twice is harmless ("ignored"), so transient failures may be retried
        data = await self.api.post(f"{KF}/servicer/{op}", body, idempotent=True)
        return msgspec.convert(data.get("result_list", []), list[ServicerResult])

    async def list_servicers(self, open_kfid: str) -> list[Servicer]:
        data = await self.api.get(f"{KF}/servicer/list", params={"open_kfid": open_kfid})
        return msgspec.convert(data.get("servicer_list", []), list[Servicer])

    # ------------------------------------------------------------------ session state (§2.3)

    async def get_service_state(self, open_kfid: str, external_userid: str) -> ServiceState:
        body = {"open_kfid": open_kfid, "external_userid": external_userid}
        data = await self.api.post(f"{KF}/service_state/get", body, idempotent=True)
        return msgspec.convert(data, ServiceState)

    async def trans_service_state(
        self, open_kfid: str, external_userid: str, service_state: int, servicer_userid: str | None = None
    ) -> str | None:
        """Move the session (servicer required for 3) → msg_code when the move hands one out (to 2, 3, 4).

        95016 transition not allowed, 95013 session ended, 95014 / 95019 servicer unusable.
        """
        body = _drop_none(
            {
                "open_kfid": open_kfid,
                "external_userid": external_userid,
                "service_state": service_state,
                "servicer_userid": servicer_userid,
            }
        )
        data = await self.api.post(f"{KF}/service_state/trans", body)
        return data.get("msg_code") or None

    # ------------------------------------------------------------------ receiving (§2.4)

    async def sync_msg(
        self,
        open_kfid: str,
        cursor: str | None = None,
        token: str | None = None,
        limit: int = 1000,
        voice_format: int = 0,
    ) -> SyncMsgPage:
        """One page after `cursor` ("" / None = the earliest of the last 3 days).

        `token` is the callback's Token (10 min); without it the call is strictly rate limited.
        A read: transient failures are retried, the same cursor returns the same page.
        """
        body = _drop_none(
            {
                "cursor": cursor or None,
                "token": token or None,
                "limit": limit,
                "voice_format": voice_format or None,
                "open_kfid": open_kfid,
            }
        )
        data = await self.api.post(f"{KF}/sync_msg", body, idempotent=True)
        return msgspec.convert(data, SyncMsgPage)

    # ------------------------------------------------------------------ sending (§2.5, §2.6)

    async def send_msg(self, touser: str, open_kfid: str, message: SendPayload, *, msgid: str | None = None) -> str:
        """Send any msgtype (TextMsg, ImageMsg, …, MenuMsg, CaLinkMsg) → the platform msgid (= `msgid`).

        Only while the session is in state 0/1 (else 95018), within 48 h of the customer's last message
        (95002 / 95031) and ≤5 sends per customer message (95001). Success ≠ delivered: watch
        msg_send_fail. Without `msgid` a transient failure is NOT retried (the first try may have been
        delivered); with it a retry is safe, since the platform refuses a msgid it has already used.
        """
        body = _drop_none(
            {
                "touser": touser,
                "open_kfid": open_kfid,
                "msgid": msgid or None,
                "msgtype": message.msgtype,
                message.msgtype: message,
            }
        )
        data = await self.api.post(f"{KF}/send_msg", body, idempotent=bool(msgid))
        return msgspec.convert(data, SendResponse).msgid or (msgid or "")

    async def send_text(self, touser: str, open_kfid: str, content: str, *, msgid: str | None = None) -> str:
        return await self.send_msg(touser, open_kfid, TextMsg(content=content), msgid=msgid)

    async def send_msg_on_event(self, code: str, message: TextMsg | MenuMsg, *, msgid: str | None = None) -> str:
        """Reply with a single-use event code → msgid. Codes: welcome (20 s, text/menu), queue and taken
        (48 h, text), closing (20 s, text/menu); 95007 when expired, spent or the state moved on."""
        body = _drop_none({"code": code, "msgid": msgid or None, "msgtype": message.msgtype, message.msgtype: message})
        data = await self.api.post(f"{KF}/send_msg_on_event", body, idempotent=bool(msgid))
        return msgspec.convert(data, SendResponse).msgid or (msgid or "")

    # ------------------------------------------------------------------ customers, upgrade, stats (§2.7)

    async def batchget_customers(
        self, external_userids: Sequence[str], *, need_enter_session_context: bool = False
    ) -> CustomerBatch:
        """Profiles in chunks of 100; ids without an interaction in 48 h come back as invalid."""
        result = CustomerBatch()
        ids = list(dict.fromkeys(external_userids))
        for start in range(0, len(ids), BATCHGET_MAX):
            body = {
                "external_userid_list": ids[start : start + BATCHGET_MAX],
                "need_enter_session_context": int(need_enter_session_context),
            }
            data = await self.api.post(f"{KF}/customer/batchget", body, idempotent=True)
            page = msgspec.convert(data, CustomerBatch)
            result.customer_list.extend(page.customer_list)
            result.invalid_external_userid.extend(page.invalid_external_userid)
        return result

    async def get_customer(self, external_userid: str) -> Customer | None:
        found = await self.batchget_customers([external_userid], need_enter_session_context=True)
        return found.customer_list[0] if found.customer_list else None

    async def get_upgrade_service_config(self) -> UpgradeServiceConfig:
        data = await self.api.get(f"{KF}/customer/get_upgrade_service_config")
        return msgspec.convert(data, UpgradeServiceConfig)

    async def upgrade_service(
        self,
        open_kfid: str,
        external_userid: str,
        *,
        userid: str | None = None,
        chat_id: str | None = None,
        wording: str | None = None,
    ) -> None:
        """Recommend a member (type 1) or a customer group (type 2); 95021 when not configured in 升级服务."""
        if (userid is None) == (chat_id is None):
            raise ValueError("give exactly one of userid (member) or chat_id (groupchat)")
        body: dict[str, Any] = {"open_kfid": open_kfid, "external_userid": external_userid}
        if userid is not None:
            body.update(type=1, member=_drop_none({"userid": userid, "wording": wording}))
        else:
            body.update(type=2, groupchat=_drop_none({"chat_id": chat_id, "wording": wording}))
        await self.api.post(f"{KF}/customer/upgrade_service", body)

    async def cancel_upgrade_service(self, open_kfid: str, external_userid: str) -> None:
        body = {"open_kfid": open_kfid, "external_userid": external_userid}
        await self.api.post(f"{KF}/customer/cancel_upgrade_service", body)

    async def get_corp_statistic(self, open_kfid: str, start_time: int, end_time: int) -> list[StatisticDay]:
        """Day rows; times are epoch seconds of 00:00, closed range ≤31 days within the last 180."""
        body = {"open_kfid": open_kfid, "start_time": start_time, "end_time": end_time}
        data = await self.api.post(f"{KF}/get_corp_statistic", body, idempotent=True)
        return msgspec.convert(data.get("statistic_list", []), list[StatisticDay])

    async def get_servicer_statistic(
        self, open_kfid: str, start_time: int, end_time: int, servicer_userid: str | None = None
    ) -> list[StatisticDay]:
        body = _drop_none(
            {"open_kfid": open_kfid, "servicer_userid": servicer_userid, "start_time": start_time, "end_time": end_time}
        )
        data = await self.api.post(f"{KF}/get_servicer_statistic", body, idempotent=True)
        return msgspec.convert(data.get("statistic_list", []), list[StatisticDay])

    async def get_corp_qualification(self) -> CorpQualification:
        data = await self.api.get(f"{KF}/get_corp_qualification")
        return msgspec.convert(data, CorpQualification)

    # ------------------------------------------------------------------ media (§2.8)

    async def upload_media(
        self, media_type: str, filename: str, content: bytes, content_type: str = "application/octet-stream"
    ) -> UploadedMedia:
        """Temp media (3 days): image ≤10 MB jpg/png, voice ≤2 MB amr, video ≤10 MB mp4, file ≤20 MB; >5 bytes."""
        # a repeated upload only makes a second media_id, so transient failures may be retried
        data = await self.api.post(
            "/cgi-bin/media/upload",
            params={"type": media_type},
            files={"media": (filename, content, content_type)},
            idempotent=True,
        )
        return msgspec.convert(data, UploadedMedia)

    async def download_media(self, media_id: str) -> MediaFile:
        """The file behind a media_id (40007 when unknown or older than 3 days)."""
        response = await self.api.request("GET", "/cgi-bin/media/get", params={"media_id": media_id}, idempotent=True)
        content_type = response.headers.get("content-type", "application/octet-stream")
        return MediaFile(
            content=response.content,
            content_type=content_type.split(";")[0].strip(),
            filename=_disposition_filename(response.headers.get("content-disposition", "")),
        )


_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename\s*=\s*(?:"([^"]*)"|([^;]+))', re.IGNORECASE)


def _disposition_filename(header: str) -> str | None:
    """filename from Content-Disposition (RFC 5987 `filename*=` preferred)."""
    if match := _FILENAME_STAR.search(header):
        return unquote(match.group(2).strip(), encoding=match.group(1) or "utf-8", errors="replace")
    if match := _FILENAME.search(header):
        return (match.group(1) if match.group(1) is not None else match.group(2)).strip() or None
    return None
