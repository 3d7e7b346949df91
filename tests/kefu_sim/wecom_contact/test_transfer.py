"""Simulated inheritance: get_unassigned_list paging, (resigned/)transfer_customer, transfer_result, limits."""

from __future__ import annotations

from typing import Any

import pytest

from kefu_sim import SimDriver, World
from tests.kefu_sim.wecom_contact.support import CORP, ContactApi

DAY = 86_400


def _book(world: World) -> Any:
    return world.state.corps[CORP].contacts


async def _transfer(api: ContactApi, handover: str, takeover: str, *ext: str) -> list[dict[str, Any]]:
    body = {"handover_userid": handover, "takeover_userid": takeover, "external_userid": list(ext)}
    answer = await api.post("transfer_customer", body)
    assert answer["errcode"] == 0, answer
    return answer["customer"]


async def _result(api: ContactApi, handover: str, takeover: str, path: str = "transfer_result") -> dict[str, Any]:
    return await api.post(path, {"handover_userid": handover, "takeover_userid": takeover})


# ---------------------------------------------------------------------- 在职继承


async def test_transfer_waits_24h_then_moves_the_customer(
    contact_api: ContactApi, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    ext = contact_seed["ext"]
    assert await _transfer(contact_api, "alice", "bob", ext) == [{"external_userid": ext, "errcode": 0}]
    [row] = (await _result(contact_api, "alice", "bob"))["customer"]
    assert (row["status"], row["takeover_time"]) == (2, int(contact_world.now()) + DAY)
    assert (await contact_api.get("list", userid="alice"))["external_userid"] == [ext]  # not yet
    contact_world.clock.advance(DAY)
    answer = await _result(contact_api, "alice", "bob")
    assert answer["customer"][0]["status"] == 1
    assert answer["next_cursor"] == ""
    assert (await contact_api.get("list", userid="alice"))["errcode"] == 84061
    follow = (await contact_api.get("get", external_userid=ext))["follow_user"][0]
    assert (follow["userid"], follow["add_way"]) == ("bob", 202)


async def test_transfer_per_customer_errcodes(
    contact_api: ContactApi, contact_driver: SimDriver, contact_seed: dict[str, Any]
) -> None:
    ext = contact_seed["ext"]
    other = (await contact_driver.contact_add_customer(CORP, userid="bob", nickname="Olga"))["external_userid"]
    results = await _transfer(contact_api, "alice", "bob", ext, "wmUnknown", other)
    assert [r["errcode"] for r in results] == [0, 40096, 84061]  # other is bob's, not alice's
    again = await _transfer(contact_api, "alice", "bob", ext)
    assert again[0]["errcode"] == 40129  # already waiting


@pytest.mark.parametrize(
    ("patch", "errcode"),
    [
        ({"handover_userid": "ghost"}, 40003),
        ({"takeover_userid": "ghost"}, 40003),
        ({"takeover_userid": "alice"}, 40058),
        ({"external_userid": []}, 40058),
        ({"external_userid": [f"wm{i}" for i in range(101)]}, 40058),
        ({"transfer_success_msg": "x" * 201}, 40058),
    ],
)
async def test_transfer_request_errors(
    contact_api: ContactApi, contact_seed: dict[str, Any], patch: dict[str, Any], errcode: int
) -> None:
    body = {"handover_userid": "alice", "takeover_userid": "bob", "external_userid": [contact_seed["ext"]], **patch}
    assert (await contact_api.post("transfer_customer", body))["errcode"] == errcode


async def test_at_most_two_transfers_in_90_days(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    ext = contact_seed["ext"]
    await contact_driver.contact_add_member(CORP, "carl")
    assert (await _transfer(contact_api, "alice", "bob", ext))[0]["errcode"] == 0
    contact_world.clock.advance(DAY)
    assert (await _transfer(contact_api, "bob", "carl", ext))[0]["errcode"] == 0
    contact_world.clock.advance(DAY)
    assert (await _transfer(contact_api, "carl", "alice", ext))[0]["errcode"] == 40128
    contact_world.clock.advance(89 * DAY)  # the first transfer left the 90-day window
    assert (await _transfer(contact_api, "carl", "alice", ext))[0]["errcode"] == 0


async def test_refused_transfer_keeps_the_customer(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    ext = contact_seed["ext"]
    await _transfer(contact_api, "alice", "bob", ext)
    refused = await contact_driver.contact_refuse_transfer(CORP, ext)
    assert refused["status"] == 3
    contact_world.clock.advance(2 * DAY)
    assert (await _result(contact_api, "alice", "bob"))["customer"][0]["status"] == 3
    assert (await contact_api.get("list", userid="alice"))["external_userid"] == [ext]
    with pytest.raises(RuntimeError, match="409"):
        await contact_driver.contact_refuse_transfer(CORP, ext)


async def test_transfer_result_errors_and_empty(contact_api: ContactApi, contact_seed: dict[str, Any]) -> None:
    assert (await _result(contact_api, "alice", "ghost"))["errcode"] == 40003
    assert (await _result(contact_api, "alice", "bob"))["customer"] == []


# ---------------------------------------------------------------------- 离职继承


async def _resigned_setup(driver: SimDriver, world: World, customers: int) -> list[str]:
    await driver.contact_add_member(CORP, "leaver")
    ids = []
    for i in range(customers):
        ids.append((await driver.contact_add_customer(CORP, userid="leaver", nickname=f"c{i}"))["external_userid"])
    await driver.contact_resign_member(CORP, "leaver")
    return ids


async def test_unassigned_list_pages_by_cursor_and_page_id(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    ids = await _resigned_setup(contact_driver, contact_world, 3)
    first = await contact_api.post("get_unassigned_list", {"page_size": 2})
    assert first["errcode"] == 0 and first["is_last"] is False
    assert {r["handover_userid"] for r in first["info"]} == {"leaver"}
    assert first["info"][0]["dimission_time"] == int(contact_world.now())
    second = await contact_api.post("get_unassigned_list", {"page_size": 2, "cursor": first["next_cursor"]})
    assert second["is_last"] is True and second["next_cursor"] == ""
    assert sorted(r["external_userid"] for r in first["info"] + second["info"]) == sorted(ids)
    by_page = await contact_api.post("get_unassigned_list", {"page_size": 2, "page_id": 1})
    assert by_page["info"] == second["info"]
    assert (await contact_api.post("get_unassigned_list", {"page_size": 1001}))["errcode"] == 40058
    assert (await contact_api.post("get_unassigned_list", {"cursor": "%%%"}))["errcode"] == 40058


async def test_resigned_transfer(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    ids = await _resigned_setup(contact_driver, contact_world, 2)
    body = {"handover_userid": "leaver", "takeover_userid": "bob", "external_userid": ids[:1]}
    answer = await contact_api.post("resigned/transfer_customer", body)
    assert answer["customer"] == [{"external_userid": ids[0], "errcode": 0}]
    unassigned = (await contact_api.post("get_unassigned_list", {}))["info"]
    assert [r["external_userid"] for r in unassigned] == [ids[1]]
    assert (await _result(contact_api, "leaver", "bob", "resigned/transfer_result"))["customer"][0]["status"] == 2
    contact_world.clock.advance(DAY)
    assert (await _result(contact_api, "leaver", "bob", "resigned/transfer_result"))["customer"][0]["status"] == 1
    assert (await contact_api.get("list", userid="bob"))["external_userid"] == [ids[0]]
    assert (await _result(contact_api, "leaver", "bob"))["customer"] == []  # on-job results are separate


async def test_resigned_and_onjob_paths_refuse_the_wrong_handover(
    contact_api: ContactApi, contact_driver: SimDriver, contact_world: World, contact_seed: dict[str, Any]
) -> None:
    ids = await _resigned_setup(contact_driver, contact_world, 1)
    body = {"handover_userid": "alice", "takeover_userid": "bob", "external_userid": [contact_seed["ext"]]}
    assert (await contact_api.post("resigned/transfer_customer", body))["errcode"] == 40058  # alice still works
    body = {"handover_userid": "leaver", "takeover_userid": "bob", "external_userid": ids}
    assert (await contact_api.post("transfer_customer", body))["errcode"] == 40058  # leaver has resigned
