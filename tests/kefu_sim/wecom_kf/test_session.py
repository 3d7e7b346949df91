"""Session state machine (service_state get/trans), session lifecycle and servicer actions (docs/platforms.md §2.3)."""

from __future__ import annotations

import msgspec
import pytest

from kefu_sim import World
from tests.kefu_sim.support import WeComKit

ALLOWED = {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (3, 3), (3, 4)}


async def put_in_state(kit: WeComKit, state: int) -> None:
    await kit.customer_says("hi")
    if state == 1:
        assert (await kit.trans(1))["errcode"] == 0
    elif state == 2:
        assert (await kit.trans(2))["errcode"] == 0
    elif state in (3, 4):
        assert (await kit.trans(3, "alice"))["errcode"] == 0
        if state == 4:
            assert (await kit.trans(4))["errcode"] == 0
    assert (await kit.state())["service_state"] == state


@pytest.mark.parametrize("target", range(5))
@pytest.mark.parametrize("current", range(5))
async def test_transition_table(wecom: WeComKit, current: int, target: int) -> None:
    await put_in_state(wecom, current)
    answer = await wecom.trans(target, ("bob" if current == 3 else "alice") if target == 3 else None)
    if current == 4:
        assert answer["errcode"] == 95013
    elif (current, target) in ALLOWED:
        assert answer["errcode"] == 0
        state = await wecom.state()
        assert state["service_state"] == target
        assert state["servicer_userid"] == (("bob" if current == 3 else "alice") if target == 3 else "")
    else:
        assert answer["errcode"] == 95016
        assert (await wecom.state())["service_state"] == current


async def test_msg_code_on_first_move_to_2_and_3_and_on_every_end(wecom: WeComKit) -> None:
    await wecom.customer_says()
    assert "msg_code" not in await wecom.trans(1)
    pool = await wecom.trans(2)
    assert pool["msg_code"]
    taken = await wecom.trans(3, "alice")
    assert taken["msg_code"] and taken["msg_code"] != pool["msg_code"]
    assert "msg_code" not in await wecom.trans(3, "bob")
    assert (await wecom.trans(4))["msg_code"]
    await wecom.customer_says("again")  # a new session: codes again
    assert (await wecom.trans(3, "alice"))["msg_code"]
    assert (await wecom.trans(4))["msg_code"]


async def test_trans_to_3_needs_an_active_on_duty_servicer(wecom: WeComKit) -> None:
    await wecom.customer_says()
    await wecom.driver.wecom_add_member(wecom.corpid, "dave")
    await wecom.driver.wecom_add_member(wecom.corpid, "erin", active=False)
    await wecom.post("kf/servicer/add", {"open_kfid": wecom.open_kfid, "userid_list": ["erin"]})
    assert (await wecom.trans(3))["errcode"] == 95014
    assert (await wecom.trans(3, "dave"))["errcode"] == 95014  # a member, not a servicer
    assert (await wecom.trans(3, "erin"))["errcode"] == 95014  # a servicer not activated in WeCom
    await wecom.driver.wecom_set_servicer_status(wecom.corpid, "alice", 1)
    assert (await wecom.trans(3, "alice"))["errcode"] == 95019
    assert (await wecom.trans(3, "bob"))["errcode"] == 0


async def test_trans_and_get_errors(wecom: WeComKit) -> None:
    assert (await wecom.state("wm-nobody"))["errcode"] == 40096
    assert (await wecom.state()) == {"errcode": 0, "errmsg": "ok", "service_state": 4, "servicer_userid": ""}
    assert (await wecom.trans(0))["errcode"] == 95013  # never started counts as ended
    await wecom.customer_says()
    assert (await wecom.trans(7))["errcode"] == 40058
    assert (await wecom.trans(2, external_userid="wm-nobody"))["errcode"] == 40096


async def test_department_members_serve_too(wecom: WeComKit) -> None:
    await wecom.driver.wecom_add_member(wecom.corpid, "carol", department=[5])
    await wecom.post("kf/servicer/add", {"open_kfid": wecom.open_kfid, "department_id_list": [5]})
    await wecom.customer_says()
    assert (await wecom.trans(3, "carol"))["errcode"] == 0


async def test_customer_message_starts_sessions_and_auto_assigns_round_robin(world: World, wecom: WeComKit) -> None:
    world.config.auto_assign = True
    second = await wecom.new_customer("second")
    third = await wecom.new_customer("third")
    first = await wecom.customer_says()
    assert (first["state"], first["servicer_userid"]) == (3, "alice")
    assert (await wecom.customer_says(external_userid=second))["servicer_userid"] == "bob"
    await wecom.driver.wecom_set_servicer_status(wecom.corpid, "alice", 1)
    assert (await wecom.customer_says(external_userid=third))["servicer_userid"] == "bob"
    assert (await wecom.customer_says("more"))["servicer_userid"] == "alice"  # the session keeps its servicer


async def test_no_servicer_on_duty_or_auto_assign_off_means_state_0(world: World, wecom: WeComKit) -> None:
    assert (await wecom.customer_says())["state"] == 0
    world.config.auto_assign = True
    for userid in ("alice", "bob"):
        await wecom.driver.wecom_set_servicer_status(wecom.corpid, userid, 1)
    other = await wecom.new_customer()
    assert (await wecom.customer_says(external_userid=other))["state"] == 0


async def test_session_ends_after_48_idle_hours_and_restarts_on_the_next_message(wecom: WeComKit) -> None:
    first = await wecom.customer_says()
    await wecom.driver.advance(48 * 3600 - 1)
    await wecom.fetch_token()
    assert (await wecom.state())["service_state"] == 0
    await wecom.driver.advance(1)
    await wecom.fetch_token()
    assert (await wecom.state())["service_state"] == 4
    second = await wecom.customer_says()
    assert second["state"] == 0 and second["session_id"] > first["session_id"]


async def test_servicer_client_actions_emit_session_status_change(wecom: WeComKit) -> None:
    d, c, k, u = wecom.driver, wecom.corpid, wecom.open_kfid, wecom.external_userid
    await wecom.customer_says()
    await wecom.trans(2)
    accepted = await d.wecom_servicer(c, "accept", k, u, "alice")
    event = accepted["item"]["event"]
    assert (accepted["item"]["origin"], event["event_type"], event["change_type"]) == (4, "session_status_change", 1)
    assert event["new_servicer_userid"] == "alice" and event["msg_code"] == accepted["msg_code"] != ""
    moved = (await d.wecom_servicer(c, "transfer", k, u, "alice", to_userid="bob"))["item"]["event"]
    assert (moved["change_type"], moved["old_servicer_userid"], moved["new_servicer_userid"]) == (2, "alice", "bob")
    assert (await wecom.state())["servicer_userid"] == "bob"
    reply = await d.wecom_servicer(c, "send", k, u, "bob", msgtype="text", text={"content": "您好"})
    assert (reply["item"]["origin"], reply["item"]["servicer_userid"], reply["reaccess_msgid"]) == (5, "bob", None)
    ended = await d.wecom_servicer(c, "end", k, u, "bob")
    assert ended["item"]["event"]["change_type"] == 3 and ended["item"]["event"]["msg_code"] == ended["msg_code"]
    assert (await wecom.state())["service_state"] == 4
    back = await d.wecom_servicer(c, "send", k, u, "alice", msgtype="text", text={"content": "补充一句"})
    assert back["reaccess_msgid"]
    items = {m["msgid"]: m for m in await d.wecom_messages(c, k)}
    reaccess = items[back["reaccess_msgid"]]["event"]
    assert (reaccess["change_type"], reaccess["old_servicer_userid"], reaccess["new_servicer_userid"]) == (
        4,
        "bob",
        "alice",
    )
    assert (await wecom.state()) | {"errmsg": ""} == {
        "errcode": 0,
        "errmsg": "",
        "service_state": 3,
        "servicer_userid": "alice",
    }


async def test_servicer_actions_refused_when_they_make_no_sense(wecom: WeComKit) -> None:
    d, c, k, u = wecom.driver, wecom.corpid, wecom.open_kfid, wecom.external_userid
    await wecom.customer_says()
    for action, extra in (
        ("accept", {}),
        ("end", {}),
        ("transfer", {"to_userid": "bob"}),
        ("send", {"msgtype": "text", "text": {"content": "x"}}),
    ):
        with pytest.raises(RuntimeError, match="409"):
            await d.wecom_servicer(c, action, k, u, "alice", **extra)
    await d.wecom_add_member(c, "dave")
    await wecom.trans(2)
    with pytest.raises(RuntimeError, match="409"):
        await d.wecom_servicer(c, "accept", k, u, "dave")


async def test_recalls_reject_switch_and_status_events(wecom: WeComKit) -> None:
    d, c, k, u = wecom.driver, wecom.corpid, wecom.open_kfid, wecom.external_userid
    said = await wecom.customer_says("oops")
    recall = (await d.wecom_customer_recall(c, k, u, said["msgid"]))["item"]["event"]
    assert (recall["event_type"], recall["recall_msgid"]) == ("user_recall_msg", said["msgid"])
    late = await wecom.customer_says("late")
    await d.advance(121)
    with pytest.raises(RuntimeError, match="409"):
        await d.wecom_customer_recall(c, k, u, late["msgid"])
    await wecom.trans(3, "alice")
    sent = await d.wecom_servicer(c, "send", k, u, "alice", msgtype="text", text={"content": "typo"})
    recalled = (await d.wecom_servicer(c, "recall", k, u, "alice", msgid=sent["msgid"]))["item"]["event"]
    assert recalled == {
        "event_type": "servicer_recall_msg",
        "open_kfid": k,
        "external_userid": u,
        "recall_msgid": sent["msgid"],
        "servicer_userid": "alice",
    }
    reject = (await d.wecom_servicer(c, "reject", k, u, "alice", reject_switch=1))["item"]["event"]
    assert (reject["event_type"], reject["reject_switch"], reject["servicer_userid"]) == (
        "reject_customer_msg_switch_change",
        1,
        "alice",
    )
    [stopped] = await d.wecom_set_servicer_status(c, "bob", 1, stop_type=1)
    assert stopped["item"]["event"] == {
        "event_type": "servicer_status_change",
        "servicer_userid": "bob",
        "status": 2,
        "stop_type": 1,
        "open_kfid": k,
    }
    [back] = await d.wecom_set_servicer_status(c, "bob", 0)
    assert back["item"]["event"]["status"] == 1 and "stop_type" not in back["item"]["event"]


async def test_kf_state_survives_dump_and_load(world: World, wecom: WeComKit) -> None:
    await wecom.customer_says()
    await wecom.trans(3, "alice")
    state = await wecom.driver.dump_state()
    await wecom.driver.load_state(state)
    assert (await wecom.state())["servicer_userid"] == "alice"
    assert msgspec.json.decode(world.dump())["corps"][wecom.corpid]["sessions"]
