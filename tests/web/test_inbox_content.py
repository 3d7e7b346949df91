"""Every content type in the thread, in a real browser: a WeCom customer sends an image, a voice, a
video, a file, a location, a link and a miniprogram through the simulator (real media bytes, fetched
into the vault by the gateway's jobs), an agent sends a menu through the REST API; the page shows
each as a person expects: the image enlarges on click, the voice and the video play, the file
downloads with its name and size, the cards carry their fields, the menu its options."""

from __future__ import annotations

import base64

import httpx
from playwright.async_api import Browser, expect
from sqlalchemy import func, select

from gateway.db.models import Conversation, Media, Message
from kefu_sim.samples import JPEG
from tests.api.support import make_keys
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import APPID, CORP, add_operator, open_row, sign_in, until

FILE_BYTES = b"%PDF-1.4\n" + b"invoice line\n" * 200  # 2,609 bytes: "2.5 KB"

# resolves with the element's duration once the browser has decoded its metadata (or the error)
DURATION = """el => new Promise(resolve => {
  if (el.readyState >= 1) return resolve(el.duration);
  el.addEventListener("loadedmetadata", () => resolve(el.duration), { once: true });
  el.addEventListener("error", () => resolve("error " + (el.error && el.error.code)), { once: true });
  el.preload = "metadata";
  el.load();
})"""
# resolves with an image's natural width once it has loaded (0 when it failed)
WIDTH = """img => img.complete ? img.naturalWidth : new Promise(resolve => {
  img.addEventListener("load", () => resolve(img.naturalWidth), { once: true });
  img.addEventListener("error", () => resolve(0), { once: true });
})"""


async def test_every_content_type_is_rendered_as_a_person_expects(inbox: Inbox, browser: Browser) -> None:
    h = inbox.h
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    alice = (await h.driver.wecom_add_customer(CORP, nickname="王小丫"))["external_userid"]
    send = h.driver.wecom_customer_send
    await send(CORP, kf, alice, "image", {"content_b64": base64.b64encode(JPEG).decode(), "filename": "photo.jpg"})
    await send(CORP, kf, alice, "voice", {})
    await send(CORP, kf, alice, "video", {})
    await send(
        CORP, kf, alice, "file", {"content_b64": base64.b64encode(FILE_BYTES).decode(), "filename": "invoice.pdf"}
    )
    place = {"latitude": 31.2304, "longitude": 121.4737, "name": "人民广场", "address": "上海市黄浦区人民大道"}
    await send(CORP, kf, alice, "location", place)
    link = {"title": "Order 42 tracking", "desc": "Shipped today", "url": "https://shop.example/orders/42"}
    await send(CORP, kf, alice, "link", link)
    await send(
        CORP, kf, alice, "miniprogram", {"title": "优选商城", "appid": "wxmini00000001", "pagepath": "pages/item?id=7"}
    )

    async def all_in_and_stored() -> bool:
        async with h.db.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(Message))
            media = list(await session.scalars(select(Media).where(Media.direction == "in")))
        return count == 7 and len(media) >= 4 and all(m.status == "stored" for m in media)

    await until(all_in_and_stored, timeout=30)

    # the agent answers with a menu through the REST API: the thread shows it with its options
    async with h.db.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    keys = await make_keys(h.db)
    async with httpx.AsyncClient(base_url=inbox.base) as client:
        answer = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            headers={"Authorization": f"Bearer {keys['write']}"},
            json={
                "content_type": "menu",
                "head_content": "How was our service?",
                "items": [
                    {"type": "click", "id": "good", "content": "Good"},
                    {"type": "click", "id": "bad", "content": "Bad"},
                ],
                "tail_content": "Thank you!",
            },
        )
    assert answer.status_code == 202, answer.text
    await add_operator(inbox)

    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "wecom")
    thread = page.locator("#thread")
    await expect(thread.locator("[data-direction=incoming]")).to_have_count(7)

    # the image inline (its thumbnail), enlarged to the original on click, closed again
    image = thread.locator("img.inline-image")
    await expect(image).to_have_count(1)
    # once the media have their size, the thread still shows its newest message (the menu)
    assert await image.evaluate(WIDTH) > 0
    await thread.locator("video").evaluate(DURATION)
    await expect(thread.locator(".card.menu")).to_be_in_viewport()
    assert "variant=thumb" in (await image.get_attribute("src") or "")
    assert await image.evaluate(WIDTH) == 320  # the JPEG preview: 320 px on the long side
    await image.click()
    viewer = page.locator("#viewer")
    await expect(viewer).to_be_visible()
    big = page.locator("#viewer-img")
    await expect(big).to_have_attribute("src", (await image.get_attribute("src") or "").replace("?variant=thumb", ""))
    assert await big.evaluate(WIDTH) == 480  # the original JPEG, 480×360
    await screenshot(page, "10-image-enlarged")
    await viewer.get_by_role("button", name="Close").click()
    await expect(viewer).to_be_hidden()

    # the voice plays: the MP3 the gateway transcoded from AMR (1.5 s)
    audio = thread.locator(".voice audio")
    await expect(audio).to_have_count(1)
    assert "variant=playable" in (await audio.get_attribute("src") or "")
    duration = await audio.evaluate(DURATION)
    assert isinstance(duration, int | float) and 1.3 < duration < 1.8, duration

    # the video plays (1 s H.264)
    video = thread.locator("video.inline-video")
    await expect(video).to_have_count(1)
    duration = await video.evaluate(DURATION)
    assert isinstance(duration, int | float) and 0.8 < duration < 1.3, duration

    # the file: name and size, and a download that yields the customer's bytes
    file_link = thread.locator("a.file")
    await expect(file_link).to_contain_text("invoice.pdf")
    await expect(file_link).to_contain_text("2.5 KB")
    async with page.expect_download() as downloading:
        await file_link.click()
    download = await downloading.value
    assert download.suggested_filename == "invoice.pdf"
    assert open(await download.path(), "rb").read() == FILE_BYTES

    # the location, the link and the miniprogram as cards
    location = thread.locator("[data-direction=incoming] .card", has_text="人民广场")
    await expect(location).to_contain_text("上海市黄浦区人民大道")
    await expect(location).to_contain_text("31.2304, 121.4737")
    card = thread.locator("a.link-card")
    await expect(card).to_contain_text("Order 42 tracking")
    await expect(card).to_contain_text("Shipped today")
    await expect(card).to_have_attribute("href", "https://shop.example/orders/42")
    await expect(card).to_have_attribute("rel", "noopener noreferrer")
    mini = thread.locator("[data-direction=incoming] .card", has_text="优选商城")
    await expect(mini).to_contain_text("wxmini00000001")
    await expect(mini).to_contain_text("pages/item?id=7")

    # the agent's menu, with its options, delivered
    menu = thread.locator("[data-direction=outgoing] .card.menu")
    await expect(menu).to_contain_text("How was our service?")
    await expect(menu.locator("li")).to_have_text(["Good", "Bad"])
    await expect(menu).to_contain_text("Thank you!")
    await expect(thread.locator("[data-direction=outgoing] .delivery.sent")).to_have_count(1, timeout=15_000)
    await menu.scroll_into_view_if_needed()
    await screenshot(page, "11-content-types")
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_official_account_content_in_the_thread(inbox: Inbox, browser: Browser) -> None:
    """MP's own shapes: a location carries a label (no name or address), a voice comes as AMR."""
    h = inbox.h
    await h.mp_channel()
    openid = (await h.driver.mp_add_follower(APPID, nickname="Bob"))["openid"]
    await h.driver.mp_user_message(APPID, openid, "image")
    await h.driver.mp_user_message(APPID, openid, "voice")
    place = {"location_x": 39.9087, "location_y": 116.3975, "label": "北京市东城区天安门广场"}
    await h.driver.mp_user_message(APPID, openid, "location", **place)
    link = {"title": "My order", "description": "Order 77, paid", "url": "https://shop.example/orders/77"}
    await h.driver.mp_user_message(APPID, openid, "link", **link)

    async def all_in_and_stored() -> bool:
        async with h.db.sessions() as session:
            kinds = Message.content_type.in_(["image", "voice", "location", "link"])
            count = await session.scalar(select(func.count()).select_from(Message).where(kinds))
            media = list(await session.scalars(select(Media).where(Media.direction == "in")))
        return count == 4 and len(media) == 2 and all(m.status == "stored" for m in media)

    await until(all_in_and_stored, timeout=30)
    await add_operator(inbox)
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 900}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "mp")
    thread = page.locator("#thread")
    await expect(thread.locator("[data-direction=incoming]")).to_have_count(4)
    assert await thread.locator("img.inline-image").evaluate(WIDTH) > 0
    duration = await thread.locator(".voice audio").evaluate(DURATION)
    assert isinstance(duration, int | float) and duration > 1, duration
    location = thread.locator("[data-direction=incoming] .card", has_text="天安门广场")
    await expect(location).to_contain_text("39.9087, 116.3975")
    card = thread.locator("a.link-card")
    await expect(card).to_contain_text("My order")
    await expect(card).to_contain_text("Order 77, paid")
    await expect(card).to_have_attribute("href", "https://shop.example/orders/77")
    await screenshot(page, "15-mp-content")
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())
