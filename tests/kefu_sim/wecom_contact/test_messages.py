"""Simulated customer messaging: send_welcome_msg (20 s, once, before any chat) and add_msg_template."""

from __future__ import annotations

from typing import Any

import pytest

from kefu_sim import SimDriver, World
from tests.kefu_sim.wecom_contact.support import CORP, ContactApi

TEXT = {"text": {"content": "Welcome!"}}


async def _newcomer(driver: SimDriver, **extra: Any) -> dict[str, Any]:
    return await driver.contact_add_customer(CORP, userid="bob", nickname="Newt", **extra)


# ---------------------------------------------------------------------- send_welcome_msg


async def test_welcome_within_20_seconds_once(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    added = await _newcomer(contact_driver)
    contact_world.clock.advance(20)
    assert (await contact_api.post("send_welcome_msg", {"welcome_code": added["welcome_code"], **TEXT}))["errcode"] == 0
    [delivery] = await contact_driver.deliveries(touser=added["external_userid"])
    assert (delivery["msgtype"], delivery["payload"]["text"]) == ("welcome", {"content": "Welcome!"})
    again = await contact_api.post("send_welcome_msg", {"welcome_code": added["welcome_code"], **TEXT})
    assert again["errcode"] == 41051


async def test_welcome_after_20_seconds_is_41051(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    added = await _newcomer(contact_driver)
    contact_world.clock.advance(20.5)
    late = await contact_api.post("send_welcome_msg", {"welcome_code": added["welcome_code"], **TEXT})
    assert late["errcode"] == 41051
    assert await contact_driver.deliveries(touser=added["external_userid"]) == []


async def test_welcome_after_a_chat_or_with_a_bogus_code_is_41051(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    added = await _newcomer(contact_driver)
    await contact_driver.contact_chat(CORP, "bob", added["external_userid"], sender="customer")
    assert (await contact_api.post("send_welcome_msg", {"welcome_code": added["welcome_code"], **TEXT}))[
        "errcode"
    ] == 41051
    assert (await contact_api.post("send_welcome_msg", {"welcome_code": "made-up", **TEXT}))["errcode"] == 41051


async def test_welcome_request_errors(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    added = await _newcomer(contact_driver)
    code = added["welcome_code"]
    assert (await contact_api.post("send_welcome_msg", {"welcome_code": code}))["errcode"] == 41048
    bad = {"welcome_code": code, "attachments": [{"msgtype": "audio", "audio": {}}]}
    assert (await contact_api.post("send_welcome_msg", bad))["errcode"] == 40058
    assert (await contact_api.post("send_welcome_msg", TEXT))["errcode"] == 40058
    # none of the refused calls used the code up
    link = {"msgtype": "link", "link": {"title": "t", "url": "https://example.com"}}
    body = {"welcome_code": code, "attachments": [link]}
    assert (await contact_api.post("send_welcome_msg", body))["errcode"] == 0


async def test_no_welcome_code_when_the_admin_configured_one(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    added = await _newcomer(contact_driver, welcome_code=False)
    assert added["welcome_code"] is None


# ---------------------------------------------------------------------- add_msg_template


async def test_msg_template_single_with_fail_list_and_confirmation(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    newt = (await _newcomer(contact_driver))["external_userid"]
    body = {"chat_type": "single", "sender": "bob", "external_userid": [newt, contact_seed["ext"], "wmNope"], **TEXT}
    answer = await contact_api.post("add_msg_template", body)
    assert answer["errcode"] == 0 and answer["msgid"].startswith("msg")
    assert answer["fail_list"] == [contact_seed["ext"], "wmNope"]  # Carol follows alice, not bob
    assert await contact_driver.deliveries(touser=newt) == []  # nothing leaves before bob confirms
    confirmed = await contact_driver.contact_confirm_msg_template(CORP, answer["msgid"])
    assert confirmed["delivered"] == [newt]
    [delivery] = await contact_driver.deliveries(touser=newt)
    assert (delivery["msgid"], delivery["sender"]) == (answer["msgid"], "servicer:bob")
    with pytest.raises(RuntimeError, match="409"):
        await contact_driver.contact_confirm_msg_template(CORP, answer["msgid"])


async def test_msg_template_tag_filter(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    newt = (await _newcomer(contact_driver))["external_userid"]
    added = await contact_api.post("add_corp_tag", {"group_name": "level", "tag": [{"name": "gold"}]})
    gold = added["tag_group"]["tag"][0]["id"]
    await contact_api.post("mark_tag", {"userid": "bob", "external_userid": newt, "add_tag": [gold]})
    other = (await contact_driver.contact_add_customer(CORP, userid="bob", nickname="Plain"))["external_userid"]
    body = {"sender": "bob", "tag_filter": {"group_list": [{"tag_list": [gold]}]}, **TEXT}
    msgid = (await contact_api.post("add_msg_template", body))["msgid"]
    delivered = (await contact_driver.contact_confirm_msg_template(CORP, msgid))["delivered"]
    assert delivered == [newt] and other not in delivered


async def test_msg_template_to_groups(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    mine = (await contact_driver.contact_create_group_chat(CORP, "bob"))["chat_id"]
    await contact_driver.contact_create_group_chat(CORP, "alice")
    msgid = (await contact_api.post("add_msg_template", {"chat_type": "group", "sender": "bob", **TEXT}))["msgid"]
    assert (await contact_driver.contact_confirm_msg_template(CORP, msgid))["delivered"] == [mine]


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"chat_type": "group", **TEXT}, 40058),  # group needs a sender
        ({"chat_type": "broadcast", **TEXT}, 40058),
        ({"sender": "bob"}, 41048),
        ({"sender": "ghost", **TEXT}, 40003),
        ({"text": {"content": "x" * 4001}}, 40058),
        ({"attachments": [{"msgtype": "image", "image": {"media_id": "m"}}] * 10}, 40058),
    ],
)
async def test_msg_template_errors(
    contact_api: ContactApi, contact_seed: dict[str, Any], body: dict[str, Any], errcode: int
) -> None:
    assert (await contact_api.post("add_msg_template", body))["errcode"] == errcode
