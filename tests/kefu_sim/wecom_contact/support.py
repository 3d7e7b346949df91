"""Helpers of the simulated external-contact tests: the corp they use and `ContactApi`."""

from __future__ import annotations

from typing import Any

import httpx

CORP = "wwcontact0001"
SECRET = "contact-secret"


class ContactApi:
    """Calls /wecom/cgi-bin/externalcontact/* with an access token in the query."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    async def get(self, name: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(
            f"/wecom/cgi-bin/externalcontact/{name}", params={"access_token": self.token, **params}
        )
        assert response.status_code == 200
        return response.json()

    async def post(self, name: str, body: Any = None, *, content: bytes | None = None) -> dict[str, Any]:
        url = f"/wecom/cgi-bin/externalcontact/{name}"
        params = {"access_token": self.token}
        if content is not None:
            response = await self.client.post(url, params=params, content=content)
        else:
            response = await self.client.post(url, params=params, json=body or {})
        assert response.status_code == 200
        return response.json()
