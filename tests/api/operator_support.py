"""Operators for the REST tests: create one through the repository, sign in over HTTP and call the
API with the session cookie (and the CSRF header on writes), as the web inbox does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gateway.db.engine import Database
from gateway.db.repositories.operators import create_operator

PASSWORD = "correct horse battery"


async def add_operator(
    db: Database, email: str = "ana@example.com", *, role: str = "agent", name: str = "Ana", password: str = PASSWORD
) -> int:
    async with db.session() as session:
        return (await create_operator(session, email=email, name=name, password=password, role=role)).id


def session_cookie(response: httpx.Response) -> str | None:
    """The kefu_session value a response sets ("" when it clears it), read from Set-Cookie itself
    (the test clients speak http to a gateway whose public URL is https, so the jar would not send it)."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() == "kefu_session":
            return rest.split(";", 1)[0]
    return None


@dataclass
class Signed:
    """A signed-in operator: its cookie and CSRF token; `call` sends both (csrf=False leaves it out)."""

    client: httpx.AsyncClient
    cookie: str
    csrf: str
    operator: dict[str, Any]

    async def call(
        self, method: str, path: str, *, csrf: bool | str = True, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        sent = {"Cookie": f"kefu_session={self.cookie}", **(headers or {})}
        if csrf is True:
            sent["X-CSRF-Token"] = self.csrf
        elif isinstance(csrf, str):
            sent["X-CSRF-Token"] = csrf
        return await self.client.request(method, path, headers=sent, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("POST", path, **kw)


async def sign_in(client: httpx.AsyncClient, email: str = "ana@example.com", password: str = PASSWORD) -> Signed:
    response = await client.post("/api/v1/auth/sign-in", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    cookie = session_cookie(response)
    assert cookie
    body = response.json()
    return Signed(client, cookie, body["csrf_token"], body["operator"])
