"""Files and videos in a real browser: an agent attaches a PDF in the composer (the WeCom customer
receives a file message with those bytes; the thread shows its name and size and its link serves
them), an Official Account conversation refuses a file before uploading it (MP has no file message),
and an MP follower's video and a WeCom customer's text file play and download from the gateway's
media endpoint (a ranged request answers 206)."""

from __future__ import annotations

import base64

from playwright.async_api import Browser, expect
from sqlalchemy import func, select

from gateway.db.models import Media, Message
from kefu_sim.samples import MP4
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import APPID, CORP, add_operator, fetch_in_page, open_row, seed, sign_in, until

PDF = b"%PDF-1.4\n" + b"quarterly report line\n" * 110  # 2,429 bytes: "2.4 KB"
NOTES = "送货地址：上海市黄浦区人民大道 200 号\nDelivery notes, line two\n".encode()

# resolves with the element's duration once the browser has decoded its metadata (or the error)
DURATION = """el => new Promise(resolve => {
  if (el.readyState >= 1) return resolve(el.duration);
  el.addEventListener("loadedmetadata", () => resolve(el.duration), { once: true });
  el.addEventListener("error", () => resolve("error " + (el.error && el.error.code)), { once: true });
  el.preload = "metadata";
  el.load();
})"""


async def test_a_file_attached_in_the_composer_reaches_the_customer(inbox: Inbox, browser: Browser) -> None:
    people = await seed(inbox)
    h = inbox.h
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "wecom")
    await page.set_input_files("#attach", {"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF})

    # the customer receives a file message whose media are the PDF's bytes, under its name
    async def delivered() -> bool:
        sent = await h.driver.deliveries(platform="wecom", touser=people["alice"])
        return any(d["msgtype"] == "file" for d in sent)

    await until(delivered)
    sent = [d for d in await h.driver.deliveries(platform="wecom", touser=people["alice"]) if d["msgtype"] == "file"]
    assert len(sent) == 1
    media = h.world.state.corps[CORP].media[sent[0]["payload"]["file"]["media_id"]]
    assert (media.filename, base64.b64decode(media.data)) == ("report.pdf", PDF)

    # the thread shows it with its name and size, delivered; its link serves the same bytes
    outgoing = page.locator("#thread [data-direction=outgoing]")
    link = outgoing.locator("a.file")
    await expect(link).to_contain_text("report.pdf")
    await expect(link).to_contain_text("2.4 KB")
    await expect(link).to_have_attribute("download", "report.pdf")
    await expect(outgoing.locator(".delivery.sent")).to_have_count(1)
    served = await fetch_in_page(page, await link.get_attribute("href") or "")
    assert (served["status"], served["type"], served["bytes"]) == (200, "application/pdf", PDF)
    await screenshot(page, "20-file-sent")

    # on the Official Account the same file is refused before any upload: MP sends no file message
    await open_row(page, "mp")
    await page.set_input_files("#attach", {"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF})
    await expect(page.locator("#composer-status")).to_contain_text("report.pdf was not sent")
    await expect(page.locator("#thread [data-direction=outgoing]")).to_have_count(0)
    uploads = [(method, status) for method, url, status in watch.api if url.endswith("/upload")]
    assert uploads == [("POST", 202)]  # the WeCom one alone
    assert await h.driver.deliveries(platform="mp") == []
    async with h.db.sessions() as session:
        outgoing_count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.message_type == "outgoing")
        )
    assert outgoing_count == 1
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_an_mp_video_and_a_wecom_file_play_and_download(inbox: Inbox, browser: Browser) -> None:
    h = inbox.h
    await h.mp_channel()
    openid = (await h.driver.mp_add_follower(APPID, nickname="Bob"))["openid"]
    await h.driver.mp_user_message(APPID, openid, "video")
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    alice = (await h.driver.wecom_add_customer(CORP, nickname="王小丫"))["external_userid"]
    note = {"content_b64": base64.b64encode(NOTES).decode(), "filename": "送货说明.txt"}
    await h.driver.wecom_customer_send(CORP, kf, alice, "file", note)

    async def stored() -> bool:
        async with h.db.sessions() as session:
            media = list(await session.scalars(select(Media).where(Media.direction == "in")))
        return len(media) == 2 and all(m.status == "stored" for m in media)

    await until(stored, timeout=30)
    await add_operator(inbox)
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")

    # the MP video: a <video> whose source is the gateway's media endpoint, playable, ranged
    await open_row(page, "mp")
    video = page.locator("#thread [data-direction=incoming] video.inline-video")
    await expect(video).to_have_count(1)
    src = await video.get_attribute("src") or ""
    assert src.startswith("/api/v1/media/"), src
    duration = await video.evaluate(DURATION)
    assert isinstance(duration, int | float) and 0.8 < duration < 1.3, duration
    whole = await fetch_in_page(page, src)
    assert (whole["status"], whole["type"], whole["bytes"]) == (200, "video/mp4", MP4)
    part = await fetch_in_page(page, src, "bytes=0-99")
    assert (part["status"], part["type"], part["range"]) == (206, "video/mp4", f"bytes 0-99/{len(MP4)}")
    assert part["bytes"] == MP4[:100]
    await screenshot(page, "21-mp-video")

    # the WeCom file: its Chinese name and size, and a link that serves its bytes as text
    await open_row(page, "wecom")
    link = page.locator("#thread [data-direction=incoming] a.file")
    await expect(link).to_contain_text("送货说明.txt")
    await expect(link).to_contain_text(f"{len(NOTES)} B")
    await expect(link).to_have_attribute("download", "送货说明.txt")
    served = await fetch_in_page(page, await link.get_attribute("href") or "")
    assert served["status"] == 200 and served["bytes"] == NOTES
    assert (served["type"] or "").startswith("text/plain"), served["type"]
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())
