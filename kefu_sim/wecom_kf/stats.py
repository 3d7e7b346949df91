"""kf statistics (get_corp_statistic, get_servicer_statistic) computed from the simulator's own log.

Days are Beijing days (UTC+8): start_time/end_time are rounded down to 00:00, the interval is
closed, at most 31 days, within the last 180 days and ending yesterday at the latest (40058
otherwise). Rates are left out when there is nothing to compute them from, as the platform does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, post

from kefu_sim.common import json_body, ok
from kefu_sim.wecom.base import corp_for
from kefu_sim.wecom.state import DAY, Activity
from kefu_sim.wecom_kf.session import account_of, servicer_of
from kefu_sim.world import SimError, World

INVALID = 40058
UTC_OFFSET = 8 * 3600
MAX_SPAN_DAYS = 31
HISTORY_DAYS = 180


def day_start(timestamp: float) -> int:
    """00:00 Beijing time of the day holding `timestamp`."""
    return (int(timestamp) + UTC_OFFSET) // DAY * DAY - UTC_OFFSET


def days(body: dict[str, Any], now: float) -> list[int]:
    start, end = body.get("start_time"), body.get("end_time")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (start, end)):
        raise SimError(INVALID, "invalid parameter: start_time and end_time are required day timestamps")
    first, last, today = day_start(start), day_start(end), day_start(now)
    if first > last:
        raise SimError(INVALID, "invalid parameter: start_time after end_time")
    if (last - first) // DAY + 1 > MAX_SPAN_DAYS:
        raise SimError(INVALID, f"invalid parameter: the interval spans more than {MAX_SPAN_DAYS} days")
    if first < today - HISTORY_DAYS * DAY:
        raise SimError(INVALID, f"invalid parameter: only the last {HISTORY_DAYS} days can be queried")
    if last >= today:
        raise SimError(INVALID, "invalid parameter: statistics end yesterday at the latest")
    return list(range(first, last + 1, DAY))


def _distinct(rows: list[Activity], *kinds: str) -> int:
    return len({r.external_userid for r in rows if r.kind in kinds})


def _count(rows: list[Activity], kind: str) -> int:
    return sum(1 for r in rows if r.kind == kind)


def corp_day(rows: list[Activity], everything: list[Activity]) -> dict[str, Any]:
    ai_sessions = {r.session_id for r in rows if r.kind == "api_send"}
    stat: dict[str, Any] = {
        "session_cnt": _count(rows, "session"),
        "customer_cnt": _distinct(rows, "customer_msg"),
        "customer_msg_cnt": _count(rows, "customer_msg"),
        "upgrade_service_customer_cnt": _distinct(rows, "upgrade_member", "upgrade_groupchat"),
        "ai_session_reply_cnt": len(ai_sessions),
        "msg_rejected_customer_cnt": _distinct(rows, "reject"),
    }
    if ai_sessions:
        handed = {r.session_id for r in everything if r.kind in ("pool", "assign") and r.session_id in ai_sessions}
        stat["ai_transfer_rate"] = round(len(handed) / len(ai_sessions), 4)
    return stat


def servicer_day(rows: list[Activity], everything: list[Activity]) -> dict[str, Any]:
    assigns = [r for r in rows if r.kind == "assign"]
    delays = []
    for a in assigns:
        replies = [
            r.time
            for r in everything
            if r.kind == "servicer_msg"
            and r.session_id == a.session_id
            and r.servicer_userid == a.servicer_userid
            and r.time >= a.time
        ]
        if replies:
            delays.append(min(replies) - a.time)
    stat: dict[str, Any] = {
        "session_cnt": len(assigns),
        "customer_cnt": len({a.external_userid for a in assigns}),
        "customer_msg_cnt": _count(rows, "customer_msg"),
        "satisfaction_investgate_cnt": 0,
        "upgrade_service_customer_cnt": _distinct(rows, "upgrade_member", "upgrade_groupchat"),
        "upgrade_service_member_invite_cnt": _count(rows, "upgrade_member"),
        "upgrade_service_member_customer_cnt": _distinct(rows, "upgrade_member"),
        "upgrade_service_groupchat_invite_cnt": _count(rows, "upgrade_groupchat"),
        "upgrade_service_groupchat_customer_cnt": _distinct(rows, "upgrade_groupchat"),
        "msg_rejected_customer_cnt": _distinct(rows, "reject"),
    }
    if assigns:
        stat["reply_rate"] = round(len(delays) / len(assigns), 4)
    if delays:
        stat["first_reply_average_sec"] = round(sum(delays) / len(delays))
    return stat


def _statistic(
    corp_rows: list[Activity], day_list: list[int], compute: Callable[[list[Activity], list[Activity]], dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {"stat_time": day, "statistic": compute([r for r in corp_rows if day <= r.time < day + DAY], corp_rows)}
        for day in day_list
    ]


@post("/cgi-bin/kf/get_corp_statistic", status_code=200)
async def get_corp_statistic(request: Request, world: World) -> dict[str, Any]:
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    day_list = days(body, world.now())
    rows = [r for r in corp.activity if r.open_kfid == account.open_kfid]
    return ok(statistic_list=_statistic(rows, day_list, corp_day))


@post("/cgi-bin/kf/get_servicer_statistic", status_code=200)
async def get_servicer_statistic(request: Request, world: World) -> dict[str, Any]:
    """One servicer (`servicer_userid`, 95014 when not a servicer) or all servicers of the account together."""
    corp = corp_for(request, world)
    body = await json_body(request)
    account = account_of(corp, body.get("open_kfid"))
    userid = body.get("servicer_userid") or None
    if userid is not None and (not isinstance(userid, str) or servicer_of(corp, account, userid) is None):
        raise SimError(95014, f"not a servicer of this account: {userid!r}")
    day_list = days(body, world.now())
    rows = [
        r
        for r in corp.activity
        if r.open_kfid == account.open_kfid and r.servicer_userid and (userid is None or r.servicer_userid == userid)
    ]
    return ok(statistic_list=_statistic(rows, day_list, servicer_day))


HANDLERS = [get_corp_statistic, get_servicer_statistic]
