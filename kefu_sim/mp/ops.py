"""MP rules shared by platform handlers and the driver: lookups, send grants, chat records, sessions."""

from __future__ import annotations

from typing import Any

from litestar import Request

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import authorize
from kefu_sim.mp.callbacks import push_event
from kefu_sim.mp.state import (
    EVENT_QUOTA,
    EVENT_WINDOW,
    MESSAGE_QUOTA,
    REPLY_WINDOW,
    MpApp,
    MpFollower,
    MpKfAccount,
    MpRecord,
    MpSession,
)
from kefu_sim.world import SimError, World

OPERCODE_KF_SENT = 2002
OPERCODE_KF_RECEIVED = 2003
# Legacy session records (docs/platforms.md §4.4), written only for accounts with `session_records`.
OPERCODE_SESSION_ACCEPTED = 1001
OPERCODE_SESSION_CLOSED = 1004


def app_of(request: Request, world: World) -> MpApp:
    """The account behind the request's access_token (either token flavour)."""
    grant = authorize(request, world, "mp")
    app = world.state.mp_apps.get(grant.owner.split(":", 1)[1])
    if app is None:  # the account was removed after the token was issued
        raise SimError(40014, "invalid access_token")
    return app


def kf_of(app: MpApp, kf_account: Any) -> MpKfAccount:
    """65401 for a missing or unknown kf_account."""
    kf = app.kf_accounts.get(kf_account) if isinstance(kf_account, str) else None
    if kf is None:
        raise SimError(65401, "invalid custom service account")
    return kf


def known_follower(app: MpApp, openid: Any) -> MpFollower:
    """Any openid of this account, following or not; 40003 otherwise (incl. other accounts' openids)."""
    follower = app.followers.get(openid) if isinstance(openid, str) else None
    if follower is None:
        raise SimError(40003, "invalid openid")
    return follower


def reachable_follower(app: MpApp, openid: Any) -> MpFollower:
    """A follower custom/send may address: 40003 unknown, 43004 never followed, 45015 left."""
    follower = known_follower(app, openid)
    if not follower.subscribed:
        if follower.unsubscribe_time is not None:
            raise SimError(45015, "response out of time limit or subscription is canceled")
        raise SimError(43004, "require subscribe")
    return follower


def send_grant(follower: MpFollower, now: float) -> str:
    """Which grant the next custom/send uses: "event" (1 min, 3 msgs) before "message" (48 h, 5 msgs).

    The short event grant is spent first because it lapses first. 45015 when no grant is open,
    45047 when every open grant is used up (docs/platforms.md §4.2).
    """
    opened = False
    if follower.event_at is not None and now - follower.event_at < EVENT_WINDOW:
        opened = True
        if follower.event_sent < EVENT_QUOTA:
            return "event"
    if follower.message_at is not None and now - follower.message_at < REPLY_WINDOW:
        opened = True
        if follower.message_sent < MESSAGE_QUOTA:
            return "message"
    if opened:
        raise SimError(45047, "out of response count limit")
    raise SimError(45015, "response out of time limit or subscription is canceled")


def spend_grant(follower: MpFollower, grant: str, now: float) -> None:
    if grant == "event":
        follower.event_sent += 1
    else:
        follower.message_sent += 1
    follower.interaction_at = now
    follower.typing_until = None  # a message ends the typing indicator


def record_text(msgtype: str, payload: Any) -> str:
    """How msgrecord shows a message: text as itself, everything else as "[type]"."""
    if msgtype == "text" and isinstance(payload, dict):
        return str(payload.get("content", ""))
    if msgtype == "shortvideo":
        return "[video]"
    return f"[{msgtype}]"


def add_record(world: World, app: MpApp, openid: str, opercode: int, text: str, worker: str) -> MpRecord:
    record = MpRecord(
        msgid=len(app.records) + 1,
        openid=openid,
        opercode=opercode,
        text=text,
        time=int(world.now()),
        worker=worker,
    )
    app.records.append(record)
    return record


def new_msgid(world: World) -> int:
    """A 64-bit-ish MsgId like the platform's (e.g. 4561255354251345929)."""
    return world.rng.randint(10**18, 2**63 - 1)


def open_session(world: World, dispatcher: CallbackDispatcher, app: MpApp, kf: MpKfAccount, openid: str) -> MpSession:
    """A kf takes the user (from the wait queue or directly); pushes kf_create_session."""
    session = MpSession(openid=openid, kf_account=kf.kf_account, createtime=int(world.now()))
    app.sessions[openid] = session
    app.waitcases.pop(openid, None)
    if app.session_records:
        add_record(world, app, openid, OPERCODE_SESSION_ACCEPTED, "", kf.kf_account)
    push_event(world, dispatcher, app, openid, "kf_create_session", KfAccount=kf.kf_account)
    return session


def close_session(world: World, dispatcher: CallbackDispatcher, app: MpApp, openid: str) -> None:
    session = app.sessions.pop(openid)
    if app.session_records:
        add_record(world, app, openid, OPERCODE_SESSION_CLOSED, "", session.kf_account)
    push_event(world, dispatcher, app, openid, "kf_close_session", KfAccount=session.kf_account)


def switch_session(world: World, dispatcher: CallbackDispatcher, app: MpApp, openid: str, to: MpKfAccount) -> MpSession:
    session = app.sessions[openid]
    before = session.kf_account
    session.kf_account = to.kf_account
    push_event(world, dispatcher, app, openid, "kf_switch_session", FromKfAccount=before, ToKfAccount=to.kf_account)
    return session


def require_session_kf(kf: MpKfAccount) -> None:
    """A kf can take sessions only when bound to a WeChat user (65402) and online (65415)."""
    if not kf.kf_wx:
        raise SimError(65402, "the custom service account is not bound to a wechat user")
    if not kf.online:
        raise SimError(65415, "the custom service account is not online")
