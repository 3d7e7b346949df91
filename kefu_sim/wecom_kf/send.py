"""`send_msg` and `send_msg_on_event`: the API's replies to customers (docs/platforms.md §2.5, §2.6).

send_msg is allowed in state 0/1 only (95018), within 48 h of the customer's last message (95002;
95031 when the customer never wrote), 5 times per customer message (95001), and only to the first
100 customers of an unverified corp or 10 000 of one without channels binding (95003). A duplicate
`msgid` within a kf account answers 40058: the platform says "must be unique" without naming a
code, and 40058 (invalid parameter) is what it uses for every other bad field.
"""

from __future__ import annotations

import re
import string
from typing import Any

from litestar import Request, post

from kefu_sim.common import json_body, ok
from kefu_sim.wecom.base import corp_for
from kefu_sim.wecom.state import SESSION_WINDOW, KfAccount, SentMessage, Session, WeComCorp
from kefu_sim.wecom_kf.payload import check_send
from kefu_sim.wecom_kf.session import CODE_RULES, account_of, customer_of, log, session_of
from kefu_sim.world import SimError, World

MSGID_RE = re.compile(r"[0-9a-zA-Z_-]{1,32}")
SENDS_PER_CUSTOMER_MESSAGE = 5


def _msgid(world: World, corp: WeComCorp, account: KfAccount, value: object) -> str:
    if value in (None, ""):
        return world.new_id("", 32, string.ascii_letters + string.digits)
    if not isinstance(value, str) or not MSGID_RE.fullmatch(value):
        raise SimError(40058, "invalid parameter: msgid is at most 32 bytes of [0-9a-zA-Z_-]")
    if f"{account.open_kfid}/{value}" in corp.sent:
        raise SimError(40058, f"invalid parameter: msgid {value} already used by this kf account")
    return value


def _record(
    world: World, corp: WeComCorp, session: Session, msgid: str, msgtype: str, payload: dict[str, Any], via: str
) -> None:
    corp.sent[f"{session.open_kfid}/{msgid}"] = SentMessage(
        msgid=msgid,
        open_kfid=session.open_kfid,
        touser=session.external_userid,
        time=world.now(),
        msgtype=msgtype,
        via=via,
    )
    session.last_activity_at = world.now()
    if via == "api":
        log(corp, world.now(), "api_send", session)
    world.record_delivery(
        platform="wecom",
        app_id=corp.corpid,
        account=session.open_kfid,
        touser=session.external_userid,
        msgid=msgid,
        msgtype=msgtype,
        payload={msgtype: payload},
        sender="api" if via == "api" else "event",
    )


@post("/cgi-bin/kf/send_msg", status_code=200)
async def send_msg(request: Request, world: World) -> dict[str, Any]:
    """95004/95000 account, 40096 touser, payload errors (40058, 40008, 40007, 44004, 45002, 95008,
    95009), then the session rules 95031 / 95002 / 95018 / 95001."""
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    customer = customer_of(corp, body.get("touser"))
    msgtype, payload = check_send(world, corp, body)
    msgid = _msgid(world, corp, account, body.get("msgid"))
    session = session_of(world, corp, account.open_kfid, customer.external_userid)
    now = world.now()
    if session.last_customer_msg_at is None:
        raise SimError(95031, "the customer has not inquired within 48 hours")
    if now - session.last_customer_msg_at >= SESSION_WINDOW:
        raise SimError(95002, "send time limit: more than 48 hours since the customer's last message")
    if session.state not in (0, 1):
        raise SimError(95018, f"session state {session.state} does not allow sending through the API")
    if session.sends_since_customer_msg >= SENDS_PER_CUSTOMER_MESSAGE:
        raise SimError(95001, "send count limit: 5 messages per customer message")
    capacity = corp.customer_capacity()
    if capacity is not None and corp.served.get(customer.external_userid, capacity) >= capacity:
        raise SimError(95003, f"customer capacity reached: this corp's kf may serve {capacity} customers")
    session.sends_since_customer_msg += 1
    _record(world, corp, session, msgid, msgtype, payload, "api")
    return ok(msgid=msgid)


@post("/cgi-bin/kf/send_msg_on_event", status_code=200)
async def send_msg_on_event(request: Request, world: World) -> dict[str, Any]:
    """One message per code: welcome (20 s, text/msgmenu), pool and taken notices (48 h, text),
    ending (20 s, text/msgmenu). 95007 when the code is unknown, used, expired, or the session
    left the state the code was issued in (welcome codes excepted)."""
    corp = corp_for(request, world)
    body = await json_body(request)
    code = body.get("code")
    if not code:
        raise SimError(95007, "invalid msg code: code missing")
    event_code = corp.codes.get(code) if isinstance(code, str) else None
    if event_code is None or event_code.used or event_code.expires_at <= world.now():
        raise SimError(95007, "invalid msg code: unknown, used or expired")
    account = account_of(corp, event_code.open_kfid)
    session = session_of(world, corp, account.open_kfid, event_code.external_userid)
    if event_code.kind != "welcome" and (session.id != event_code.session_id or session.state != event_code.state):
        raise SimError(95007, "invalid msg code: the session is no longer in the state the code was issued in")
    _, allowed = CODE_RULES[event_code.kind]
    msgtype, payload = check_send(world, corp, body, allowed)
    msgid = _msgid(world, corp, account, body.get("msgid"))
    event_code.used = True
    if event_code.kind == "welcome":
        session.last_welcome_at = world.now()
    _record(world, corp, session, msgid, msgtype, payload, "event")
    return ok(msgid=msgid)


HANDLERS = [send_msg, send_msg_on_event]
