"""The kf session engine: lookups, session lifecycle, sync-visible messages, event codes, callbacks.

Shared by the platform endpoints (wecom_kf/*.py) and the driver (driver/wecom_kf*.py). Every item a
client can pull with sync_msg goes through `emit`, which also pushes the encrypted
`kf_msg_or_event` callback when the corp has a callback URL (docs/platforms.md §2.4, §5.4).
"""

from __future__ import annotations

import re
import string
from typing import Any

from gateway.wechat.crypto import WeChatCrypto
from gateway.wechat.xmlmsg import build_xml
from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.wecom.state import (
    SESSION_WINDOW,
    Activity,
    Customer,
    EventCode,
    KfAccount,
    KfMessage,
    Servicer,
    Session,
    SyncToken,
    WeComCorp,
)
from kefu_sim.world import SimError, World

OPEN_KFID_RE = re.compile(r"wk[0-9A-Za-z_-]{8,62}")
SYNC_TOKEN_LIFETIME = 600  # the callback's Token works for sync_msg during 10 min
ORIGIN_CUSTOMER, ORIGIN_EVENT, ORIGIN_SERVICER = 3, 4, 5
# state → states service_state/trans may move to (docs/platforms.md §2.3); state 4 answers 95013 instead.
TRANSITIONS: dict[int, frozenset[int]] = {
    0: frozenset({1, 2, 3}),
    1: frozenset({2, 3}),
    2: frozenset({3}),
    3: frozenset({3, 4}),
}
# send_msg_on_event code kinds: (lifetime seconds, msgtypes allowed)
CODE_RULES: dict[str, tuple[int, frozenset[str]]] = {
    "welcome": (20, frozenset({"text", "msgmenu"})),
    "pool": (SESSION_WINDOW, frozenset({"text"})),
    "taken": (SESSION_WINDOW, frozenset({"text"})),
    "ending": (20, frozenset({"text", "msgmenu"})),
}


# ---------------------------------------------------------------------- lookups


def account_of(corp: WeComCorp, open_kfid: object) -> KfAccount:
    """95000 when missing or malformed, 95004 when no such account in this corp."""
    if not isinstance(open_kfid, str) or not OPEN_KFID_RE.fullmatch(open_kfid):
        raise SimError(95000, f"invalid open_kfid: {open_kfid!r}")
    account = corp.kf_accounts.get(open_kfid)
    if account is None:
        raise SimError(95004, f"open_kfid not found: {open_kfid}")
    return account


def customer_of(corp: WeComCorp, external_userid: object) -> Customer:
    customer = corp.customers.get(external_userid) if isinstance(external_userid, str) else None
    if customer is None:
        raise SimError(40096, f"invalid external_userid: {external_userid!r}")
    return customer


def member_info(corp: WeComCorp, userid: object) -> tuple[list[int], bool] | None:
    """(departments, activated) of a corp member: kf members first, then the contact app's members
    (a resigned contact member counts as not activated)."""
    if not isinstance(userid, str):
        return None
    member = corp.members.get(userid)
    if member is not None:
        return member.department, member.active
    other = corp.contacts.members.get(userid)
    if other is not None:
        return other.department, other.resigned_at is None
    return None


def all_members(corp: WeComCorp) -> list[str]:
    return sorted(set(corp.members) | set(corp.contacts.members))


def servicer_of(corp: WeComCorp, account: KfAccount, userid: str) -> Servicer | None:
    """The account's servicer entry for `userid` (direct, or through a servicer department)."""
    if userid in account.servicers:
        return account.servicers[userid]
    info = member_info(corp, userid)
    if info is not None and set(info[0]) & set(account.department_ids):
        return account.dept_servicers.setdefault(userid, Servicer(userid=userid))
    return None


def on_duty(corp: WeComCorp, account: KfAccount) -> list[str]:
    """Servicers who can be assigned a session now: 接待中 and activated, in a stable order."""
    userids = list(account.servicers)
    if account.department_ids:
        userids += [u for u in all_members(corp) if u not in account.servicers]
    ready = []
    for userid in userids:
        servicer = servicer_of(corp, account, userid)
        info = member_info(corp, userid)
        if servicer is not None and servicer.status == 0 and info is not None and info[1]:
            ready.append(userid)
    return ready


def session_of(world: World, corp: WeComCorp, open_kfid: str, external_userid: str) -> Session:
    """The customer's session with the account; a session idle for 48 h has ended (state 4)."""
    key = f"{open_kfid}/{external_userid}"
    session = corp.sessions.get(key)
    if session is None:
        session = corp.sessions[key] = Session(
            open_kfid=open_kfid, external_userid=external_userid, last_activity_at=world.now()
        )
    elif session.state != 4 and world.now() >= session.last_activity_at + SESSION_WINDOW:
        log(corp, session.last_activity_at + SESSION_WINDOW, "end", session, session.servicer_userid)
        close(session)
    return session


# ---------------------------------------------------------------------- session lifecycle


def log(corp: WeComCorp, time: float, kind: str, session: Session, servicer_userid: str = "") -> None:
    corp.activity.append(
        Activity(
            time=time,
            open_kfid=session.open_kfid,
            kind=kind,
            external_userid=session.external_userid,
            servicer_userid=servicer_userid,
            session_id=session.id,
        )
    )


def start(world: World, corp: WeComCorp, session: Session) -> None:
    corp.session_counter += 1
    session.id = corp.session_counter
    session.state = 0
    session.servicer_userid = ""
    session.started_at = session.last_activity_at = world.now()
    session.coded_states = []
    log(corp, world.now(), "session", session)


def assign(world: World, corp: WeComCorp, session: Session, userid: str) -> None:
    session.state = 3
    session.servicer_userid = userid
    session.last_activity_at = world.now()
    log(corp, world.now(), "assign", session, userid)


def close(session: Session) -> None:
    session.last_servicer_userid = session.servicer_userid or session.last_servicer_userid
    session.state = 4
    session.servicer_userid = ""


def issue_code(world: World, corp: WeComCorp, kind: str, session: Session) -> str:
    """A send_msg_on_event code bound to this session and its current state."""
    lifetime, _ = CODE_RULES[kind]
    code = world.new_id("", 43, string.ascii_letters + string.digits + "-_")
    corp.codes[code] = EventCode(
        code=code,
        kind=kind,
        open_kfid=session.open_kfid,
        external_userid=session.external_userid,
        session_id=session.id,
        state=session.state,
        expires_at=world.now() + lifetime,
    )
    return code


# ---------------------------------------------------------------------- sync-visible items


def emit(
    world: World,
    dispatcher: CallbackDispatcher | None,
    corp: WeComCorp,
    *,
    open_kfid: str,
    external_userid: str,
    origin: int,
    msgtype: str,
    payload: dict[str, Any],
    servicer_userid: str = "",
    silk_media_id: str | None = None,
) -> KfMessage:
    """Append one item to the sync_msg log and announce it (callback + fresh sync token)."""
    if origin == ORIGIN_CUSTOMER:
        msgid = "from_msgid_" + world.new_id("", 19, string.digits)
    else:
        msgid = world.new_id("", 32, string.ascii_letters + string.digits)
    now = world.now()
    item = {
        "msgid": msgid,
        "open_kfid": open_kfid,
        "external_userid": external_userid,
        "send_time": int(now),
        "origin": origin,
        "servicer_userid": servicer_userid,
        "msgtype": msgtype,
        msgtype: payload,
    }
    message = KfMessage(seq=world.next_seq(), open_kfid=open_kfid, time=now, item=item, silk_media_id=silk_media_id)
    corp.messages.append(message)
    announce(world, dispatcher, corp, open_kfid)
    return message


def emit_event(
    world: World,
    dispatcher: CallbackDispatcher | None,
    corp: WeComCorp,
    session: Session,
    event: dict[str, Any],
    servicer_userid: str = "",
) -> KfMessage:
    """A system event (origin 4) about this session's customer."""
    body = {
        "event_type": event["event_type"],
        "open_kfid": session.open_kfid,
        "external_userid": session.external_userid,
    }
    body.update((k, v) for k, v in event.items() if k != "event_type")
    return emit(
        world,
        dispatcher,
        corp,
        open_kfid=session.open_kfid,
        external_userid=session.external_userid,
        origin=ORIGIN_EVENT,
        msgtype="event",
        payload=body,
        servicer_userid=servicer_userid,
    )


def issue_sync_token(world: World, corp: WeComCorp, open_kfid: str) -> str:
    now = world.now()
    if len(corp.sync_tokens) > 1000:
        corp.sync_tokens = {k: t for k, t in corp.sync_tokens.items() if t.expires_at > now}
    token = "ENC" + world.new_id("", 44, string.ascii_letters + string.digits)
    corp.sync_tokens[token] = SyncToken(token=token, open_kfid=open_kfid, expires_at=now + SYNC_TOKEN_LIFETIME)
    return token


def announce(world: World, dispatcher: CallbackDispatcher | None, corp: WeComCorp, open_kfid: str) -> str:
    """Issue a sync token and push `kf_msg_or_event` carrying it, if the corp has a callback URL."""
    token = issue_sync_token(world, corp, open_kfid)
    push_event(world, dispatcher, corp, {"Event": "kf_msg_or_event", "Token": token, "OpenKfId": open_kfid})
    return token


def push_event(world: World, dispatcher: CallbackDispatcher | None, corp: WeComCorp, fields: dict[str, Any]) -> bool:
    """Encrypt and push one kf callback (`fields` go after ToUserName/CreateTime/MsgType)."""
    if dispatcher is None or not (corp.callback_url and corp.callback_token and corp.encoding_aes_key):
        return False
    timestamp = str(int(world.now()))
    plaintext = build_xml({"ToUserName": corp.corpid, "CreateTime": int(timestamp), "MsgType": "event", **fields})
    crypto = WeChatCrypto(corp.callback_token, corp.encoding_aes_key, corp.corpid)
    envelope = crypto.encrypt_message(
        plaintext,
        timestamp=timestamp,
        nonce=world.new_id("", 10, string.digits),
        to_user=corp.corpid,
        random16=world.rng.randbytes(16),
    )
    dispatcher.push(
        platform="wecom", url=corp.callback_url, query=envelope.query, body=envelope.xml, plaintext=plaintext
    )
    return True
