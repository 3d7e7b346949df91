"""An MP channel in cutover mode (moving its followers to WeCom kf) is marked in the list and in the
thread, so agents know why new followers are answered with a personal WeCom link."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy import select

from gateway.db.models import Channel
from gateway.domain import ChannelKind
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import open_row, seed, sign_in


async def test_a_migrating_mp_channel_is_marked_in_the_list_and_the_thread(inbox: Inbox, browser: Browser) -> None:
    await seed(inbox, role="agent")
    async with inbox.h.db.session() as session:
        row = await session.scalar(select(Channel).where(Channel.kind == ChannelKind.MP))
        assert row is not None
        row.settings = {**row.settings, "cutover": {"plan": "spring", "url": "https://work.weixin.qq.com/kfid/x"}}
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await expect(page.locator("[data-channel-kind=mp] .chip.migrating")).to_have_text("moving")
    await expect(page.locator("[data-channel-kind=wecom] .chip.migrating")).to_have_count(0)
    await open_row(page, "mp")
    await expect(page.locator("#thread-sub")).to_contain_text("moving to WeCom kf")
    await open_row(page, "wecom")
    await expect(page.locator("#thread-sub")).not_to_contain_text("moving to WeCom kf")
    await screenshot(page, "10-migrating")
    assert watch.errors == [] and watch.unauthorized() == []
