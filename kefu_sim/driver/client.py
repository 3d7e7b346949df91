"""`SimDriver`: a small async Python wrapper over the simulator's /_sim driver API, for tests and the demo.

Platform-specific methods come from mixins (WeCom kf, MP, external contact) so each part of the
simulator keeps its helper beside its driver module.
"""

from __future__ import annotations

from typing import Any

import httpx

from kefu_sim.driver.client_mp import MpDriverMixin
from kefu_sim.driver.client_wecom_contact import ContactDriverMixin
from kefu_sim.driver.client_wecom_kf import WeComDriverMixin


class DriverBase:
    """Common driver calls. `client` is an httpx.AsyncClient whose base URL is the simulator root."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, f"/_sim{path}", **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"simulator driver {method} {path} → {response.status_code}: {response.text}")
        return response.json() if response.content else None

    async def advance(self, seconds: float) -> float:
        return (await self._call("POST", "/clock/advance", json={"seconds": seconds}))["now"]

    async def now(self) -> float:
        return (await self._call("GET", "/clock"))["now"]

    async def add_fault(self, path: str, kind: str, value: float, **extra: Any) -> dict[str, Any]:
        return await self._call("POST", "/faults", json={"path": path, "kind": kind, "value": value, **extra})

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def calls(self, *, host: str | None = None, path: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"host": host, "path": path, "since": since}.items() if v is not None}
        return await self._call("GET", "/calls", params=params)

    async def deliveries(self, *, platform: str | None = None, touser: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"platform": platform, "touser": touser}.items() if v is not None}
        return await self._call("GET", "/deliveries", params=params)

    async def invalidate_tokens(self, owner: str | None = None) -> int:
        return (await self._call("POST", "/tokens/invalidate", json={"owner": owner} if owner else {}))["revoked"]

    async def add_person(self, nickname: str, **extra: Any) -> dict[str, Any]:
        return await self._call("POST", "/persons", json={"nickname": nickname, **extra})

    async def callbacks(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/callbacks")

    async def flush_callbacks(self) -> None:
        await self._call("POST", "/callbacks/flush")

    async def callback_faults(self, *, drop_next: int | None = None, duplicate_next: int | None = None) -> None:
        body = {k: v for k, v in {"drop_next": drop_next, "duplicate_next": duplicate_next}.items() if v is not None}
        await self._call("POST", "/callbacks/faults", json=body)

    async def dump_state(self) -> dict[str, Any]:
        return await self._call("GET", "/state")

    async def load_state(self, state: dict[str, Any]) -> None:
        await self._call("POST", "/state", json=state)


class SimDriver(WeComDriverMixin, ContactDriverMixin, MpDriverMixin, DriverBase):
    """The whole driver API. Mixins for WeCom kf, MP and external contact are added as they land."""
