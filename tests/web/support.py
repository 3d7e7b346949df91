"""What the browser tests share: the people they seed, signing in, waiting for a condition."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from gateway.db.models import Conversation
from gateway.db.repositories.operators import create_operator
from tests.api.support import make_keys
from tests.web.conftest import Inbox

CORP = "wwcorp0001"
APPID = "wxapp0000000001"
EMAIL = "agent@kefu.test"
PASSWORD = "correct horse battery staple"


async def seed(inbox: Inbox, role: str = "admin") -> dict[str, str]:
    """A WeCom customer and an MP follower who both wrote, and an operator who may answer them."""
    h = inbox.h
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    alice = (await h.driver.wecom_add_customer(CORP, nickname="王小丫"))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, alice, content="你好，还有货吗？\n要两件")
    await h.mp_channel()
    openid = (await h.driver.mp_add_follower(APPID, nickname="Bob"))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hello from the official account")

    async def both() -> bool:
        async with h.db.sessions() as session:
            return (await session.scalar(select(func.count()).select_from(Conversation))) == 2

    await h.settle(both)
    await add_operator(inbox, role)
    return {"kf": kf, "alice": alice, "openid": openid}


async def add_operator(inbox: Inbox, role: str = "admin") -> None:
    async with inbox.h.db.session() as session:
        await create_operator(session, email=EMAIL, name="Agent Li", password=PASSWORD, role=role)


async def sign_in(page: Page, inbox: Inbox) -> None:
    await page.goto(inbox.base)
    await page.fill("input[name=email]", EMAIL)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#app")).to_be_visible()


async def open_row(page: Page, kind: str) -> None:
    await page.click(f"[data-conversation-id][data-channel-kind={kind}]")
    await expect(page.locator("#thread-view")).to_be_visible()


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


# fetches a URL with the page's own session (same origin): status, content type and the bytes
FETCH = """async ([url, range]) => {
  const answer = await fetch(url, { credentials: "same-origin", headers: range ? { Range: range } : {} });
  const bytes = Array.from(new Uint8Array(await answer.arrayBuffer()));
  const header = (name) => answer.headers.get(name);
  return { status: answer.status, type: header("content-type"), range: header("content-range"), bytes };
}"""


async def fetch_in_page(page: Page, url: str, byte_range: str | None = None) -> dict[str, Any]:
    """GET `url` from the page (its cookie, as an <a> or <video> would): status, type, content-range, bytes."""
    found = await page.evaluate(FETCH, [url, byte_range])
    found["bytes"] = bytes(found["bytes"])
    return dict(found)


async def write_key(inbox: Inbox) -> str:
    """A write-scope API key, as an integration holds."""
    return (await make_keys(inbox.h.db))["write"]


async def send_by_api(
    inbox: Inbox,
    key: str,
    conversation_id: int,
    body: dict[str, Any],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> dict[str, Any]:
    """A reply sent through the REST API with an API key (as an integration would): 202 expected."""
    headers = {"Authorization": f"Bearer {key}"}
    path = f"/api/v1/conversations/{conversation_id}/messages"
    async with httpx.AsyncClient(base_url=inbox.base) as client:
        if files:
            answer = await client.post(
                path + "/upload", headers=headers, data={"message": json.dumps(body)}, files=files
            )
        else:
            answer = await client.post(path, headers=headers, json=body)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())
