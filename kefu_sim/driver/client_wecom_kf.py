"""`WeComDriverMixin`: SimDriver methods for the WeCom 微信客服 simulation (/_sim/wecom/corps/...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


class WeComDriverMixin:
    """Corps, members, kf accounts, customers and what customers and servicers do.

    Action methods answer {msgid, item, token, ...}: `item` is the sync_msg item produced and
    `token` the sync token of the callback it caused (usable with sync_msg for 10 minutes).
    """

    if TYPE_CHECKING:  # provided by DriverBase; a real method here would shadow it in SimDriver's MRO

        async def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...

    # ------------------------------------------------------------------ setup

    async def wecom_create_corp(self, **fields: Any) -> dict[str, Any]:
        """fields: corpid, secret | secrets, verified, callback_url, callback_token, encoding_aes_key,
        wechat_channels_binding, kf_account_cap, sync_empty_page_rate, sync_calls_per_minute."""
        return await self._call("POST", "/wecom/corps", json=fields)

    async def wecom_corp(self, corpid: str) -> dict[str, Any]:
        return await self._call("GET", f"/wecom/corps/{corpid}")

    async def wecom_update_corp(self, corpid: str, **fields: Any) -> dict[str, Any]:
        return await self._call("PATCH", f"/wecom/corps/{corpid}", json=fields)

    async def wecom_add_member(self, corpid: str, userid: str, **extra: Any) -> dict[str, Any]:
        """extra: name, department [ids], active (activated in WeCom; False → 95014 on trans)."""
        return await self._call("POST", f"/wecom/corps/{corpid}/members", json={"userid": userid, **extra})

    async def wecom_add_media(self, corpid: str, media_type: str = "image", **extra: Any) -> dict[str, Any]:
        """A temporary media without multipart; extra: filename, content_b64."""
        return await self._call("POST", f"/wecom/corps/{corpid}/media", json={"type": media_type, **extra})

    async def wecom_add_kf_account(self, corpid: str, name: str = "客服", **extra: Any) -> dict[str, Any]:
        """extra: open_kfid, servicers [userid], department_ids, native_welcome, manage_privilege."""
        return await self._call("POST", f"/wecom/corps/{corpid}/kf_accounts", json={"name": name, **extra})

    async def wecom_update_kf_account(self, corpid: str, open_kfid: str, **fields: Any) -> dict[str, Any]:
        return await self._call("PATCH", f"/wecom/corps/{corpid}/kf_accounts/{open_kfid}", json=fields)

    async def wecom_set_servicer_status(
        self, corpid: str, userid: str, status: int, *, stop_type: int = 0, open_kfid: str | None = None
    ) -> list[dict[str, Any]]:
        """status 0 接待中 / 1 停止接待; emits servicer_status_change on each of the user's accounts."""
        body: dict[str, Any] = {"userid": userid, "status": status, "stop_type": stop_type}
        if open_kfid:
            body["open_kfid"] = open_kfid
        return (await self._call("POST", f"/wecom/corps/{corpid}/servicer_status", json=body))["events"]

    async def wecom_add_customer(self, corpid: str, **fields: Any) -> dict[str, Any]:
        """fields: unionid (an existing Person, or a new one), nickname, avatar, gender, external_userid."""
        return await self._call("POST", f"/wecom/corps/{corpid}/customers", json=fields)

    async def wecom_set_upgrade_config(
        self,
        corpid: str,
        *,
        userid_list: list[str] | None = None,
        department_id_list: list[int] | None = None,
        chat_id_list: list[str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "userid_list": userid_list or [],
            "department_id_list": department_id_list or [],
            "chat_id_list": chat_id_list or [],
        }
        return await self._call("PUT", f"/wecom/corps/{corpid}/upgrade_config", json=body)

    # ------------------------------------------------------------------ customers

    async def wecom_enter(
        self, corpid: str, external_userid: str, open_kfid: str | None = None, *, url: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """enter_session by open_kfid (+ scene, scene_param, wechat_channels) or by a contact-way url."""
        body = {"external_userid": external_userid, "open_kfid": open_kfid, "url": url, **extra}
        return await self._call(
            "POST", f"/wecom/corps/{corpid}/enter", json={k: v for k, v in body.items() if v is not None}
        )

    async def wecom_customer_send(
        self,
        corpid: str,
        open_kfid: str,
        external_userid: str,
        msgtype: str = "text",
        payload: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The customer writes; `payload` is the <msgtype> object (text: {"content": ...}); answers
        also carry the session `state` and `servicer_userid` afterwards."""
        if payload is None:
            payload = {"content": kwargs.pop("content", "hello")} if msgtype == "text" else {}
        body = {"open_kfid": open_kfid, "external_userid": external_userid, "msgtype": msgtype, msgtype: payload}
        return await self._call("POST", f"/wecom/corps/{corpid}/messages", json=body)

    async def wecom_customer_recall(
        self, corpid: str, open_kfid: str, external_userid: str, msgid: str
    ) -> dict[str, Any]:
        body = {"open_kfid": open_kfid, "external_userid": external_userid, "msgid": msgid}
        return await self._call("POST", f"/wecom/corps/{corpid}/recall", json=body)

    # ------------------------------------------------------------------ servicers (WeCom client)

    async def wecom_servicer(
        self, corpid: str, action: str, open_kfid: str, external_userid: str, userid: str, **extra: Any
    ) -> dict[str, Any]:
        """action: accept | transfer (to_userid) | end | send (msgtype, <msgtype>) | recall (msgid) |
        reject (reject_switch). accept/end answer a msg_code."""
        body = {"open_kfid": open_kfid, "external_userid": external_userid, "userid": userid, **extra}
        return await self._call("POST", f"/wecom/corps/{corpid}/servicer/{action}", json=body)

    # ------------------------------------------------------------------ platform

    async def wecom_send_fail(self, corpid: str, open_kfid: str, msgid: str, fail_type: int = 0) -> dict[str, Any]:
        body = {"open_kfid": open_kfid, "msgid": msgid, "fail_type": fail_type}
        return await self._call("POST", f"/wecom/corps/{corpid}/send_fail", json=body)

    async def wecom_auth_change(
        self, corpid: str, *, add: list[str] | None = None, remove: list[str] | None = None
    ) -> bool:
        body = {"add": add or [], "del": remove or []}
        return (await self._call("POST", f"/wecom/corps/{corpid}/auth_change", json=body))["pushed"]

    async def wecom_verify_url(self, corpid: str, timeout: float = 1.0) -> dict[str, Any]:
        """GET URL check against the corp's callback_url: {ok, status, body, expected, error}."""
        return await self._call("POST", f"/wecom/corps/{corpid}/verify_url", json={"timeout": timeout})

    async def wecom_messages(self, corpid: str, open_kfid: str | None = None) -> list[dict[str, Any]]:
        params = {"open_kfid": open_kfid} if open_kfid else {}
        return await self._call("GET", f"/wecom/corps/{corpid}/messages", params=params)

    async def wecom_sessions(self, corpid: str) -> list[dict[str, Any]]:
        return await self._call("GET", f"/wecom/corps/{corpid}/sessions")
