"""The conversation list and the thread in a real browser: search by contact name and by message
text, sort by waiting time, the unread total in the title, older messages loaded on scroll."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from gateway.domain import Batch, ContactProfile
from gateway.inbound.ingest import ingest_batch
from tests.api.support import ago, message, say
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import APPID, add_operator, sign_in

LONG = 60  # Bob's messages: more than the thread's first page (50)


async def names(page: Page) -> list[str]:
    return await page.locator("[data-conversation-id] .name").all_inner_texts()


async def test_search_sort_title_and_older_messages(inbox: Inbox, browser: Browser) -> None:
    h = inbox.h
    mp = await h.mp_channel()
    await say(h.db, mp, APPID, "o-ann", "my order never came", at=ago(hours=5), name="Ann")
    await say(h.db, mp, APPID, "o-carol", "I would like a refund please", at=ago(hours=2), name="Carol")
    # Bob wrote LONG times in the last hour: active last, waiting an hour
    batch = Batch(
        channel_id=mp,
        messages=[
            message(APPID, "o-bob", f"bob line {n:02d}", ago(minutes=LONG + 1 - n), seq=n) for n in range(1, LONG + 1)
        ],
        profiles=[ContactProfile(source_id="o-bob", name="Bob")],
    )
    await ingest_batch(h.db, batch)
    await add_operator(inbox)

    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await expect(page.locator("[data-conversation-id]")).to_have_count(3)
    await expect(page).to_have_title("(3) kefu-gateway")
    await expect(page.locator("#unread-total")).to_have_text("3")
    assert await names(page) == ["Bob", "Carol", "Ann"]  # last activity first

    # waiting longest first: Ann (5 h), Carol (2 h), Bob (1 h)
    await page.select_option("#f-sort", "waiting")
    await expect(page.locator("[data-conversation-id] .name")).to_have_text(["Ann", "Carol", "Bob"])
    await screenshot(page, "9-sorted-by-waiting")

    # search by message text, then by contact name, then nothing
    await page.fill("#search", "refund")
    await expect(page.locator("[data-conversation-id] .name")).to_have_text(["Carol"])
    await page.fill("#search", "ann")
    await expect(page.locator("[data-conversation-id] .name")).to_have_text(["Ann"])
    await page.fill("#search", "no such words")
    await expect(page.locator("[data-conversation-id]")).to_have_count(0)
    await expect(page.locator("#list-empty")).to_be_visible()
    await page.fill("#search", "")
    await expect(page.locator("[data-conversation-id] .name")).to_have_text(["Ann", "Carol", "Bob"])

    # Bob's thread: the newest 50 first, the rest when scrolled to the top, none twice
    await page.locator("[data-conversation-id]", has_text="Bob").click()
    shown = page.locator("#thread [data-direction=incoming]")
    await expect(shown).to_have_count(50)
    await expect(shown.first).to_contain_text(f"bob line {LONG - 49:02d}")
    await expect(shown.last).to_contain_text(f"bob line {LONG:02d}")
    await expect(page).to_have_title("(2) kefu-gateway")  # reading Bob's thread
    await page.locator("#thread").evaluate("el => { el.scrollTop = 0; }")
    await expect(shown).to_have_count(LONG)
    await expect(shown.first).to_contain_text("bob line 01")
    texts = await shown.all_inner_texts()
    assert [t.split("\n")[0] for t in texts] == [f"bob line {n:02d}" for n in range(1, LONG + 1)]
    ids = await page.locator("#thread [data-message-id]").evaluate_all(
        "els => els.map(e => Number(e.dataset.messageId))"
    )
    assert ids == sorted(set(ids))
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())
