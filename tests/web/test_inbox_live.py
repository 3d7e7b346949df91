"""Live updates in a real browser: the page rides out a gateway restart (EventSource reconnects with
Last-Event-ID and shows what arrived meanwhile, once, without a reload), and a customer message in
a conversation that is not open raises the badges and the title count, chimes and notifies."""

from __future__ import annotations

from playwright.async_api import Browser, Request, expect
from sqlalchemy import func, select

from gateway.db.models import Message
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import CORP, open_row, seed, sign_in

# Records every Notification the page creates and every AudioContext (the chime) it starts, then
# lets the real ones run: what the test asserts is what the page asked the browser for.
RECORDER = """
window.__notifications = [];
window.__chimes = 0;
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      window.__notifications.push({ title, body: (options && options.body) || "" });
      super(title, options);
    }
  };
}
if (window.AudioContext) {
  const RealAudio = window.AudioContext;
  window.AudioContext = class extends RealAudio {
    constructor(...args) {
      window.__chimes += 1;
      super(...args);
    }
  };
}
"""


async def incoming_count(inbox: Inbox, text: str) -> int:
    async with inbox.h.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message).where(Message.content == text)) or 0)


async def test_the_page_reconnects_after_the_gateway_restarts(inbox: Inbox, browser: Browser) -> None:
    people = await seed(inbox)
    h = inbox.h
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    streams: list[Request] = []
    page.on("request", lambda r: streams.append(r) if "/events/stream" in r.url else None)
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "wecom")
    await expect(page.locator("#live")).to_have_text("Live")
    await page.evaluate("window.__sameDocument = true")
    incoming = page.locator("#thread [data-direction=incoming]")
    await expect(incoming).to_have_count(1)

    # the gateway stops: the page notices; the customer writes while it is down
    await inbox.stop()
    await expect(page.locator("#live")).to_have_text("Reconnecting…")
    await h.driver.wecom_customer_send(CORP, people["kf"], people["alice"], content="还在吗？服务器重启了")

    async def stored() -> bool:
        return await incoming_count(inbox, "还在吗？服务器重启了") == 1

    await h.settle(stored)

    # it starts again: the page reconnects by itself, resumes after the last event it had, and shows
    # the message that came meanwhile, once
    await inbox.start()
    await expect(page.locator("#live")).to_have_text("Live", timeout=15_000)
    await expect(incoming.last).to_contain_text("服务器重启了", timeout=15_000)
    await expect(incoming).to_have_count(2)
    assert await page.evaluate("window.__sameDocument") is True  # no reload
    resumed = [await r.header_value("last-event-id") for r in streams[1:]]
    assert resumed and all(value and value.isdigit() for value in resumed), resumed
    assert int(resumed[-1]) > 0
    # one more live message after the restart still arrives once
    await h.driver.wecom_customer_send(CORP, people["kf"], people["alice"], content="好的")
    await expect(incoming.last).to_contain_text("好的", timeout=15_000)
    await expect(incoming).to_have_count(3)
    ids = await page.locator("#thread [data-message-id]").evaluate_all("els => els.map(e => e.dataset.messageId)")
    assert len(ids) == len(set(ids))
    # while it was down the browser reported refused connections and the cut stream, nothing else
    network = ("net::ERR_CONNECTION_REFUSED", "net::ERR_INCOMPLETE_CHUNKED_ENCODING")
    assert [e for e in watch.errors if not e.endswith(network)] == [], watch.errors
    assert watch.unauthorized() == []


async def test_a_new_message_elsewhere_badges_titles_chimes_and_notifies(inbox: Inbox, browser: Browser) -> None:
    people = await seed(inbox)
    h = inbox.h
    context = await browser.new_context(viewport={"width": 1366, "height": 820}, locale="en-US")
    await context.grant_permissions(["notifications"], origin=inbox.base)
    await context.add_init_script(RECORDER)
    watch = Watch()
    page = watch.attach(await context.new_page())
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await expect(page).to_have_title("(2) kefu-gateway")  # both customers wrote, nobody read them
    await expect(page.locator("#unread-total")).to_have_text("2")

    # reading both leaves nothing unread; the MP thread stays open
    await open_row(page, "wecom")
    await expect(page).to_have_title("(1) kefu-gateway")
    await open_row(page, "mp")
    await expect(page).to_have_title("kefu-gateway")
    await expect(page.locator("#unread-total")).to_have_text("")
    await expect(page.locator("[data-channel-kind=wecom] .badge")).to_have_count(0)
    assert await page.evaluate("window.__notifications") == []

    # Alice writes on WeCom: her row gets a badge, the title a count, and the agent a chime and a
    # notification (permission granted); the open MP thread is left as it was
    await h.driver.wecom_customer_send(CORP, people["kf"], people["alice"], content="请问什么时候发货？")
    await expect(page.locator("[data-channel-kind=wecom] .badge")).to_have_text("1", timeout=15_000)
    await expect(page).to_have_title("(1) kefu-gateway")
    await expect(page.locator("#unread-total")).to_have_text("1")
    await expect(page.locator("[data-channel-kind=wecom] .preview")).to_have_text("请问什么时候发货？")
    notifications = await page.evaluate("window.__notifications")
    assert notifications == [{"title": "New message from 王小丫", "body": "请问什么时候发货？"}]
    assert await page.evaluate("window.__chimes") == 1
    await expect(page.locator("#thread [data-direction=incoming]")).to_have_count(1)
    await screenshot(page, "8-notified")

    # an agent's own reply in the open thread notifies nobody
    await page.locator("textarea[name=content]").fill("Hi Bob")
    await page.locator("textarea[name=content]").press("Enter")
    await expect(page.locator("#thread [data-direction=outgoing]")).to_have_count(1)
    await expect(page.locator("#thread [data-direction=outgoing] .delivery.sent")).to_be_visible(timeout=15_000)
    assert len(await page.evaluate("window.__notifications")) == 1
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())
    await context.close()
