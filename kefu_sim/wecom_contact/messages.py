"""Simulated customer messaging: add_msg_template (群发 task) and send_welcome_msg (20 s welcome code)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import json_body, ok
from kefu_sim.wecom_contact.common import (
    INVALID_PARAM,
    NOTHING_TO_SEND,
    WELCOME_IMPOSSIBLE,
    follow_member,
    open_book,
    str_list,
)
from kefu_sim.wecom_contact.state import ContactBook, Follow, MsgTemplate
from kefu_sim.world import SimError, World

BASE = "/cgi-bin/externalcontact"
WELCOME_WINDOW = 20.0  # seconds after the add_external_contact event
ATTACHMENT_TYPES = {"image", "link", "miniprogram", "video", "file"}
MAX_ATTACHMENTS = 9
MAX_TEXT_BYTES = 4000


def message_content(body: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """`text{content}` and `attachments[]` (≤9: image/link/miniprogram/video/file); 41048 if both empty."""
    text = body.get("text")
    if text is not None:
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str) or len(content.encode()) > MAX_TEXT_BYTES:
            raise SimError(INVALID_PARAM, f"invalid text.content: a string of at most {MAX_TEXT_BYTES} bytes")
        text = {"content": content} if content else None
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS:
        raise SimError(INVALID_PARAM, f"invalid attachments: at most {MAX_ATTACHMENTS}")
    for item in attachments:
        kind = item.get("msgtype") if isinstance(item, dict) else None
        if kind not in ATTACHMENT_TYPES or not isinstance(item.get(kind), dict):
            raise SimError(INVALID_PARAM, f"invalid attachment msgtype {kind!r}")
    if text is None and not attachments:
        raise SimError(NOTHING_TO_SEND, "no message to send: text and attachments are both empty")
    return text, attachments


def _tag_match(follow: Follow, groups: list[list[str]]) -> bool:
    # tag_filter: groups are AND-ed, the tags inside one group OR-ed.
    return all(set(follow.tag_ids) & set(tags) for tags in groups)


def _tag_groups(body: dict[str, Any]) -> list[list[str]]:
    tag_filter = body.get("tag_filter") or {}
    groups = tag_filter.get("group_list", []) if isinstance(tag_filter, dict) else None
    if not isinstance(groups, list):
        raise SimError(INVALID_PARAM, "invalid tag_filter")
    return [str_list(g, "tag_list") if isinstance(g, dict) else [] for g in groups]


def _single_targets(book: ContactBook, body: dict[str, Any], sender: str) -> tuple[list[str], list[str]]:
    wanted = str_list(body, "external_userid", max_items=10_000)
    groups = _tag_groups(body)
    follows = [f for f in book.follows if not sender or f.userid == sender]
    reachable = {f.external_userid for f in follows if _tag_match(f, groups)}
    if wanted:
        known = {f.external_userid for f in follows}
        fail = [e for e in wanted if e not in known]
        return [e for e in wanted if e in reachable], fail
    return sorted(reachable), []


@post(f"{BASE}/add_msg_template", status_code=200)
async def add_msg_template(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Create a 群发 task (members confirm it in their client) → `msgid`, `fail_list` (customers that
    are unknown or not connected to `sender`). chat_type "group" needs `sender`."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    chat_type = body.get("chat_type", "single")
    if chat_type not in ("single", "group"):
        raise SimError(INVALID_PARAM, "invalid chat_type: single or group")
    sender = body.get("sender") or ""
    if sender:
        follow_member(book, sender)
    elif chat_type == "group":
        raise SimError(INVALID_PARAM, "sender is required for chat_type group")
    text, attachments = message_content(body)
    template = MsgTemplate(
        msgid=world.new_id("msg", 27),
        chat_type=chat_type,
        create_time=int(world.now()),
        sender=sender,
        text=text,
        attachments=attachments,
    )
    fail_list: list[str] = []
    if chat_type == "single":
        template.external_userids, fail_list = _single_targets(book, body, sender)
    else:
        wanted = str_list(body, "chat_id_list", max_items=2000)
        owned = [c.chat_id for c in book.group_chats.values() if c.owner == sender and not c.dismissed]
        template.chat_ids = [c for c in wanted if c in owned] if wanted else owned
    book.msg_templates[template.msgid] = template
    return ok(fail_list=fail_list, msgid=template.msgid)


@post(f"{BASE}/send_welcome_msg", status_code=200)
async def send_welcome_msg(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Welcome a new customer with the WelcomeCode of its add_external_contact event: within 20 s, once,
    and only while nobody has chatted yet; anything else is 41051."""
    corp, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    code = body.get("welcome_code")
    if not isinstance(code, str) or not code:
        raise SimError(INVALID_PARAM, "invalid welcome_code: missing")
    text, attachments = message_content(body)
    welcome = book.welcome_codes.get(code)
    now = world.now()
    if welcome is None or welcome.used or now - welcome.issued_at > WELCOME_WINDOW:
        raise SimError(WELCOME_IMPOSSIBLE, "welcome code invalid, expired (20 s) or already used")
    chatted = any(
        a.kind in ("customer_msg", "member_msg")
        and a.userid == welcome.userid
        and a.external_userid == welcome.external_userid
        and a.time >= welcome.issued_at
        for a in book.activity
    )
    if chatted or book.follow(welcome.userid, welcome.external_userid) is None:
        raise SimError(WELCOME_IMPOSSIBLE, "the customer and the member have already started chatting")
    welcome.used = True
    world.record_delivery(
        platform="wecom",
        app_id=corp.corpid,
        account=welcome.userid,
        touser=welcome.external_userid,
        msgid=world.new_id("welcome", 20),
        msgtype="welcome",
        payload={"text": text, "attachments": attachments},
        sender=f"servicer:{welcome.userid}",
    )
    return ok()


HANDLERS = [add_msg_template, send_welcome_msg]
