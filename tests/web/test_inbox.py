"""The web inbox in a real browser (Chromium): an agent answers a WeCom and an MP customer.

Everything real: the gateway app with its sync and job loops, the simulator behind it, the page's
own JavaScript calling the REST API with the operator's session. Screenshots of the main screens go
to test-results/inbox/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, expect
from sqlalchemy import func, select

from gateway.db.models import Conversation, Message
from gateway.db.repositories.operators import create_operator
from gateway.domain import Batch
from gateway.inbound.ingest import ingest_batch
from tests.api.support import ago, message, say
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import APPID, CORP, EMAIL, PASSWORD, add_operator, open_row, seed, sign_in, until

# a 1×1 PNG: what an agent might attach
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e0b6f1"
    "9e0000000049454e44ae426082"
)


async def test_an_agent_answers_both_platforms_in_one_inbox(inbox: Inbox, browser: Browser, tmp_path: Path) -> None:
    people = await seed(inbox)
    h = inbox.h
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    rows = page.locator("[data-conversation-id]")
    await expect(rows).to_have_count(2)
    assert {await r.get_attribute("data-channel-kind") for r in await rows.all()} == {"wecom", "mp"}
    await expect(page.locator("[data-channel-kind=wecom]")).to_contain_text("你好，还有货吗")
    await screenshot(page, "1-list")

    # the WeCom thread: the customer's text with its line break, then a reply with Enter
    await open_row(page, "wecom")
    incoming = page.locator("#thread [data-direction=incoming]")
    await expect(incoming.first).to_contain_text("要两件")
    await expect(page.locator("#policy")).to_contain_text("5")  # replies left, before typing
    box = page.locator("textarea[name=content]")
    await box.fill("有的，今天发货")
    await box.press("Enter")
    await expect(page.locator("#thread [data-direction=outgoing]").first).to_contain_text("有的，今天发货")

    async def delivered_text() -> bool:
        sent = await h.driver.deliveries(platform="wecom", touser=people["alice"])
        return any("今天发货" in str(d) for d in sent)

    await until(delivered_text)
    await expect(page.locator("#thread [data-direction=outgoing] .delivery.sent").first).to_be_visible()

    # an image, uploaded from the composer
    picture = tmp_path / "photo.png"
    picture.write_bytes(PNG)
    await page.set_input_files("#attach", str(picture))

    async def delivered_image() -> bool:
        sent = await h.driver.deliveries(platform="wecom", touser=people["alice"])
        return any(d.get("msgtype") == "image" for d in sent)

    await until(delivered_image)
    await expect(page.locator("#thread [data-direction=outgoing]")).to_have_count(2)

    # a new customer message arrives live, without a reload
    await h.driver.wecom_customer_send(CORP, people["kf"], people["alice"], content="谢谢！")
    await expect(incoming.last).to_contain_text("谢谢", timeout=15_000)
    await screenshot(page, "2-thread")

    # assign to me, then resolve
    await page.click("[data-action=assign-me]")

    async def mine() -> bool:
        async with h.db.sessions() as session:
            row = await session.scalar(select(Conversation).where(Conversation.operator_id.is_not(None)))
            return row is not None

    await until(mine)
    # handed to the bot (WeCom state 1): the platform ends only a servicer's session (state 3), so
    # the page offers no resolve and says why before any click (test_inbox_actions covers it in full)
    async with page.expect_response(lambda r: r.url.endswith("/handover")) as handed:
        await page.click("[data-action=bot]")
    assert (await handed.value).status == 200
    await expect(page.locator("[data-action=resolve]")).to_be_disabled()
    await expect(page.locator("#action-hint")).to_contain_text("with the bot")

    # the MP conversation, answered too
    await open_row(page, "mp")
    await page.locator("textarea[name=content]").fill("Hi Bob")
    await page.locator("textarea[name=content]").press("Enter")

    async def delivered_mp() -> bool:
        sent = await h.driver.deliveries(platform="mp", touser=people["openid"])
        return any("Hi Bob" in str(d) for d in sent)

    await until(delivered_mp)
    assert watch.errors == [], watch.errors
    assert watch.unauthorized() == [], watch.unauthorized()


async def test_the_composer_is_disabled_when_the_window_is_closed(inbox: Inbox, browser: Browser) -> None:
    h = inbox.h
    channel_id = await h.mp_channel()
    await say(h.db, channel_id, APPID, "o-stale", "are you there?", at=ago(hours=49), name="Carol")
    await add_operator(inbox, role="agent")
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1280, "height": 800}))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "mp")
    await expect(page.locator("#policy.blocked")).to_contain_text("45015")
    await expect(page.locator("textarea[name=content]")).to_be_disabled()
    await expect(page.locator("#send")).to_be_disabled()
    # a private note is still possible, and never reaches the platform
    await page.check("#note-mode")
    await expect(page.locator("textarea[name=content]")).to_be_enabled()
    await page.locator("textarea[name=content]").fill("customer asked on the phone instead")
    await page.locator("textarea[name=content]").press("Enter")
    await expect(page.locator("#thread [data-direction=note]")).to_contain_text("on the phone")
    assert await h.driver.deliveries(platform="mp") == []
    async with h.db.sessions() as session:
        notes = await session.scalar(select(func.count()).select_from(Message).where(Message.message_type == "note"))
    assert notes == 1
    await screenshot(page, "3-window-closed")
    assert watch.errors == [] and watch.unauthorized() == []


async def test_chinese_when_the_browser_prefers_it_and_usable_on_a_phone(inbox: Inbox, browser: Browser) -> None:
    await seed(inbox)
    context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    watch = Watch()
    page = watch.attach(await context.new_page())
    await page.goto(inbox.base)
    await expect(page.locator("#signin-form button[type=submit]")).to_have_text("登录")
    await screenshot(page, "4-signin-zh")
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await expect(page.locator("#tabs [data-assignee=all]")).to_have_text("全部")
    await open_row(page, "wecom")
    await expect(page.locator(".list-pane")).to_be_hidden()  # one pane at a time on a phone
    await expect(page.locator("textarea[name=content]")).to_have_attribute("aria-label", "回复")
    await screenshot(page, "5-phone-zh")
    await page.click("#back")
    await expect(page.locator(".list-pane")).to_be_visible()
    assert watch.errors == [] and watch.unauthorized() == []
    await context.close()


async def test_the_thread_pages_back_by_cursor_and_catches_up_live(inbox: Inbox, browser: Browser) -> None:
    """120 messages: 50 on opening, older pages on scrolling up (next_cursor), new ones live (newer_cursor)."""
    h = inbox.h
    channel_id = await h.mp_channel()
    start = ago(minutes=30)
    items = [message(APPID, "o-long", f"line {i}", start + timedelta(seconds=i), seq=i) for i in range(120)]
    await ingest_batch(h.db, Batch(channel_id=channel_id, messages=items))
    async with h.db.session() as session:
        await create_operator(session, email=EMAIL, name="Agent Li", password=PASSWORD, role="agent")
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1280, "height": 800}))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "mp")
    lines = page.locator("#thread [data-direction=incoming]")
    await expect(lines).to_have_count(50)
    await expect(lines.last).to_contain_text("line 119")
    for shown in (100, 120):
        await page.locator("#thread").evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        await expect(lines).to_have_count(shown)
    await expect(lines.first).to_contain_text("line 0")
    # 60 at once: more than a page, so catching up follows next_cursor past the first 50
    burst = [message(APPID, "o-long", f"new {i}", ago(seconds=60 - i), seq=200 + i) for i in range(60)]
    await ingest_batch(h.db, Batch(channel_id=channel_id, messages=burst))
    await expect(lines).to_have_count(180)
    await expect(lines.last).to_contain_text("new 59")
    texts = [t.split("\n")[0] for t in await lines.all_inner_texts()]
    assert texts == [f"line {i}" for i in range(120)] + [f"new {i}" for i in range(60)]
    assert watch.errors == [] and watch.unauthorized() == []
