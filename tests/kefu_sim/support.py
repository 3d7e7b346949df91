"""Helpers of the simulator tests: the frozen start time and `WeComKit`, a corp ready for kf calls."""

from __future__ import annotations

from typing import Any

import httpx

from kefu_sim import SimDriver

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC, 08:00 in Beijing


class WeComKit:
    """A WeCom corp ready for kf calls: token, one kf account, servicers alice/bob, one customer."""

    def __init__(self, sim: httpx.AsyncClient, driver: SimDriver, corp: dict[str, Any]) -> None:
        self.sim = sim
        self.driver = driver
        self.corpid: str = corp["corpid"]
        self.secret: str = corp["secrets"][0]
        self.token = ""
        self.open_kfid = ""
        self.external_userid = ""

    async def fetch_token(self) -> str:
        answer = (
            await self.sim.get("/wecom/cgi-bin/gettoken", params={"corpid": self.corpid, "corpsecret": self.secret})
        ).json()
        self.token = answer["access_token"]
        return self.token

    async def post(self, path: str, body: Any = None, **params: Any) -> dict[str, Any]:
        """POST /wecom/cgi-bin/<path> with the kit's access token; the JSON answer."""
        response = await self.sim.post(
            f"/wecom/cgi-bin/{path}",
            params={"access_token": self.token, **params},
            json=body if body is not None else {},
        )
        return response.json()

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.sim.get(f"/wecom/cgi-bin/{path}", params={"access_token": self.token, **params})
        return response.json()

    async def customer_says(
        self, content: str = "hello", *, external_userid: str | None = None, open_kfid: str | None = None
    ) -> dict[str, Any]:
        return await self.driver.wecom_customer_send(
            self.corpid,
            open_kfid or self.open_kfid,
            external_userid or self.external_userid,
            "text",
            {"content": content},
        )

    async def new_customer(self, nickname: str = "cust") -> str:
        return (await self.driver.wecom_add_customer(self.corpid, nickname=nickname))["external_userid"]

    async def sync(self, **body: Any) -> dict[str, Any]:
        return await self.post("kf/sync_msg", {"open_kfid": self.open_kfid, **body})

    async def trans(
        self, state: int, servicer_userid: str | None = None, *, external_userid: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "open_kfid": self.open_kfid,
            "external_userid": external_userid or self.external_userid,
            "service_state": state,
        }
        if servicer_userid is not None:
            body["servicer_userid"] = servicer_userid
        return await self.post("kf/service_state/trans", body)

    async def state(self, external_userid: str | None = None) -> dict[str, Any]:
        return await self.post(
            "kf/service_state/get",
            {"open_kfid": self.open_kfid, "external_userid": external_userid or self.external_userid},
        )
