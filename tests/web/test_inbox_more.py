"""More of the inbox in a real browser: "To bot" on its own (a servicer's WeCom session goes to the
bot: state 3 → 1, open → pending), the `e` shortcut ending a session the operator holds, link and
news cards sent through the REST API, a menu's row preview, and the filters labelled in Chinese
(still filtering)."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from gateway.db.models import Conversation
from gateway.db.repositories import labels as label_repo
from gateway.db.repositories.conversations import agent_by_source
from gateway.db.repositories.operators import by_email, link_agent
from kefu_sim.samples import JPEG
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import (
    APPID,
    CORP,
    EMAIL,
    add_operator,
    open_row,
    seed,
    send_by_api,
    sign_in,
    until,
    write_key,
)

SYSTEM = {"type": "system", "name": "test"}


async def held_by_a_servicer(inbox: Inbox) -> tuple[int, int, str]:
    """A WeCom customer whose session WeCom gave the servicer 张三 (the kf account's one servicer,
    receiving): state 3, open. (channel id, conversation id, external_userid)."""
    h = inbox.h
    channel_id = await h.wecom_channel()
    await h.driver.wecom_add_member(CORP, "zhangsan", name="张三")
    kf = (await h.driver.wecom_add_kf_account(CORP, servicers=["zhangsan"]))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP, nickname="王小丫"))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="我要退货")
    await h.sync_all()
    async with h.db.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    assert conversation_id is not None

    async def taken() -> bool:
        await h.sync_all()
        return await state_of(inbox, conversation_id) == ("open", "3")

    await until(taken)
    return channel_id, conversation_id, customer


async def state_of(inbox: Inbox, conversation_id: int) -> tuple[str, str | None]:
    async with inbox.h.db.sessions() as session:
        row = await session.get(Conversation, conversation_id)
    assert row is not None
    return row.status, row.platform_state


async def session_state(inbox: Inbox, customer: str) -> list[int]:
    return [s["state"] for s in await inbox.h.driver.wecom_sessions(CORP) if s["external_userid"] == customer]


async def new_page(browser: Browser, inbox: Inbox, watch: Watch, locale: str = "en-US") -> Page:
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale=locale))
    await sign_in(page, inbox)
    return page


async def test_to_bot_hands_a_new_session_to_the_bot(inbox: Inbox, browser: Browser) -> None:
    """A new session (state 0) goes to the bot (1); a servicer's (3) cannot (WeCom: 95016), so the
    page does not offer it there."""
    h = inbox.h
    await h.wecom_channel()
    await h.driver.wecom_add_member(CORP, "zhangsan", name="张三")
    kf = (await h.driver.wecom_add_kf_account(CORP, servicers=["zhangsan"]))["open_kfid"]
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 1)  # not receiving: sessions stay new
    alice = (await h.driver.wecom_add_customer(CORP, nickname="王小丫"))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, alice, content="在吗？")
    await h.sync_all()
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)  # receiving: WeCom gives him the next
    bob = (await h.driver.wecom_add_customer(CORP, nickname="Bob"))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, bob, content="refund please")
    assert (await session_state(inbox, alice), await session_state(inbox, bob)) == ([0], [3])
    ids: dict[str, int] = {}

    async def both_seen() -> bool:
        await h.sync_all()
        async with h.db.sessions() as session:
            ids.update({c.status: c.id for c in await session.scalars(select(Conversation))})
        return set(ids) == {"pending", "open"}

    await until(both_seen)
    await add_operator(inbox)
    watch = Watch()
    page = await new_page(browser, inbox, watch)
    await page.click("#tabs [data-assignee=all]")
    to_bot, to_queue = page.locator("[data-action=bot]"), page.locator("[data-action=queue]")
    head = page.locator("#thread-sub")

    # Bob's session is zhangsan's: neither the bot nor the queue may take it, and the page says so
    await page.click(f"[data-conversation-id='{ids['open']}']")
    await expect(head).to_contain_text("Open")
    await expect(to_bot).to_be_disabled()
    await expect(to_bot).to_have_attribute("title", "WeCom refuses this move: the session is held by a servicer.")
    await expect(to_queue).to_be_disabled()

    # Alice's is new: To bot hands it to the bot (WeCom state 1); it stays pending, with nobody
    await page.click(f"[data-conversation-id='{ids['pending']}']")
    await expect(head).to_contain_text("Pending")
    await expect(page.locator("#action-hint")).to_contain_text("new (not handled yet)")
    await expect(to_bot).to_be_enabled()
    async with page.expect_response(lambda r: r.url.endswith("/handover")) as handed:
        await to_bot.click()
    answer = await handed.value
    assert (answer.status, answer.request.post_data_json) == (200, {"target": "bot"})
    assert await session_state(inbox, alice) == [1]
    assert await state_of(inbox, ids["pending"]) == ("pending", "1")
    await expect(page.locator("#composer-status")).to_have_text("Done.")
    await expect(page.locator("#action-hint")).to_contain_text("with the bot")
    await expect(head).to_contain_text("Pending")
    await expect(head).to_contain_text("Nobody assigned")
    await expect(page.locator(f"[data-conversation-id='{ids['pending']}'] .status")).to_have_text("Pending")
    # with the bot: not again, and not ended by an agent; the queue may still take it (1 → 2)
    await expect(to_bot).to_be_disabled()
    await expect(page.locator("[data-action=resolve]")).to_be_disabled()
    await expect(to_queue).to_be_enabled()
    await screenshot(page, "22-to-bot")
    handovers = [(method, status) for method, url, status in watch.api if url.endswith("/handover")]
    assert handovers == [("POST", 200)]
    assert len(await h.driver.calls(path="/cgi-bin/kf/service_state/trans")) == 1
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_the_e_key_ends_a_session_the_operator_holds(inbox: Inbox, browser: Browser) -> None:
    channel_id, conversation_id, customer = await held_by_a_servicer(inbox)
    await add_operator(inbox)
    async with inbox.h.db.session() as session:  # the operator is 张三 in the gateway
        operator = await by_email(session, EMAIL)
        assert operator is not None
        await link_agent(session, operator, (await agent_by_source(session, channel_id, "zhangsan")).id)
    watch = Watch()
    page = await new_page(browser, inbox, watch)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "wecom")
    head = page.locator("#thread-sub")
    await expect(head).to_contain_text("Open")
    await expect(page.locator("[data-action=resolve]")).to_be_enabled()

    await page.locator("#thread").click()  # the keys act outside the composer
    async with page.expect_response(lambda r: r.url.endswith("/resolve")) as resolving:
        await page.keyboard.press("e")
    assert (await resolving.value).status == 200
    assert await session_state(inbox, customer) == [4]
    assert await state_of(inbox, conversation_id) == ("resolved", "4")
    await expect(head).to_contain_text("Resolved")
    await expect(page.locator("[data-action=reopen]")).to_be_visible()
    await expect(page.locator("[data-action=resolve]")).to_be_hidden()
    row = page.locator(f"[data-conversation-id='{conversation_id}']")
    await expect(row.locator(".status")).to_have_text("Resolved")

    # `e` again, with resolve hidden: nothing is asked of the gateway or WeCom
    await page.locator("#thread").click()
    await page.keyboard.press("e")
    await expect(page.locator("#composer-status")).to_have_text("Done.")
    assert [(method, status) for method, url, status in watch.api if url.endswith("/resolve")] == [("POST", 200)]
    assert len(await inbox.h.driver.calls(path="/cgi-bin/kf/service_state/trans")) == 1  # the end alone
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_link_and_news_cards_sent_through_the_api(inbox: Inbox, browser: Browser) -> None:
    people = await seed(inbox)
    h = inbox.h
    ids = await conversation_ids(inbox)
    key = await write_key(inbox)
    link = {
        "content_type": "link",
        "title": "Order 42 tracking",
        "description": "Shipped today, arrives Friday",
        "url": "https://shop.example/orders/42",
    }
    await send_by_api(inbox, key, ids["wecom"], link, files={"thumb": ("thumb.jpg", JPEG, "image/jpeg")})
    article = {
        "title": "春季新品上市",
        "description": "全场八折，仅限本周",
        "url": "https://shop.example/news/spring",
        "picurl": "https://shop.example/news/spring.jpg",
    }
    await send_by_api(inbox, key, ids["mp"], {"content_type": "news", "articles": [article]})
    # the follower shares a link whose URL is script: the card shows it but does not link it
    trap = {"title": "Free gift", "description": "click me", "url": "javascript:alert(document.cookie)"}
    await h.driver.mp_user_message(APPID, people["openid"], "link", **trap)

    async def delivered() -> bool:
        wecom = await h.driver.deliveries(platform="wecom", touser=people["alice"])
        mp = await h.driver.deliveries(platform="mp", touser=people["openid"])
        return [d["msgtype"] for d in wecom] == ["link"] and [d["msgtype"] for d in mp] == ["news"]

    await until(delivered)
    watch = Watch()
    page = await new_page(browser, inbox, watch)
    await page.click("#tabs [data-assignee=all]")

    await open_row(page, "wecom")
    card = page.locator("#thread [data-direction=outgoing] a.link-card")
    await expect(card.locator("strong")).to_have_text("Order 42 tracking")
    await expect(card).to_contain_text("Shipped today, arrives Friday")
    await expect(card.locator(".card-url")).to_have_text("https://shop.example/orders/42")
    await expect(card).to_have_attribute("href", "https://shop.example/orders/42")
    await expect(card).to_have_attribute("rel", "noopener noreferrer")
    await expect(page.locator("#thread [data-direction=outgoing] .delivery.sent")).to_have_count(1)

    # MP news carries its one article as `articles`: the card shows that article
    await open_row(page, "mp")
    card = page.locator("#thread [data-direction=outgoing] a.link-card")
    await expect(card.locator("strong")).to_have_text("春季新品上市")
    await expect(card).to_contain_text("全场八折，仅限本周")
    await expect(card.locator(".card-url")).to_have_text("https://shop.example/news/spring")
    await expect(card).to_have_attribute("href", "https://shop.example/news/spring")
    await expect(page.locator("#thread [data-direction=outgoing] .delivery.sent")).to_have_count(1)
    shared = page.locator("#thread [data-direction=incoming] a.link-card")
    await expect(shared.locator("strong")).to_have_text("Free gift")
    await expect(shared.locator(".card-url")).to_have_text("javascript:alert(document.cookie)")
    await expect(shared).to_have_attribute("href", "#")
    await screenshot(page, "23-news-card")
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_a_menus_row_preview_is_its_head_or_first_option(inbox: Inbox, browser: Browser) -> None:
    await seed(inbox)
    ids = await conversation_ids(inbox)
    key = await write_key(inbox)
    items = [{"type": "click", "id": "yes", "content": "满意"}, {"type": "click", "id": "no", "content": "不满意"}]
    await send_by_api(
        inbox, key, ids["wecom"], {"content_type": "msgmenu", "head_content": "请评价本次服务", "items": items}
    )
    watch = Watch()
    page = await new_page(browser, inbox, watch)
    await page.click("#tabs [data-assignee=all]")
    preview = page.locator("[data-channel-kind=wecom] .preview")
    await expect(preview).to_have_text("请评价本次服务")
    # a menu without a head: its first option, live (the list follows the new message)
    await send_by_api(inbox, key, ids["wecom"], {"content_type": "menu", "items": items})
    await expect(preview).to_have_text("满意")
    await expect(page.locator("[data-channel-kind=mp] .preview")).to_have_text("hello from the official account")
    await screenshot(page, "24-menu-preview")
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_the_filters_in_chinese_and_filtering_with_them(inbox: Inbox, browser: Browser) -> None:
    await seed(inbox)
    ids = await conversation_ids(inbox)
    async with inbox.h.db.session() as session:
        vip = await label_repo.create_label(session, SYSTEM, name="vip", color="#cc3300", description="")
        await label_repo.attach(session, SYSTEM, conversation=await session.get(Conversation, ids["mp"]), labels=[vip])
    watch = Watch()
    page = await new_page(browser, inbox, watch, locale="zh-CN")
    tabs = page.locator("#tabs [data-assignee]")
    await expect(tabs).to_have_text(["我的", "未分配", "全部"])
    for picker, label in (
        ("#f-status", "状态"),
        ("#f-channel", "渠道"),
        ("#f-inbox", "客服账号"),
        ("#f-label", "标签"),
    ):
        await expect(page.locator(picker)).to_have_attribute("aria-label", label)
    await expect(page.locator("#f-status option")).to_have_text(["全部状态", "进行中", "待处理", "排队中", "已结束"])
    channels = page.locator("#f-channel option")
    await expect(channels.first).to_have_text("全部渠道")
    await expect(channels).to_have_count(3)
    kinds = {text.split(" · ")[0] for text in (await channels.all_inner_texts())[1:]}
    assert kinds == {"企业微信", "公众号"}, kinds
    await expect(page.locator("#f-inbox option").first).to_have_text("全部客服账号")
    await expect(page.locator("#f-label option")).to_have_text(["全部标签", "vip"])

    # filtering still works: tabs, then the channel, the label and the status
    rows = page.locator("[data-conversation-id]")
    await page.get_by_role("tab", name="我的").click()
    await expect(rows).to_have_count(0)
    await expect(page.locator("#list-empty")).to_have_text("这里没有会话。")
    await page.get_by_role("tab", name="未分配").click()
    await expect(rows).to_have_count(2)
    await expect(rows.locator(".row-meta").first).to_contain_text("未分配")
    await page.get_by_role("combobox", name="渠道").select_option(label=await mp_channel_label(page))
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-channel-kind", "mp")
    await expect(rows.locator(".status")).to_have_text("待处理")
    await screenshot(page, "25-filters-zh")
    await page.get_by_role("combobox", name="渠道").select_option("")
    await page.get_by_role("combobox", name="标签").select_option("vip")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-conversation-id", str(ids["mp"]))
    await page.get_by_role("combobox", name="标签").select_option("")
    await page.get_by_role("combobox", name="状态").select_option(label="已结束")
    await expect(rows).to_have_count(0)
    await page.get_by_role("combobox", name="状态").select_option(label="待处理")
    await expect(rows).to_have_count(2)

    # switched to English on the page: the filters and the open conversation's pickers follow
    await open_row(page, "wecom")
    await expect(page.locator("#assign-to option").first).to_have_text("分配给…")
    await page.select_option("#language", "en")
    await expect(tabs).to_have_text(["Mine", "Unassigned", "All"])
    await expect(page.locator("#f-channel option").first).to_have_text("All channels")
    await expect(page.locator("#f-status")).to_have_attribute("aria-label", "Status")
    await expect(page.locator("#assign-to option").first).to_have_text("Assign to…")
    await expect(rows.locator(".status").first).to_have_text("Pending")
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def mp_channel_label(page: Page) -> str:
    texts = await page.locator("#f-channel option").all_inner_texts()
    return next(text for text in texts if text.startswith("公众号"))


async def conversation_ids(inbox: Inbox) -> dict[str, int]:
    """channel kind → the conversation of seed()'s WeCom customer and MP follower."""
    async with inbox.h.db.sessions() as session:
        rows = list(await session.scalars(select(Conversation).order_by(Conversation.inbox_id)))
    assert len(rows) == 2
    return {"wecom": rows[0].id, "mp": rows[1].id}
