"""What people do on the kf platform: customers enter and write, servicers act in the WeCom client.

The driver calls these; each produces the sync_msg items the real platform would (docs/platforms.md §2.4):
customer messages (origin 3), servicer-client messages (origin 5) and events (origin 4) with
session_status_change / msg_code where documented.
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import HTTPException

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.wecom.state import (
    SESSION_WINDOW,
    Customer,
    EnterContext,
    KfAccount,
    KfMessage,
    Session,
    WeComCorp,
)
from kefu_sim.wecom_kf.payload import shape_item
from kefu_sim.wecom_kf.session import (
    ORIGIN_CUSTOMER,
    ORIGIN_EVENT,
    ORIGIN_SERVICER,
    assign,
    close,
    emit,
    emit_event,
    issue_code,
    log,
    on_duty,
    servicer_of,
    session_of,
    start,
)
from kefu_sim.world import World

RECALL_WINDOW = 120  # a WeChat user can recall a message for 2 minutes


class ActionRefused(HTTPException):
    """The platform would not let this person do that (driver answer 409)."""

    status_code = 409


class Actor:
    """Acts on one corp; `dispatcher` carries the callbacks the actions cause."""

    def __init__(self, world: World, dispatcher: CallbackDispatcher | None, corp: WeComCorp) -> None:
        self.world = world
        self.dispatcher = dispatcher
        self.corp = corp

    # ------------------------------------------------------------------ customers

    def enter(
        self,
        account: KfAccount,
        customer: Customer,
        *,
        scene: str = "",
        scene_param: str = "",
        wechat_channels: dict[str, Any] | None = None,
    ) -> tuple[KfMessage, str | None]:
        """enter_session; a welcome_code only when eligible (no native welcome, no welcome or message in 48 h)."""
        now = self.world.now()
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        customer.enter_context = EnterContext(scene=scene, scene_param=scene_param, wechat_channels=wechat_channels)
        customer.last_interaction_at = now
        recent = [
            t
            for t in (session.last_customer_msg_at, session.last_welcome_at)
            if t is not None and now - t < SESSION_WINDOW
        ]
        event: dict[str, Any] = {"event_type": "enter_session", "scene": scene, "scene_param": scene_param}
        code = None
        if not account.native_welcome and not recent:
            code = event["welcome_code"] = issue_code(self.world, self.corp, "welcome", session)
        if wechat_channels is not None:
            event["wechat_channels"] = wechat_channels
        return emit_event(self.world, self.dispatcher, self.corp, session, event), code

    def write(
        self, account: KfAccount, customer: Customer, msgtype: str, given: dict[str, Any]
    ) -> tuple[KfMessage, Session]:
        """A customer message; starts a session (state 0, or 3 with an on-duty servicer) when there is none."""
        now = self.world.now()
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        if session.state == 4:
            start(self.world, self.corp, session)
            ready = on_duty(self.corp, account)
            if self.world.config.auto_assign and ready:
                assign(self.world, self.corp, session, ready[account.next_assign % len(ready)])
                account.next_assign += 1
                session.coded_states.append(3)
        session.last_customer_msg_at = session.last_activity_at = now
        session.sends_since_customer_msg = 0
        customer.last_interaction_at = now
        self.corp.served.setdefault(customer.external_userid, len(self.corp.served))
        log(self.corp, now, "customer_msg", session, session.servicer_userid)
        payload, silk = shape_item(self.world, self.corp, msgtype, given)
        message = emit(
            self.world,
            self.dispatcher,
            self.corp,
            open_kfid=account.open_kfid,
            external_userid=customer.external_userid,
            origin=ORIGIN_CUSTOMER,
            msgtype=msgtype,
            payload=payload,
            silk_media_id=silk.media_id if silk else None,
        )
        return message, session

    def recall(self, account: KfAccount, customer: Customer, msgid: str) -> KfMessage:
        original = self._message(account, msgid, ORIGIN_CUSTOMER, customer.external_userid)
        if self.world.now() - original.time > RECALL_WINDOW:
            raise ActionRefused(detail="a customer can only recall a message within 2 minutes")
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        return emit_event(
            self.world, self.dispatcher, self.corp, session, {"event_type": "user_recall_msg", "recall_msgid": msgid}
        )

    # ------------------------------------------------------------------ servicers (WeCom client)

    def _servicer(self, account: KfAccount, userid: str) -> None:
        if servicer_of(self.corp, account, userid) is None:
            raise ActionRefused(detail=f"{userid} is not a servicer of {account.open_kfid}")

    def _event(self, session: Session, change_type: int, old: str = "", new: str = "", code: str = "") -> KfMessage:
        return emit_event(
            self.world,
            self.dispatcher,
            self.corp,
            session,
            {
                "event_type": "session_status_change",
                "change_type": change_type,
                "old_servicer_userid": old,
                "new_servicer_userid": new,
                "msg_code": code,
            },
            servicer_userid=new or old,
        )

    def accept(self, account: KfAccount, customer: Customer, userid: str) -> tuple[KfMessage, str]:
        """从接待池接入 (change_type 1) with a 48 h msg_code."""
        self._servicer(account, userid)
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        if session.state != 2:
            raise ActionRefused(detail=f"the session is in state {session.state}, not in the pool (2)")
        assign(self.world, self.corp, session, userid)
        session.coded_states.append(3)
        code = issue_code(self.world, self.corp, "taken", session)
        return self._event(session, 1, new=userid, code=code), code

    def transfer(self, account: KfAccount, customer: Customer, userid: str, to_userid: str) -> KfMessage:
        """转接 (change_type 2) from the servicer holding the session to another one."""
        self._servicer(account, to_userid)
        session = self._held(account, customer, userid)
        assign(self.world, self.corp, session, to_userid)
        return self._event(session, 2, old=userid, new=to_userid)

    def end(self, account: KfAccount, customer: Customer, userid: str) -> tuple[KfMessage, str]:
        """结束会话 (change_type 3) with a 20 s msg_code for a closing message."""
        session = self._held(account, customer, userid)
        log(self.corp, self.world.now(), "end", session, userid)
        close(session)
        session.last_activity_at = self.world.now()
        code = issue_code(self.world, self.corp, "ending", session)
        return self._event(session, 3, old=userid, code=code), code

    def _held(self, account: KfAccount, customer: Customer, userid: str) -> Session:
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        if session.state != 3 or session.servicer_userid != userid:
            raise ActionRefused(
                detail=f"{userid} does not hold this session (state {session.state}, "
                f"servicer {session.servicer_userid or '-'})"
            )
        return session

    def reply(
        self, account: KfAccount, customer: Customer, userid: str, msgtype: str, given: dict[str, Any]
    ) -> tuple[KfMessage, KfMessage | None]:
        """A servicer message (origin 5). Writing into an ended or transferred-away session takes it
        back: state 3 and session_status_change change_type 4."""
        self._servicer(account, userid)
        now = self.world.now()
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        reaccess = None
        if session.state in (0, 1, 2):
            raise ActionRefused(detail=f"state {session.state}: a servicer must be assigned or accept first")
        if session.state == 4 or session.servicer_userid != userid:
            if session.last_customer_msg_at is None or now - session.last_customer_msg_at >= SESSION_WINDOW:
                raise ActionRefused(detail="the customer has not written in the last 48 h")
            old = session.servicer_userid or session.last_servicer_userid
            if session.state == 4:
                start(self.world, self.corp, session)
            assign(self.world, self.corp, session, userid)
            reaccess = self._event(session, 4, old=old, new=userid)
        payload, _ = shape_item(self.world, self.corp, msgtype, given)
        log(self.corp, now, "servicer_msg", session, userid)
        session.last_activity_at = now
        message = emit(
            self.world,
            self.dispatcher,
            self.corp,
            open_kfid=account.open_kfid,
            external_userid=customer.external_userid,
            origin=ORIGIN_SERVICER,
            msgtype=msgtype,
            payload=payload,
            servicer_userid=userid,
        )
        return message, reaccess

    def servicer_recall(self, account: KfAccount, customer: Customer, userid: str, msgid: str) -> KfMessage:
        original = self._message(account, msgid, ORIGIN_SERVICER, customer.external_userid)
        if original.item.get("servicer_userid") != userid:
            raise ActionRefused(detail=f"{msgid} was not sent by {userid}")
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        return emit_event(
            self.world,
            self.dispatcher,
            self.corp,
            session,
            {"event_type": "servicer_recall_msg", "recall_msgid": msgid, "servicer_userid": userid},
            servicer_userid=userid,
        )

    def reject(self, account: KfAccount, customer: Customer, userid: str, switch: int) -> KfMessage:
        """reject_customer_msg_switch_change: 1 = the servicer refuses this customer's messages, 0 = undo."""
        self._servicer(account, userid)
        session = session_of(self.world, self.corp, account.open_kfid, customer.external_userid)
        if switch:
            log(self.corp, self.world.now(), "reject", session, userid)
        return emit_event(
            self.world,
            self.dispatcher,
            self.corp,
            session,
            {"event_type": "reject_customer_msg_switch_change", "servicer_userid": userid, "reject_switch": switch},
            servicer_userid=userid,
        )

    def set_status(self, account: KfAccount, userid: str, status: int, stop_type: int = 0) -> KfMessage:
        """servicer/list status 0 接待中 / 1 停止; the event reports it as 1 / 2 (docs/platforms.md §7.6)."""
        servicer = servicer_of(self.corp, account, userid)
        if servicer is None:
            raise ActionRefused(detail=f"{userid} is not a servicer of {account.open_kfid}")
        servicer.status, servicer.stop_type = status, stop_type if status == 1 else 0
        event: dict[str, Any] = {
            "event_type": "servicer_status_change",
            "servicer_userid": userid,
            "status": 2 if status == 1 else 1,
        }
        if status == 1:
            event["stop_type"] = servicer.stop_type
        event["open_kfid"] = account.open_kfid
        return emit(
            self.world,
            self.dispatcher,
            self.corp,
            open_kfid=account.open_kfid,
            external_userid="",
            origin=ORIGIN_EVENT,
            msgtype="event",
            payload=event,
            servicer_userid=userid,
        )

    # ------------------------------------------------------------------ platform

    def send_failed(self, account: KfAccount, msgid: str, fail_type: int) -> KfMessage:
        """msg_send_fail for a message sent through send_msg / send_msg_on_event."""
        sent = self.corp.sent.get(f"{account.open_kfid}/{msgid}")
        if sent is None:
            raise ActionRefused(detail=f"no message {msgid} was sent from {account.open_kfid}")
        session = session_of(self.world, self.corp, account.open_kfid, sent.touser)
        return emit_event(
            self.world,
            self.dispatcher,
            self.corp,
            session,
            {"event_type": "msg_send_fail", "fail_msgid": msgid, "fail_type": fail_type},
        )

    def _message(self, account: KfAccount, msgid: str, origin: int, external_userid: str) -> KfMessage:
        for message in reversed(self.corp.messages):
            item = message.item
            if item["msgid"] == msgid and message.open_kfid == account.open_kfid:
                if item["origin"] != origin or item["external_userid"] != external_userid:
                    break
                return message
        raise ActionRefused(detail=f"no such message {msgid} in this conversation")
