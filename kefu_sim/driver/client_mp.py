"""`MpDriverMixin`: SimDriver methods over the /_sim/mp driver endpoints (see driver/mp*.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


class MpDriverMixin:
    """Drive the simulated Official Account: accounts, followers, kf workers.

    Mixed into SimDriver, whose `_call(method, path, **httpx_kwargs)` does the request and raises
    RuntimeError on a 4xx (a platform refusal while driving is a 409 carrying the errcode).
    """

    if TYPE_CHECKING:  # provided by DriverBase; not defined here so the MRO order of mixins never matters

        async def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...

    async def mp_create_app(self, **config: Any) -> dict[str, Any]:
        """appid?, secret?, wechat_id?, gh_id?, callback_url?, callback_token?, encoding_aes_key?,
        callback_mode? ("plain" | "compat" | "safe"), transfer_to_kf?"""
        return await self._call("POST", "/mp/apps", json=config)

    async def mp_configure(self, appid: str, **config: Any) -> dict[str, Any]:
        return await self._call("POST", f"/mp/apps/{appid}/config", json=config)

    async def mp_app(self, appid: str) -> dict[str, Any]:
        return await self._call("GET", f"/mp/apps/{appid}")

    async def mp_verify_url(self, appid: str) -> dict[str, Any]:
        """Run the GET URL check against the account's callback_url; {"ok": bool, ...}."""
        return await self._call("POST", f"/mp/apps/{appid}/verify_url")

    async def mp_add_follower(self, appid: str, **fields: Any) -> dict[str, Any]:
        """openid?, unionid?, nickname?, subscribe? (default True), qr_scene_str?"""
        return await self._call("POST", f"/mp/apps/{appid}/followers", json=fields)

    async def mp_follower(self, appid: str, openid: str) -> dict[str, Any]:
        return await self._call("GET", f"/mp/apps/{appid}/followers/{openid}")

    async def mp_subscribe(self, appid: str, openid: str, *, qr_scene_str: str = "") -> dict[str, Any]:
        return await self._call(
            "POST", f"/mp/apps/{appid}/followers/{openid}/subscribe", json={"qr_scene_str": qr_scene_str}
        )

    async def mp_unsubscribe(self, appid: str, openid: str) -> dict[str, Any]:
        return await self._call("POST", f"/mp/apps/{appid}/followers/{openid}/unsubscribe")

    async def mp_user_message(self, appid: str, openid: str, msgtype: str = "text", **fields: Any) -> dict[str, Any]:
        """The follower writes; text takes content (and bizmsgmenuid for a msgmenu click)."""
        return await self._call(
            "POST", f"/mp/apps/{appid}/followers/{openid}/messages", json={"msgtype": msgtype, **fields}
        )

    async def mp_user_text(self, appid: str, openid: str, content: str) -> dict[str, Any]:
        return await self.mp_user_message(appid, openid, "text", content=content)

    async def mp_event(self, appid: str, openid: str, event: str, event_key: str = "") -> dict[str, Any]:
        """event: CLICK | VIEW | SCAN."""
        return await self._call(
            "POST",
            f"/mp/apps/{appid}/followers/{openid}/events",
            json={"event": event, "event_key": event_key},
        )

    async def mp_kf_bind(
        self, appid: str, kf_account: str, kf_wx: str | None = None, *, reject: bool = False
    ) -> dict[str, Any]:
        """Bind kf_wx directly, or (no kf_wx) accept / reject the pending inviteworker invitation."""
        body: dict[str, Any] = {"kf_account": kf_account, "reject": reject}
        if kf_wx:
            body["kf_wx"] = kf_wx
        return await self._call("POST", f"/mp/apps/{appid}/kf/bind", json=body)

    async def mp_kf_online(self, appid: str, kf_account: str, online: bool = True) -> dict[str, Any]:
        return await self._call(
            "POST", f"/mp/apps/{appid}/kf/status", json={"kf_account": kf_account, "online": online}
        )

    async def mp_kf_accept(self, appid: str, kf_account: str, openid: str | None = None) -> dict[str, Any]:
        """Take a wait case (the oldest when openid is None)."""
        return await self._call(
            "POST", f"/mp/apps/{appid}/kf/accept", json={"kf_account": kf_account, "openid": openid}
        )

    async def mp_kf_send(
        self, appid: str, kf_account: str, openid: str, msgtype: str = "text", **payload: Any
    ) -> dict[str, Any]:
        """A kf replies from its client, e.g. mp_kf_send(a, kf, o, text={"content": "hi"})."""
        return await self._call(
            "POST",
            f"/mp/apps/{appid}/kf/send",
            json={"kf_account": kf_account, "openid": openid, "msgtype": msgtype, **payload},
        )

    async def mp_kf_close(self, appid: str, kf_account: str, openid: str) -> dict[str, Any]:
        return await self._call("POST", f"/mp/apps/{appid}/kf/close", json={"kf_account": kf_account, "openid": openid})

    async def mp_kf_switch(self, appid: str, openid: str, to_kf_account: str) -> dict[str, Any]:
        return await self._call(
            "POST", f"/mp/apps/{appid}/kf/switch", json={"openid": openid, "to_kf_account": to_kf_account}
        )
