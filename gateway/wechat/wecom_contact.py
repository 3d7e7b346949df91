"""WeComContactClient: the WeCom external-contact (客户联系) subset of docs/platforms.md §3, thin and typed.

All paths live under /cgi-bin/externalcontact/. Errors come from ApiClient: 40096 InvalidArgument
(an external_userid of another corp/app — kf and contact ids are not interchangeable), 84061 (no
relationship between member and customer), 81017 (groupchat/list without owner filter on a large
corp), 41051 (welcome code expired, used, or the chat already started). Reads retry transient
failures; writes that are not naturally repeatable do not.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from gateway.wechat.http import ApiClient
from gateway.wechat.wecom_contact_types import (
    AddedContactWay,
    ContactDetail,
    ContactPage,
    ContactWay,
    GroupChat,
    GroupChatPage,
    MsgTemplateResult,
    TagGroup,
    TransferItem,
    TransferResultPage,
    UnassignedPage,
)

EC = "/cgi-bin/externalcontact"


def _drop_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class WeComContactClient:
    """客户联系 API with the contact app's token. Doc: developer.work.weixin.qq.com/document/path/92109."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    # ------------------------------------------------------------------ 联系我 (contact ways)

    async def add_contact_way(self, way: ContactWay) -> AddedContactWay:
        """→ config_id (+ qr_code for scene 2). ≤500 000 ways per corp, temp chats ≤100 000 a day."""
        return msgspec.convert(await self.api.post(f"{EC}/add_contact_way", way), AddedContactWay)

    async def get_contact_way(self, config_id: str) -> ContactWay:
        data = await self.api.post(f"{EC}/get_contact_way", {"config_id": config_id}, idempotent=True)
        return msgspec.convert(data["contact_way"], ContactWay)

    async def update_contact_way(self, config_id: str, **changes: Any) -> None:
        """Change remark, skip_verify, style, state, user, party, expires_in, conclusions, …"""
        await self.api.post(f"{EC}/update_contact_way", {"config_id": config_id, **changes}, idempotent=True)

    async def del_contact_way(self, config_id: str) -> None:
        await self.api.post(f"{EC}/del_contact_way", {"config_id": config_id})

    async def list_contact_ways(
        self, *, start_time: int | None = None, end_time: int | None = None, cursor: str | None = None, limit: int = 100
    ) -> tuple[list[str], str]:
        """config_ids made in [start_time, end_time] (≤90 days) → (ids, next_cursor)."""
        body = _drop_none({"start_time": start_time, "end_time": end_time, "cursor": cursor or None, "limit": limit})
        data = await self.api.post(f"{EC}/list_contact_way", body, idempotent=True)
        return [w["config_id"] for w in data.get("contact_way", [])], data.get("next_cursor", "")

    async def close_temp_chat(self, userid: str, external_userid: str) -> None:
        await self.api.post(f"{EC}/close_temp_chat", {"userid": userid, "external_userid": external_userid})

    # ------------------------------------------------------------------ customers

    async def get(self, external_userid: str, cursor: str | None = None) -> ContactDetail:
        """The customer and its follow users (paged by `next_cursor` when there are many)."""
        params = _drop_none({"external_userid": external_userid, "cursor": cursor or None})
        return msgspec.convert(await self.api.get(f"{EC}/get", params=params), ContactDetail)

    async def batch_get_by_user(
        self, userids: Sequence[str], cursor: str | None = None, limit: int = 50
    ) -> ContactPage:
        """Customers of up to 100 members, `limit` ≤100 per page."""
        body = _drop_none({"userid_list": list(userids), "cursor": cursor or None, "limit": limit})
        data = await self.api.post(f"{EC}/batch/get_by_user", body, idempotent=True)
        return msgspec.convert(data, ContactPage)

    async def remark(
        self,
        userid: str,
        external_userid: str,
        *,
        remark: str | None = None,
        description: str | None = None,
        remark_company: str | None = None,
        remark_mobiles: Sequence[str] | None = None,
        remark_pic_mediaid: str | None = None,
    ) -> None:
        """A member's notes on a customer; only the fields given change."""
        body = _drop_none(
            {
                "userid": userid,
                "external_userid": external_userid,
                "remark": remark,
                "description": description,
                "remark_company": remark_company,
                "remark_mobiles": list(remark_mobiles) if remark_mobiles is not None else None,
                "remark_pic_mediaid": remark_pic_mediaid,
            }
        )
        await self.api.post(f"{EC}/remark", body, idempotent=True)

    # named after externalcontact/list: annotations below it in this class spell the builtin `builtins.list`
    async def list(self, userid: str) -> list[str]:
        """external_userids of one member's customers (84061 when the member has none)."""
        data = await self.api.get(f"{EC}/list", params={"userid": userid})
        return list(data.get("external_userid", []))

    async def get_follow_user_list(self) -> builtins.list[str]:
        """Members with the customer-contact feature."""
        return list((await self.api.get(f"{EC}/get_follow_user_list")).get("follow_user", []))

    # ------------------------------------------------------------------ transfers (继承)

    async def get_unassigned_list(
        self, *, page_id: int | None = None, cursor: str | None = None, page_size: int = 1000
    ) -> UnassignedPage:
        """Customers of resigned members waiting for a takeover; loop until `is_last`."""
        body = _drop_none({"page_id": page_id, "cursor": cursor or None, "page_size": page_size})
        data = await self.api.post(f"{EC}/get_unassigned_list", body, idempotent=True)
        return msgspec.convert(data, UnassignedPage)

    async def transfer_customer(
        self,
        handover_userid: str,
        takeover_userid: str,
        external_userids: Sequence[str],
        transfer_success_msg: str | None = None,
        *,
        resigned: bool = False,
    ) -> builtins.list[TransferItem]:
        """在职继承 (or 离职继承 with `resigned`): ≤100 customers, per-customer errcode; each customer
        can be transferred at most twice in 90 days and moves 24 h later unless it refuses."""
        body = _drop_none(
            {
                "handover_userid": handover_userid,
                "takeover_userid": takeover_userid,
                "external_userid": list(external_userids),
                "transfer_success_msg": None if resigned else transfer_success_msg,
            }
        )
        path = f"{EC}/resigned/transfer_customer" if resigned else f"{EC}/transfer_customer"
        return msgspec.convert((await self.api.post(path, body)).get("customer", []), list[TransferItem])

    async def transfer_result(
        self, handover_userid: str, takeover_userid: str, cursor: str | None = None, *, resigned: bool = False
    ) -> TransferResultPage:
        body = _drop_none(
            {"handover_userid": handover_userid, "takeover_userid": takeover_userid, "cursor": cursor or None}
        )
        path = f"{EC}/resigned/transfer_result" if resigned else f"{EC}/transfer_result"
        return msgspec.convert(await self.api.post(path, body, idempotent=True), TransferResultPage)

    # ------------------------------------------------------------------ customer groups

    async def groupchat_list(
        self,
        *,
        status_filter: int = 0,
        owner_userids: Sequence[str] | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> GroupChatPage:
        """status_filter 0 all, 1 owner resigned, 2 inheriting, 3 inherited; limit 1–1000."""
        body: dict[str, Any] = _drop_none({"status_filter": status_filter, "cursor": cursor or None, "limit": limit})
        if owner_userids:
            body["owner_filter"] = {"userid_list": list(owner_userids)}
        data = await self.api.post(f"{EC}/groupchat/list", body, idempotent=True)
        return msgspec.convert(data, GroupChatPage)

    async def groupchat_get(self, chat_id: str, need_name: bool = False) -> GroupChat:
        body = {"chat_id": chat_id, "need_name": int(need_name)}
        data = await self.api.post(f"{EC}/groupchat/get", body, idempotent=True)
        return msgspec.convert(data["group_chat"], GroupChat)

    # ------------------------------------------------------------------ corp tags

    async def get_corp_tag_list(
        self, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()
    ) -> builtins.list[TagGroup]:
        """All tag groups, or those holding `tag_ids` / named by `group_ids` (group_ids win)."""
        body = {"tag_id": list(tag_ids), "group_id": list(group_ids)}
        data = await self.api.post(f"{EC}/get_corp_tag_list", body, idempotent=True)
        return msgspec.convert(data.get("tag_group", []), list[TagGroup])

    async def add_corp_tag(
        self,
        tags: Sequence[str | Mapping[str, Any]],
        *,
        group_id: str | None = None,
        group_name: str | None = None,
        order: int | None = None,
        agentid: int | None = None,
    ) -> TagGroup:
        """Add tags ({name, order?} or plain names) to group_id, or to a new/existing group_name."""
        items = [{"name": t} if isinstance(t, str) else dict(t) for t in tags]
        body = _drop_none(
            {"group_id": group_id, "group_name": group_name, "order": order, "tag": items, "agentid": agentid}
        )
        return msgspec.convert((await self.api.post(f"{EC}/add_corp_tag", body))["tag_group"], TagGroup)

    async def edit_corp_tag(
        self, id: str, *, name: str | None = None, order: int | None = None, agentid: int | None = None
    ) -> None:
        """Rename / reorder a tag or a tag group (`id` is either)."""
        body = _drop_none({"id": id, "name": name, "order": order, "agentid": agentid})
        await self.api.post(f"{EC}/edit_corp_tag", body, idempotent=True)

    async def del_corp_tag(
        self, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = (), agentid: int | None = None
    ) -> None:
        body = _drop_none({"tag_id": list(tag_ids), "group_id": list(group_ids), "agentid": agentid})
        await self.api.post(f"{EC}/del_corp_tag", body)

    async def mark_tag(
        self, userid: str, external_userid: str, add_tag: Sequence[str] = (), remove_tag: Sequence[str] = ()
    ) -> None:
        """Tag / untag a customer as seen by one member (adding twice is harmless)."""
        body = {
            "userid": userid,
            "external_userid": external_userid,
            "add_tag": list(add_tag),
            "remove_tag": list(remove_tag),
        }
        await self.api.post(f"{EC}/mark_tag", body, idempotent=True)

    # ------------------------------------------------------------------ messages

    async def add_msg_template(
        self,
        *,
        chat_type: str = "single",
        external_userids: Sequence[str] | None = None,
        chat_id_list: Sequence[str] | None = None,
        tag_filter: Mapping[str, Any] | None = None,
        sender: str | None = None,
        allow_select: bool | None = None,
        text: str | None = None,
        attachments: Sequence[Mapping[str, Any]] | None = None,
    ) -> MsgTemplateResult:
        """A 群发 task the sender confirms in the client; attachments: {msgtype: image|link|miniprogram|
        video|file, <msgtype>: {...}}. Never retried: a second call makes a second task."""
        body = _drop_none(
            {
                "chat_type": chat_type,
                "external_userid": list(external_userids) if external_userids is not None else None,
                "chat_id_list": list(chat_id_list) if chat_id_list is not None else None,
                "tag_filter": tag_filter,
                "sender": sender,
                "allow_select": allow_select,
                "text": {"content": text} if text is not None else None,
                "attachments": [dict(a) for a in attachments] if attachments is not None else None,
            }
        )
        return msgspec.convert(await self.api.post(f"{EC}/add_msg_template", body), MsgTemplateResult)

    async def send_welcome_msg(
        self, welcome_code: str, text: str | None = None, attachments: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        """Within 20 s of add_external_contact, once, before anyone chats (41051 otherwise)."""
        body = _drop_none(
            {
                "welcome_code": welcome_code,
                "text": {"content": text} if text is not None else None,
                "attachments": [dict(a) for a in attachments] if attachments is not None else None,
            }
        )
        await self.api.post(f"{EC}/send_welcome_msg", body)
