"""The inbox's actions and contact panel in a real browser: labels (add, remove, filter by), the
contact across WeCom and MP with editable name and CRM fields, and resolve offered only when WeCom
allows it (an "assign to me" without a linked servicer leaves the session in state 0)."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy import select

from gateway.db.models import Contact, Conversation
from gateway.db.repositories import labels as label_repo
from gateway.db.repositories.conversations import agent_by_source
from gateway.db.repositories.operators import by_email, link_agent
from tests.api.support import say
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import APPID, CORP, EMAIL, add_operator, open_row, sign_in, until

SYSTEM = {"type": "system", "name": "test"}


async def conversation_labels(inbox: Inbox) -> dict[str, list[str]]:
    """channel kind → labels of that kind's conversation."""
    async with inbox.h.db.sessions() as session:
        rows = list(await session.scalars(select(Conversation)))
        found = await label_repo.labels_of_conversations(session, [c.id for c in rows])
    return {("mp" if c.inbox_id == max(r.inbox_id for r in rows) else "wecom"): found[c.id] for c in rows}


async def test_labels_and_the_contact_panel_across_wecom_and_mp(inbox: Inbox, browser: Browser) -> None:
    h = inbox.h
    wecom = await h.wecom_channel()
    mp = await h.mp_channel()
    # Dana wrote on WeCom first, then on the Official Account: one contact, merged by unionid
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    await say(h.db, wecom, kf, "wm-dana", "where is my parcel?", name="Dana", unionid="u-dana")
    await say(h.db, mp, APPID, "o-dana", "hello again from the official account", name="Dana", unionid="u-dana")
    async with h.db.session() as session:
        for name in ("vip", "refund"):
            await label_repo.create_label(session, SYSTEM, name=name, color="#cc3300", description="")
    await add_operator(inbox, role="agent")  # agents read no /channels: the panel still knows the kinds

    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await expect(page.locator("[data-conversation-id]")).to_have_count(2)
    await open_row(page, "wecom")

    panel = page.locator("#contact")
    await expect(panel.locator("input[name=contact-name]")).to_have_value("Dana")
    await expect(panel.locator(".identity[data-channel-kind=wecom]")).to_contain_text("wm-dana")
    await expect(panel.locator(".identity[data-channel-kind=mp]")).to_contain_text("o-dana")
    await expect(panel.locator(".identity[data-channel-kind=mp]")).to_contain_text("Official Account")
    previous = panel.locator("a.previous")
    await expect(previous).to_have_count(1)  # the MP conversation; not the open one
    await expect(previous).to_contain_text("Official Account")

    # a label from the panel: a chip there and on the row, stored on the conversation
    await panel.get_by_label("Add label").select_option("vip")
    await expect(panel.locator(".labels .chip")).to_have_text(["vip×"])
    await expect(page.locator("[data-channel-kind=wecom] .chip")).to_have_text("vip")
    assert await conversation_labels(inbox) == {"wecom": ["vip"], "mp": []}

    # the list filtered by it holds that conversation alone
    await page.select_option("#f-label", "vip")
    await expect(page.locator("[data-conversation-id]")).to_have_count(1)
    await expect(page.locator("[data-conversation-id]")).to_have_attribute("data-channel-kind", "wecom")

    # CRM fields and the name are edited in the panel
    await panel.locator("input[name=field-key]").fill("tier")
    await panel.locator("input[name=field-value]").fill("gold")
    await panel.get_by_role("button", name="Set").click()
    await expect(panel.locator("dl.fields")).to_contain_text("tier")
    await expect(panel.locator("dl.fields")).to_contain_text("gold")
    name = panel.locator("input[name=contact-name]")
    await name.fill("Dana Wu")
    await name.press("Enter")
    await expect(page.locator("#thread-title")).to_contain_text("Dana Wu")
    await expect(page.locator("[data-channel-kind=wecom] .name")).to_have_text("Dana Wu")

    async def stored() -> bool:
        async with h.db.sessions() as session:
            contact = await session.scalar(select(Contact).where(Contact.merged_into_id.is_(None)))
            return contact is not None and contact.name == "Dana Wu" and contact.attributes == {"tier": "gold"}

    await until(stored)
    await screenshot(page, "6-contact-panel")
    await panel.get_by_role("button", name="Remove tier").click()
    await expect(panel.locator("dl.fields")).to_have_count(0)

    # taking the label off empties the filtered list
    await panel.get_by_role("button", name="× vip").click()
    await expect(panel.locator(".labels .chip")).to_have_count(0)
    await expect(page.locator("[data-conversation-id]")).to_have_count(0)
    await expect(page.locator("#list-empty")).to_be_visible()
    assert await conversation_labels(inbox) == {"wecom": [], "mp": []}

    # the earlier conversation opens from the panel
    await page.select_option("#f-label", "")
    await previous.click()
    await expect(page.locator("#thread [data-direction=incoming]")).to_contain_text("from the official account")
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_resolve_is_offered_only_when_wecom_would_end_the_session(inbox: Inbox, browser: Browser) -> None:
    h = inbox.h
    channel_id = await h.wecom_channel()
    await h.driver.wecom_add_member(CORP, "zhangsan", name="张三")
    kf = (await h.driver.wecom_add_kf_account(CORP, servicers=["zhangsan"]))["open_kfid"]
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 1)
    customer = (await h.driver.wecom_add_customer(CORP, nickname="王小丫"))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="在吗？")
    await h.sync_all()
    await h.driver.wecom_set_servicer_status(CORP, "zhangsan", 0)
    await add_operator(inbox)

    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "wecom")
    resolve = page.locator("[data-action=resolve]")
    await expect(page.locator("#thread-sub")).to_contain_text("Pending")

    # assign to me without a linked servicer: recorded by the gateway, the session stays in state 0,
    # so the page says so, and resolve is not offered (WeCom would answer 95016)
    await page.click("[data-action=assign-me]")
    await expect(page.locator("#composer-status")).to_contain_text("Assigned in the gateway only")
    await expect(page.locator("#thread-sub")).to_contain_text("Agent Li")
    await expect(resolve).to_be_disabled()
    await expect(page.locator("#action-hint")).to_be_visible()
    await expect(page.locator("#action-hint")).to_contain_text("new (not handled yet)")
    await screenshot(page, "7-resolve-not-yet")
    await page.locator("#thread").click()
    await page.keyboard.press("e")  # the shortcut clicks a disabled button: nothing is asked
    assert [call for call in watch.api if call[1].endswith("/resolve")] == []
    assert await h.driver.calls(path="/cgi-bin/kf/service_state/trans") == []

    # linked to zhangsan, the same click hands the session to the servicer (state 3): now it ends
    async with h.db.session() as session:
        operator = await by_email(session, EMAIL)
        assert operator is not None
        await link_agent(session, operator, (await agent_by_source(session, channel_id, "zhangsan")).id)
    await page.click("[data-action=assign-me]")
    await expect(page.locator("#composer-status")).to_have_text("Done.")
    await expect(resolve).to_be_enabled()
    await expect(page.locator("#action-hint")).to_be_hidden()
    async with page.expect_response(lambda r: r.url.endswith("/resolve")) as answer:
        await resolve.click()
    assert (await answer.value).status == 200
    await expect(page.locator("[data-action=reopen]")).to_be_visible()
    await expect(page.locator("#thread-sub")).to_contain_text("Resolved")
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation is not None and (conversation.status, conversation.platform_state) == ("resolved", "4")
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())
