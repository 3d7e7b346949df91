"""The inbox filters of GET /api/v1/conversations: mine / unassigned / all / an operator, label,
with status, channel and inbox; both sorts walked with cursors across pages; last_message previews;
bad filter values are 4xx with a stable code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from gateway.db.repositories import browse, reading, search
from gateway.db.types import utcnow
from gateway.domain import Batch, ContentType, ConversationStatus, InboundMessage, MessageType, SenderType
from gateway.inbound.ingest import ingest_batch
from tests.api.people import PeopleApi
from tests.api.support import add_channel, change_state, message, say

NOW = utcnow()


async def listing(api: PeopleApi, operator_id: int, query: str) -> tuple[list[str], list[dict]]:
    """Every row of a filtered list for the operator, walked 2 at a time: (names in order, rows)."""
    rows: list[dict] = []
    cursor = None
    while True:
        url = f"/api/v1/conversations?limit=2&{query}" + (f"&cursor={cursor}" if cursor else "")
        response = await api.as_operator(operator_id, "GET", url)
        assert response.status_code == 200, response.text
        page = response.json()
        rows += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return [r["contact"]["name"] for r in rows], rows


@pytest.fixture
async def inbox(people_api: PeopleApi) -> dict:
    """Six conversations over two channels and three inboxes: who holds them, labels, waiting times."""
    api = people_api
    alice, bob = await api.operator("alice"), await api.operator("bob")
    wecom = await add_channel(api.db, api.box, kind="wecom", name="corp", app_id="ww1")
    mp = await add_channel(api.db, api.box, kind="mp", name="oa", app_id="wx1")
    # (channel, inbox, contact, minutes ago of the first customer message, minutes ago of the last activity)
    plan = [
        (wecom, "kf1", "A", 50, 5),
        (wecom, "kf1", "B", 40, 1),
        (wecom, "kf2", "C", 70, 30),
        (wecom, "kf2", "D", 20, 10),
        (mp, "wx1", "E", 60, 2),
        (mp, "wx1", "F", 90, 3),
    ]
    for channel, kf, name, first, last in plan:
        await say(api.db, channel, kf, name, "first", at=NOW - timedelta(minutes=first), name=name)
        await say(api.db, channel, kf, name, "again", at=NOW - timedelta(minutes=last))
    # D was answered by a servicer in the WeCom app: nobody waits there
    await ingest_batch(
        api.db,
        Batch(channel_id=wecom, messages=[message("kf2", "D", "done", NOW - timedelta(minutes=9), outgoing=True)]),
    )
    # state changes dated at the last activity, so they leave the order alone
    await change_state(api.db, wecom, "kf2", "C", status=ConversationStatus.RESOLVED, at=NOW - timedelta(minutes=30))
    await change_state(
        api.db, mp, "wx1", "F", status=ConversationStatus.OPEN, assignee="kf-agent@oa", at=NOW - timedelta(minutes=3)
    )
    ids = {r["contact"]["name"]: r["id"] for r in (await listing(api, alice, ""))[1]}
    await api.assign(ids["A"], alice)
    await api.assign(ids["E"], alice)
    await api.assign(ids["B"], bob)
    await api.label("vip", ids["A"], ids["D"], ids["F"])
    await api.label("refund", ids["D"])
    return {"alice": alice, "bob": bob, "wecom": wecom, "mp": mp, "ids": ids}


async def test_mine_unassigned_all_and_an_operator(people_api: PeopleApi, inbox: dict) -> None:
    alice, bob = inbox["alice"], inbox["bob"]
    assert (await listing(people_api, alice, ""))[0] == ["B", "E", "F", "A", "D", "C"]
    assert (await listing(people_api, alice, "assignee=all"))[0] == ["B", "E", "F", "A", "D", "C"]
    assert (await listing(people_api, alice, "assignee=me"))[0] == ["E", "A"]
    assert (await listing(people_api, bob, "assignee=me"))[0] == ["B"]
    assert (await listing(people_api, alice, f"assignee={bob}"))[0] == ["B"]
    # F has a platform agent (an MP kf account): not unassigned
    assert (await listing(people_api, alice, "assignee=unassigned"))[0] == ["D", "C"]
    rows = (await listing(people_api, alice, "assignee=me"))[1]
    assert {r["operator_id"] for r in rows} == {alice}
    # an API key acting for bob
    keyed = await people_api.get(f"/api/v1/conversations?assignee=me&operator_id={bob}")
    assert [r["contact"]["name"] for r in keyed.json()["data"]] == ["B"]


async def test_label_status_channel_inbox_combine(people_api: PeopleApi, inbox: dict) -> None:
    alice, ids = inbox["alice"], inbox["ids"]
    assert (await listing(people_api, alice, "label=vip"))[0] == ["F", "A", "D"]
    assert (await listing(people_api, alice, "label=vip&assignee=me"))[0] == ["A"]
    assert (await listing(people_api, alice, "label=refund"))[0] == ["D"]
    assert (await listing(people_api, alice, "status=resolved"))[0] == ["C"]
    assert (await listing(people_api, alice, "status=open&label=vip"))[0] == ["F"]
    assert (await listing(people_api, alice, f"channel_id={inbox['mp']}"))[0] == ["E", "F"]
    rows = {r["contact"]["name"]: r for r in (await listing(people_api, alice, ""))[1]}
    assert rows["D"]["labels"] == ["refund", "vip"] and rows["B"]["labels"] == []
    inbox_id = rows["C"]["inbox_id"]
    assert (await listing(people_api, alice, f"inbox_id={inbox_id}"))[0] == ["D", "C"]
    assert (await listing(people_api, alice, f"inbox_id={inbox_id}&assignee=unassigned&status=pending"))[0] == ["D"]
    assert rows["A"]["id"] == ids["A"]


async def test_sort_by_waiting_walks_oldest_first_across_pages(people_api: PeopleApi, inbox: dict) -> None:
    alice = inbox["alice"]
    names, rows = await listing(people_api, alice, "sort=waiting")
    # D was answered: left out; the others by their oldest unanswered customer message
    assert names == ["F", "C", "E", "A", "B"]
    stamps = [r["waiting_since"] for r in rows]
    assert stamps == sorted(stamps) and None not in stamps
    assert (await listing(people_api, alice, "sort=waiting&status=pending"))[0] == ["E", "A", "B"]
    assert (await listing(people_api, alice, "sort=waiting&assignee=me"))[0] == ["E", "A"]
    # a cursor carries its sort
    first = await people_api.as_operator(alice, "GET", "/api/v1/conversations?limit=2&sort=waiting")
    cursor = first.json()["next_cursor"]
    wrong = await people_api.as_operator(alice, "GET", f"/api/v1/conversations?cursor={cursor}")
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "cursor"
    other = (await people_api.as_operator(alice, "GET", "/api/v1/conversations?limit=2")).json()["next_cursor"]
    wrong = await people_api.as_operator(alice, "GET", f"/api/v1/conversations?sort=waiting&cursor={other}")
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "cursor"


async def test_last_message_previews(people_api: PeopleApi, inbox: dict) -> None:
    api, alice = people_api, inbox["alice"]
    rows = {r["contact"]["name"]: r for r in (await listing(api, alice, ""))[1]}
    assert rows["D"]["last_message"]["message_type"] == "outgoing" and rows["D"]["last_message"]["preview"] == "done"
    long = "很长的消息 " * 30
    await say(api.db, inbox["wecom"], "kf1", "A", long)
    image = InboundMessage(
        source_id="img-1",
        inbox_source_id="kf1",
        contact_source_id="B",
        message_type=MessageType.INCOMING,
        sender_type=SenderType.CONTACT,
        content_type=ContentType.IMAGE,
        content=None,
        sent_at=utcnow(),
        raw={},
        media_id="MEDIA",
    )
    await ingest_batch(api.db, Batch(channel_id=inbox["wecom"], messages=[image]))
    rows = {r["contact"]["name"]: r for r in (await listing(api, alice, ""))[1]}
    preview = rows["A"]["last_message"]["preview"]
    assert len(preview) == 80 and preview.endswith("…") and preview.startswith("很长的消息 很长的消息")
    assert rows["B"]["last_message"]["preview"] == "[image]"
    assert rows["B"]["last_message"]["content_type"] == "image"
    assert rows["B"]["unread_count"] == 3


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ("label=nope", 422, "unknown_label", "label"),
        ("assignee=someone", 422, "validation_error", "assignee"),
        ("assignee=%C2%B2", 422, "validation_error", "assignee"),  # "²" is a digit to str.isdigit()
        ("assignee=0", 422, "validation_error", "assignee"),
        ("assignee=999999", 422, "unknown_operator", "assignee"),
        ("sort=newest", 422, "validation_error", "sort"),
        ("cursor=bm9wZQ", 422, "validation_error", "cursor"),
        ("sort=waiting&cursor=bm9wZQ", 422, "validation_error", "cursor"),
    ],
)
async def test_bad_filters_are_4xx_with_a_stable_code(
    people_api: PeopleApi, inbox: dict, query: str, status: int, code: str | None, field: str | None
) -> None:
    response = await people_api.as_operator(inbox["alice"], "GET", f"/api/v1/conversations?{query}")
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    if code is not None:
        assert (response.status_code, error["code"], error.get("field")) == (status, code, field)


async def test_keys_need_an_operator_for_me_and_operators_cannot_look_as_others(
    people_api: PeopleApi, inbox: dict
) -> None:
    refused = await people_api.get("/api/v1/conversations?assignee=me")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "operator_required"
    unknown = await people_api.get("/api/v1/conversations?operator_id=999999")
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_operator"
    huge = await people_api.get(f"/api/v1/conversations?operator_id={2**64}")
    assert huge.status_code == 422 and huge.json()["error"]["field"] == "operator_id"
    other = await people_api.as_operator(inbox["alice"], "GET", f"/api/v1/conversations?operator_id={inbox['bob']}")
    assert other.status_code == 403


async def test_sqlite_plans_use_the_people_indexes(people_api: PeopleApi) -> None:
    if not people_api.db.is_sqlite:
        pytest.skip("plan shapes checked on SQLite; PostgreSQL's planner picks by table statistics")

    async def plan(query: object) -> str:
        compiled = query.compile(people_api.db.engine.sync_engine, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        async with people_api.db.sessions() as session:
            rows = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            return " | ".join(str(r[-1]) for r in rows)

    F, scan = browse.ConversationFilter, search.TextPlan.SCAN
    for f in (F(), F(unassigned=True), F(operator_id=1)):
        found = await plan(reading.unread_query(f, 1, None, scan))
        assert "COVERING INDEX ix_conversations_status_unread" in found, found
    waiting = await plan(browse.conversation_query(F(sort="waiting"), after=(utcnow(), 5), limit=10))
    assert "ix_conversations_waiting_since" in waiting and "TEMP B-TREE" not in waiting, waiting
    waiting = await plan(browse.conversation_query(F(sort="waiting", status="open"), after=None, limit=10))
    assert "ix_conversations_status_waiting_since" in waiting and "TEMP B-TREE" not in waiting, waiting
