"""An agent's working moves in a real browser: a canned response by typing `/`, the typing indicator
the MP customer sees while the agent composes, hand to queue, assign to another operator, reopen,
the status/channel/inbox filters and the keyboard shortcuts (j/k, r, a, /, ?)."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from gateway.db.models import Conversation
from gateway.db.models import Inbox as InboxRow
from gateway.db.people import Operator
from gateway.db.repositories import canned
from gateway.db.repositories.operators import create_operator
from gateway.domain import ConversationStatus
from tests.api.support import change_state
from tests.web.conftest import Inbox, Watch, screenshot
from tests.web.support import CORP, open_row, seed, sign_in, until

SYSTEM = {"type": "system", "name": "test"}


async def conversation(inbox: Inbox, kind: str) -> Conversation:
    """The conversation of the WeCom or the MP inbox (seed makes one of each)."""
    async with inbox.h.db.sessions() as session:
        rows = list(await session.scalars(select(Conversation).order_by(Conversation.inbox_id)))
    assert len(rows) == 2
    return rows[0] if kind == "wecom" else rows[1]


async def option_value(page: Page, select: str, text: str) -> str:
    value = await page.locator(f"{select} option", has_text=text).get_attribute("value")
    assert value, (select, text)
    return value


async def test_canned_responses_and_the_mp_typing_indicator(inbox: Inbox, browser: Browser) -> None:
    people = await seed(inbox)
    h = inbox.h
    async with h.db.session() as session:
        await canned.create(session, SYSTEM, short_code="thanks", content="Thank you for waiting, we are on it.")
        await canned.create(session, SYSTEM, short_code="hours", content="We answer 9:00–18:00 every day.")
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    await open_row(page, "mp")
    # a private note is no reply: composing one shows the customer nothing (the first keystroke of
    # the page, so no throttle hides a call)
    box = page.locator("textarea[name=content]")
    await page.check("#note-mode")
    await box.press_sequentially("internal: check stock")
    await expect(box).to_have_value("internal: check stock")
    await box.fill("")
    await page.uncheck("#note-mode")
    assert await h.driver.calls(path="/cgi-bin/message/custom/typing") == []

    # `/` offers every canned response; typing narrows them; arrows move; Enter inserts the text
    await box.press_sequentially("/")
    menu = page.locator("#canned")
    await expect(menu).to_be_visible()
    await expect(menu.get_by_role("option")).to_have_count(2)
    await box.press_sequentially("th")
    await expect(menu.get_by_role("option")).to_have_count(1)
    await expect(menu.get_by_role("option")).to_contain_text("/thanks")
    await screenshot(page, "12-canned")
    await box.press("Enter")
    await expect(menu).to_be_hidden()
    await expect(box).to_have_value("Thank you for waiting, we are on it.")

    # composing on MP showed the customer "typing" (once, not per key)
    async def typing_shown() -> bool:
        return bool(await h.driver.calls(path="/cgi-bin/message/custom/typing"))

    await until(typing_shown)
    typing = await h.driver.calls(path="/cgi-bin/message/custom/typing")
    assert [(c["body"]["touser"], c["body"]["command"]) for c in typing] == [(people["openid"], "Typing")]

    # Escape closes the menu without inserting; the picked text is sent with Enter
    await box.fill("")
    await box.press_sequentially("/ho")
    await expect(menu.get_by_role("option")).to_have_count(1)
    await box.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(box).to_have_value("/ho")
    await box.fill("")
    await box.press_sequentially("/")
    await expect(menu.get_by_role("option")).to_have_count(2)
    await box.press("ArrowDown")
    await expect(menu.locator(".active")).to_contain_text("/thanks")  # listed by short code: hours, thanks
    await box.press("Enter")
    await box.press("Enter")

    async def delivered() -> bool:
        sent = await h.driver.deliveries(platform="mp", touser=people["openid"])
        return any("we are on it" in str(d) for d in sent)

    await until(delivered)
    await expect(page.locator("#thread [data-direction=outgoing]")).to_contain_text("Thank you for waiting")

    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def test_queue_assign_reopen_filters_and_shortcuts(inbox: Inbox, browser: Browser) -> None:
    people = await seed(inbox)
    h = inbox.h
    async with h.db.session() as session:
        await create_operator(
            session, email="wang@kefu.test", name="Agent Wang", password="another long secret", role="agent"
        )
    wecom = await conversation(inbox, "wecom")
    mp = await conversation(inbox, "mp")
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    await page.click("#tabs [data-assignee=all]")
    rows = page.locator("[data-conversation-id]")
    await expect(rows).to_have_count(2)

    # keyboard: ? shows the shortcuts; j/k walk the list; r focuses the reply; / the search
    await page.locator("#list-heading").evaluate("el => document.activeElement && document.activeElement.blur()")
    await page.keyboard.press("?")
    help_dialog = page.locator("#help")
    await expect(help_dialog).to_be_visible()
    await expect(help_dialog.locator("dt")).to_have_text(["j", "k", "r", "e", "a", "/", "?"])
    await screenshot(page, "13-shortcuts")
    await page.keyboard.press("Escape")
    await expect(help_dialog).to_be_hidden()
    selected = page.locator("[data-conversation-id].selected")
    await page.keyboard.press("j")
    await expect(page.locator("#thread-view")).to_be_visible()
    await expect(rows.nth(0)).to_have_class("row selected")
    await page.keyboard.press("j")
    await expect(rows.nth(1)).to_have_class("row selected")
    await expect(selected).to_have_count(1)
    await page.keyboard.press("k")
    await expect(rows.nth(0)).to_have_class("row selected")
    await expect(selected).to_have_count(1)
    await page.keyboard.press("r")
    await expect(page.locator("textarea[name=content]")).to_be_focused()
    await page.locator("#thread").click()
    await page.keyboard.press("/")
    await expect(page.locator("#search")).to_be_focused()

    # the WeCom conversation: `a` assigns it to me, then it goes to the queue (WeCom state 2)
    await open_row(page, "wecom")
    await page.locator("#thread").click()
    await page.keyboard.press("a")
    await expect(page.locator("#thread-sub")).to_contain_text("Agent Li")
    async with page.expect_response(lambda r: r.url.endswith("/handover")) as handed:
        await page.click("[data-action=queue]")
    assert (await handed.value).status == 200
    sessions = await h.driver.wecom_sessions(CORP)
    assert [s["state"] for s in sessions if s["external_userid"] == people["alice"]] == [2]

    async def queued() -> bool:
        async with h.db.sessions() as session:
            row = await session.get(Conversation, wecom.id)
            return row is not None and row.platform_state == "2"

    await until(queued)
    await expect(page.locator("#action-hint")).to_contain_text("queue")
    await expect(page.locator("#thread-sub")).to_contain_text("Queued")
    await page.select_option("#f-status", "queued")
    await expect(rows).to_have_count(1)
    await expect(rows.locator(".status")).to_have_text("Queued")
    await page.select_option("#f-status", "")
    await expect(rows).to_have_count(2)

    # assigned to another operator from the picker: stored, shown in the head and the row
    await page.select_option("#assign-to", label="Agent Wang")
    await expect(page.locator("#thread-sub")).to_contain_text("Agent Wang")
    await expect(page.locator(f"[data-conversation-id='{wecom.id}'] .row-meta")).to_contain_text("Agent Wang")
    async with h.db.sessions() as session:
        wang = await session.scalar(select(Operator).where(Operator.email == "wang@kefu.test"))
        row = await session.get(Conversation, wecom.id)
    assert wang is not None and row is not None and row.operator_id == wang.id

    # WeCom ends the session on its side: the page shows it resolved, live; reopen brings it back
    channel_id, source = await inbox_of(inbox, wecom)
    await change_state(
        h.db, channel_id, source, people["alice"], status=ConversationStatus.RESOLVED, platform_state="4"
    )
    reopen = page.locator("[data-action=reopen]")
    await expect(reopen).to_be_visible(timeout=10_000)
    await expect(page.locator("#thread-sub")).to_contain_text("Resolved")
    await expect(page.locator("[data-action=resolve]")).to_be_hidden()

    # the status filter: resolved holds the WeCom one alone, open the MP one
    await page.select_option("#f-status", "resolved")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-conversation-id", str(wecom.id))
    await expect(rows.locator(".status")).to_have_text("Resolved")
    assert (await conversation(inbox, "mp")).status == "pending"  # no kf account took the MP user yet
    await page.select_option("#f-status", "pending")
    await expect(rows).to_have_attribute("data-conversation-id", str(mp.id))
    await expect(rows).to_have_count(1)
    await page.select_option("#f-status", "open")
    await expect(rows).to_have_count(0)
    await expect(page.locator("#list-empty")).to_be_visible()
    await page.select_option("#f-status", "")
    await expect(rows).to_have_count(2)

    async with page.expect_response(lambda r: r.url.endswith("/reopen")) as reopened:
        await reopen.click()
    assert (await reopened.value).status == 200
    await expect(reopen).to_be_hidden()
    await expect(page.locator("#thread-sub")).to_contain_text("Open")
    await expect(page.locator("#composer-status")).to_contain_text("next message")  # why WeCom was not asked
    async with h.db.sessions() as session:
        row = await session.get(Conversation, wecom.id)
    assert row is not None and row.status == "open"

    # the channel and inbox filters
    await page.select_option("#f-channel", await option_value(page, "#f-channel", "Official Account"))
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-channel-kind", "mp")
    await page.select_option("#f-channel", await option_value(page, "#f-channel", "WeCom"))
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-channel-kind", "wecom")
    await page.select_option("#f-channel", "")
    await page.select_option("#f-inbox", str(mp.inbox_id))
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-channel-kind", "mp")
    await screenshot(page, "14-filtered-by-inbox")
    await page.select_option("#f-inbox", "")
    await expect(rows).to_have_count(2)
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())


async def inbox_of(inbox: Inbox, row: Conversation) -> tuple[int, str]:
    """(channel id, inbox source id) of a conversation."""
    async with inbox.h.db.sessions() as session:
        found = await session.get(InboxRow, row.inbox_id)
    assert found is not None
    return found.channel_id, found.source_id


async def test_mine_and_unassigned_tabs_and_a_failed_reply_with_its_reason(inbox: Inbox, browser: Browser) -> None:
    people = await seed(inbox)
    h = inbox.h
    wecom = await conversation(inbox, "wecom")
    mp = await conversation(inbox, "mp")
    watch = Watch()
    page = watch.attach(await browser.new_page(viewport={"width": 1366, "height": 820}, locale="en-US"))
    await sign_in(page, inbox)
    rows = page.locator("[data-conversation-id]")
    await page.click("#tabs [data-assignee=me]")
    await expect(page.locator("#tabs [data-assignee=me]")).to_have_attribute("aria-selected", "true")
    await expect(rows).to_have_count(0)
    await expect(page.locator("#list-empty")).to_be_visible()
    await page.click("#tabs [data-assignee=unassigned]")
    await expect(rows).to_have_count(2)

    # assigned to me: it moves from Unassigned to Mine
    await open_row(page, "wecom")
    await page.click("[data-action=assign-me]")
    await expect(page.locator("#thread-sub")).to_contain_text("Agent Li")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-conversation-id", str(mp.id))
    await page.click("#tabs [data-assignee=me]")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-conversation-id", str(wecom.id))
    await expect(rows.locator(".row-meta")).to_contain_text("Agent Li")

    # WeCom refuses the reply (95018): the message turns failed, live, with the platform's reason
    await h.driver.add_fault("/cgi-bin/kf/send_msg", "errcode", 95018, remaining=1)
    box = page.locator("textarea[name=content]")
    await box.fill("this one will not arrive")
    await box.press("Enter")
    failed = page.locator("#thread [data-direction=outgoing] .delivery.failed")
    await expect(failed).to_have_count(1, timeout=15_000)
    # in the agent's words, with the platform's code and message
    await expect(failed).to_have_text("failed: Another servicer holds this conversation: 95018 injected by simulator")
    # the failed reply gave its quota back: the policy above the composer re-reads it, live
    await expect(page.locator("#policy")).to_contain_text("5 replies left")
    await screenshot(page, "16-failed-reply")
    assert await h.driver.deliveries(platform="wecom", touser=people["alice"]) == []
    assert watch.errors == [] and watch.unauthorized() == [], (watch.errors, watch.unauthorized())
