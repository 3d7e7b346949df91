"""/api/v1/conversations: filters, the opaque keyset cursor, one conversation with its reply policy, messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gateway.db.repositories import browse
from gateway.db.types import utcnow
from gateway.domain import Batch, ConversationStatus
from gateway.inbound.ingest import ingest_batch
from tests.api.support import Api, add_channel, ago, change_state, message, say


async def walk(api: Api, query: str, limit: int) -> tuple[list[int], int]:
    """Every conversation id of a filtered list, page by page; (ids, pages)."""
    ids: list[int] = []
    cursor = None
    pages = 0
    while True:
        url = f"/api/v1/conversations?limit={limit}{'&' + query if query else ''}"
        response = await api.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [c["id"] for c in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


async def test_keyset_walk_returns_every_row_once_newest_first(api: Api) -> None:
    channel = await add_channel(api.db, api.box)
    base = ago(hours=1)
    for i in range(25):  # groups of three share a last_activity_at: the id breaks the tie
        await say(api.db, channel, f"kf{i % 2}", f"ext-{i}", at=base + timedelta(seconds=i // 3))
    ids, pages = await walk(api, "", 4)
    assert pages == 7 and len(ids) == 25 and len(set(ids)) == 25
    rows = (await api.get("/api/v1/conversations?limit=200")).json()["data"]
    assert [r["id"] for r in rows] == ids
    keys = [(r["last_activity_at"], r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    # filtered walks too
    inbox_ids, _ = await walk(api, f"inbox_id={rows[0]['inbox_id']}", 3)
    assert sorted(inbox_ids) == sorted(r["id"] for r in rows if r["inbox_id"] == rows[0]["inbox_id"])
    assert len(inbox_ids) == len(set(inbox_ids)) in (12, 13)


async def test_a_row_that_moves_during_a_walk_is_not_seen_twice(api: Api) -> None:
    channel = await add_channel(api.db, api.box)
    for i in range(6):
        await say(api.db, channel, "kf1", f"ext-{i}", at=ago(minutes=10 - i))
    first = (await api.get("/api/v1/conversations?limit=3")).json()
    # the oldest conversation gets a new message: it jumps ahead of the cursor
    await say(api.db, channel, "kf1", "ext-0", "news")
    rest = (await api.get(f"/api/v1/conversations?limit=10&cursor={first['next_cursor']}")).json()
    seen = [c["id"] for c in first["data"] + rest["data"]]
    assert len(seen) == len(set(seen)) == 5


async def test_filters(api: Api) -> None:
    wecom = await add_channel(api.db, api.box, kind="wecom", name="corp", app_id="ww1")
    mp = await add_channel(api.db, api.box, kind="mp", name="oa", app_id="wx1")
    await say(api.db, wecom, "kf1", "ext-a", "where is my parcel", name="Anna")
    await say(api.db, wecom, "kf2", "ext-b", "refund please", name="Boris")
    await say(api.db, mp, "wx1", "open-c", "hello", name="Chen Parcelman")
    await change_state(
        api.db, wecom, "kf2", "ext-b", status=ConversationStatus.OPEN, platform_state="3", assignee="alice"
    )
    await change_state(api.db, mp, "wx1", "open-c", status=ConversationStatus.QUEUED)
    everything = (await api.get("/api/v1/conversations")).json()["data"]
    by_contact = {c["contact"]["name"]: c for c in everything}
    assert set(by_contact) == {"Anna", "Boris", "Chen Parcelman"}

    async def names(query: str) -> set[str]:
        response = await api.get(f"/api/v1/conversations?{query}")
        assert response.status_code == 200, response.text
        return {c["contact"]["name"] for c in response.json()["data"]}

    assert await names("status=pending") == {"Anna"}
    assert await names("status=open") == {"Boris"}
    assert await names("status=queued") == {"Chen Parcelman"}
    assert await names("status=resolved") == set()
    assert await names(f"channel_id={wecom}") == {"Anna", "Boris"}
    assert await names(f"channel_id={mp}") == {"Chen Parcelman"}
    assert await names(f"inbox_id={by_contact['Boris']['inbox_id']}") == {"Boris"}
    assignee = by_contact["Boris"]["assignee"]
    assert assignee["source_id"] == "alice" and by_contact["Boris"]["assignee_id"] == assignee["id"]
    assert await names(f"assignee_id={assignee['id']}") == {"Boris"}
    assert await names(f"contact_id={by_contact['Anna']['contact_id']}") == {"Anna"}
    assert await names(f"channel_id={wecom}&status=open") == {"Boris"}
    # q: message text or contact name, case-insensitive; LIKE wildcards are literal
    assert await names("q=PARCEL") == {"Anna", "Chen Parcelman"}
    assert await names("q=refund") == {"Boris"}
    assert await names("q=%25") == set()
    assert await names("q=_") == set()
    # summaries
    chen = by_contact["Chen Parcelman"]
    assert chen["inbox"] == {
        "id": chen["inbox_id"],
        "channel_id": mp,
        "kind": "mp",
        "source_id": "wx1",
        "name": "",
        "migrating": False,
    }
    assert chen["reply_policy"] is None  # only on the single-conversation read


async def test_updated_after(api: Api) -> None:
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "ext-old")
    await asyncio.sleep(0.01)
    mark = utcnow()
    await asyncio.sleep(0.01)
    await say(api.db, channel, "kf1", "ext-new", name="New")
    params = {"updated_after": mark.isoformat()}
    response = await api.get("/api/v1/conversations", params=params)
    assert [c["contact"]["name"] for c in response.json()["data"]] == ["New"]
    naive = {"updated_after": mark.replace(tzinfo=None).isoformat()}  # read as UTC
    assert len((await api.get("/api/v1/conversations", params=naive)).json()["data"]) == 1
    assert (await api.get("/api/v1/conversations", params={"updated_after": "yesterday"})).status_code == 422


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=201", "limit"),
        ("limit=0", "limit"),
        ("status=closed", "status"),
        ("inbox_id=abc", "inbox_id"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=bm9wZQ", "cursor"),  # base64 of "nope"
    ],
)
async def test_bad_parameters_are_422_with_the_field(api: Api, query: str, field: str) -> None:
    response = await api.get(f"/api/v1/conversations?{query}")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["field"] == field


async def test_get_with_summaries_and_reply_policy(api: Api) -> None:
    wecom = await add_channel(api.db, api.box, kind="wecom", name="corp", app_id="ww1")
    mp = await add_channel(api.db, api.box, kind="mp", name="oa", app_id="wx1")
    await say(api.db, wecom, "kf1", "ext-fresh", name="Fresh")
    await say(api.db, wecom, "kf1", "ext-stale", at=ago(hours=49), name="Stale")
    await say(api.db, wecom, "kf1", "ext-held", name="Held")
    await change_state(
        api.db, wecom, "kf1", "ext-held", status=ConversationStatus.OPEN, platform_state="3", assignee="alice"
    )
    await say(api.db, mp, "wx1", "open-1", name="Mp")
    rows = {c["contact"]["name"]: c["id"] for c in (await api.get("/api/v1/conversations")).json()["data"]}

    async def policy(name: str) -> dict[str, object]:
        response = await api.get(f"/api/v1/conversations/{rows[name]}")
        assert response.status_code == 200
        return response.json()["reply_policy"]

    fresh = await policy("Fresh")
    closes = datetime.fromisoformat(str(fresh.pop("window_closes_at")))
    assert fresh == {"can_reply": True, "reason": None, "detail": "", "grant": "message", "replies_left": 5}
    assert timedelta(hours=47) < closes - datetime.now(UTC) <= timedelta(hours=48)
    assert (await policy("Stale"))["reason"] == "window_closed"
    assert (await policy("Held"))["reason"] == "state_forbids_api"
    assert (await policy("Held"))["can_reply"] is False
    assert (await policy("Mp"))["can_reply"] is True
    held = (await api.get(f"/api/v1/conversations/{rows['Held']}")).json()
    assert held["status"] == "open" and held["platform_state"] == "3"
    assert held["assignee"]["source_id"] == "alice" and held["contact"]["name"] == "Held"
    assert held["inbox"]["kind"] == "wecom" and held["inbox"]["source_id"] == "kf1"
    missing = await api.get("/api/v1/conversations/99999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_messages_pages(api: Api) -> None:
    channel = await add_channel(api.db, api.box)
    start = ago(hours=2)
    items = [
        message("kf1", "ext-1", f"m{i}", start + timedelta(seconds=i), source_id=f"msg-{i}", seq=i) for i in range(120)
    ]
    await ingest_batch(api.db, Batch(channel_id=channel, messages=items))
    conversation = (await api.get("/api/v1/conversations")).json()["data"][0]["id"]
    path = f"/api/v1/conversations/{conversation}/messages"

    newest = (await api.get(path)).json()
    assert [m["content"] for m in newest["data"]] == [f"m{i}" for i in range(70, 120)] and newest["next_cursor"]
    assert newest["data"][0]["raw"] is None

    # paging back with next_cursor covers every message exactly once
    seen = [m["id"] for m in newest["data"]]
    page = newest
    while page["next_cursor"]:
        page = (await api.get(path, params={"cursor": page["next_cursor"], "limit": 50})).json()
        seen = [m["id"] for m in page["data"]] + seen
    assert len(seen) == 120 == len(set(seen)) and seen == sorted(seen)

    # paging forward from the first message with direction=newer, every page oldest → newest
    forward, page = [], (await api.get(path, params={"direction": "newer", "limit": 45})).json()
    forward += [m["id"] for m in page["data"]]
    while page["next_cursor"]:
        page = (await api.get(path, params={"cursor": page["next_cursor"], "limit": 45})).json()
        forward += [m["id"] for m in page["data"]]
    assert forward == seen

    # catching up: newer_cursor of the newest page answers nothing, then what arrives after it
    caught_up = (await api.get(path, params={"cursor": newest["newer_cursor"]})).json()
    assert caught_up["data"] == [] and caught_up["next_cursor"] is None
    assert caught_up["newer_cursor"] == newest["newer_cursor"]  # nothing new: stays put
    later = [message("kf1", "ext-1", f"n{i}", ago(seconds=10 - i), source_id=f"new-{i}", seq=200 + i) for i in range(3)]
    await ingest_batch(api.db, Batch(channel_id=channel, messages=later))
    fresh = (await api.get(path, params={"cursor": caught_up["newer_cursor"], "limit": 2})).json()
    assert [m["content"] for m in fresh["data"]] == ["n0", "n1"] and fresh["next_cursor"]
    rest = (await api.get(path, params={"cursor": fresh["next_cursor"]})).json()
    assert [m["content"] for m in rest["data"]] == ["n2"] and rest["next_cursor"] is None
    again = (await api.get(path, params={"cursor": rest["newer_cursor"]})).json()
    assert again["data"] == []

    # one message, as the thread lists it (what the inbox reads again on message.updated)
    one = (await api.get(f"{path}/{seen[3]}")).json()
    assert one["id"] == seen[3] and one["content"] == "m3" and one["attachment"] is None

    raw = (await api.get(path, params={"limit": 1, "include_raw": "true"})).json()["data"][0]
    assert raw["raw"] == {"msgid": "new-2", "text": {"content": "n2"}} and raw["source_id"] == "new-2"
    assert raw["message_type"] == "incoming" and raw["sender_type"] == "contact" and raw["status"] == "received"

    # a cursor names its conversation and direction: using it elsewhere is refused, not followed
    await ingest_batch(api.db, Batch(channel_id=channel, messages=[message("kf1", "ext-2", "other", ago(seconds=1))]))
    other = next(c["id"] for c in (await api.get("/api/v1/conversations")).json()["data"] if c["id"] != conversation)
    older = newest["next_cursor"]
    for params in (
        {"cursor": older, "direction": "newer"},
        {"cursor": newest["newer_cursor"], "direction": "older"},
        {"cursor": "x"},
        {"cursor": (await api.get("/api/v1/conversations?limit=1")).json()["next_cursor"]},
    ):
        refused = await api.get(path, params=params)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "cursor", params
    refused = await api.get(f"/api/v1/conversations/{other}/messages", params={"cursor": older})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"
    assert (await api.get(path, params={"limit": 201})).json()["error"]["field"] == "limit"
    assert (await api.get(path, params={"direction": "up"})).status_code == 422
    assert (await api.get(f"/api/v1/conversations/{other}/messages/{seen[3]}")).status_code == 404
    assert (await api.get(f"{path}/99999999")).status_code == 404
    assert (await api.get("/api/v1/conversations/99999/messages")).status_code == 404


async def test_list_queries_use_the_indexes(api: Api) -> None:
    if not api.db.is_sqlite:
        pytest.skip("plan shapes checked on SQLite; PostgreSQL's planner picks by table statistics")

    async def plan(query: object) -> str:
        compiled = query.compile(api.db.engine.sync_engine, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        async with api.db.sessions() as session:
            rows = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            return " | ".join(str(r[-1]) for r in rows)

    after = (utcnow(), 10)
    by_status = await plan(browse.conversation_query(browse.ConversationFilter(status="open"), after=after, limit=10))
    assert "ix_conversations_status_last_activity" in by_status, by_status
    by_inbox = await plan(browse.conversation_query(browse.ConversationFilter(inbox_id=1), after=after, limit=10))
    assert "ix_conversations_inbox_last_activity" in by_inbox, by_inbox
    everything = await plan(browse.conversation_query(browse.ConversationFilter(), after=None, limit=10))
    assert "ix_conversations_last_activity_id" in everything and "TEMP B-TREE" not in everything, everything
