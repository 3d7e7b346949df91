"""Read state through the REST API: marking read drops the count, new customer messages raise it,
a reply ends the wait, the unread total matches the rows; bad input is 4xx and writes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.db.models import Message
from gateway.db.people import ReadState
from gateway.domain import Batch, ConversationStatus
from gateway.inbound.ingest import ingest_batch
from tests.api.people import PeopleApi
from tests.api.support import add_channel, ago, change_state, message, say


async def rows(api: PeopleApi, operator_id: int, query: str = "") -> dict[str, dict]:
    response = await api.as_operator(operator_id, "GET", f"/api/v1/conversations?{query}")
    assert response.status_code == 200, response.text
    return {c["contact"]["name"]: c for c in response.json()["data"]}


async def read(api: PeopleApi, operator_id: int, conversation_id: int, **body: object) -> dict:
    response = await api.as_operator(operator_id, "POST", f"/api/v1/conversations/{conversation_id}/read", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def read_rows(api: PeopleApi) -> int:
    async with api.db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(ReadState))


async def test_an_agent_marks_read_and_the_count_drops_then_new_messages_raise_it(people_api: PeopleApi) -> None:
    api = people_api
    alice, bob = await api.operator("alice"), await api.operator("bob")
    channel = await add_channel(api.db, api.box)
    for n in range(3):
        await say(api.db, channel, "kf1", "ext-a", f"question {n}", at=ago(minutes=10 - n), name="Ann")
    ann = (await rows(api, alice))["Ann"]
    assert ann["unread_count"] == 3
    assert ann["last_message"]["preview"] == "question 2" and ann["last_message"]["message_type"] == "incoming"

    answer = await read(api, alice, ann["id"])
    assert answer == {
        "conversation_id": ann["id"],
        "operator_id": alice,
        "last_read_message_id": ann["last_message"]["id"],
        "unread_count": 0,
    }
    assert (await rows(api, alice))["Ann"]["unread_count"] == 0
    assert (await rows(api, bob))["Ann"]["unread_count"] == 3  # per operator
    events = await api.events("conversation.updated")
    assert events[-1]["changes"] == {"unread_count": 0} and events[-1]["operator_id"] == alice
    assert events[-1]["actor"] == {"type": "operator", "id": alice, "name": "alice"}

    await say(api.db, channel, "kf1", "ext-a", "still there?", at=ago(minutes=1))
    await say(api.db, channel, "kf1", "ext-a", "hello??", at=ago(seconds=30))
    assert (await rows(api, alice))["Ann"]["unread_count"] == 2

    # marking read again with nothing new changes nothing and emits nothing
    await read(api, alice, ann["id"])
    count = len(await api.events("conversation.updated"))
    assert (await read(api, alice, ann["id"]))["unread_count"] == 0
    assert len(await api.events("conversation.updated")) == count


async def test_read_up_to_a_message_counts_customer_messages_and_never_moves_back(people_api: PeopleApi) -> None:
    api = people_api
    alice = await api.operator("alice")
    channel = await add_channel(api.db, api.box)
    await ingest_batch(
        api.db,
        Batch(
            channel_id=channel,
            messages=[
                message("kf1", "ext-a", "q1", ago(minutes=9), source_id="q1", seq=1),
                message("kf1", "ext-a", "a1", ago(minutes=8), source_id="a1", outgoing=True, seq=2),
                message("kf1", "ext-a", "q2", ago(minutes=7), source_id="q2", seq=3),
                message("kf1", "ext-a", "q3", ago(minutes=6), source_id="q3", seq=4),
            ],
        ),
    )
    async with api.db.sessions() as session:
        ids = {m.source_id: m.id for m in await session.scalars(select(Message))}
    cid = (await api.as_operator(alice, "GET", "/api/v1/conversations")).json()["data"][0]["id"]
    assert (await read(api, alice, cid, message_id=ids["a1"]))["unread_count"] == 2  # q2, q3
    assert (await read(api, alice, cid, message_id=ids["q2"]))["unread_count"] == 1
    back = await read(api, alice, cid, message_id=ids["q1"])  # older: ignored
    assert back["unread_count"] == 1 and back["last_read_message_id"] == ids["q2"]


async def test_api_keys_act_for_an_operator_or_get_operator_required(people_api: PeopleApi) -> None:
    api = people_api
    alice = await api.operator("alice")
    gone = await api.operator("gone", active=False)
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "ext-a", "hi", name="Ann")
    cid = (await rows(api, alice))["Ann"]["id"]
    path = f"/api/v1/conversations/{cid}/read"

    refused = await api.post(path, json={})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "operator_required"
    assert (await api.post(path, as_="read", json={"operator_id": alice})).status_code == 403
    unknown = await api.post(path, json={"operator_id": gone})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_operator"
    # without operator_id a key sees no unread count; with it, the operator's
    listed = (await api.get("/api/v1/conversations")).json()["data"][0]
    assert listed["unread_count"] is None
    assert (await api.get(f"/api/v1/conversations?operator_id={alice}")).json()["data"][0]["unread_count"] == 1
    assert await read_rows(api) == 0

    bare = await api.as_operator(alice, "POST", path)  # no body at all: the last message
    assert bare.status_code == 200 and bare.json()["unread_count"] == 0
    async with api.db.session() as session:
        await session.execute(ReadState.__table__.delete())
    done = await api.post(path, json={"operator_id": alice})
    assert done.status_code == 200 and done.json()["unread_count"] == 0
    assert (await api.get(f"/api/v1/conversations/{cid}?operator_id={alice}")).json()["unread_count"] == 0
    event = (await api.events("conversation.updated"))[-1]
    assert event["operator_id"] == alice and event["actor"]["type"] == "api_key"


async def test_bad_reads_are_4xx_and_write_nothing(people_api: PeopleApi) -> None:
    api = people_api
    alice, bob = await api.operator("alice"), await api.operator("bob")
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "ext-a", "hi", name="Ann")
    await say(api.db, channel, "kf1", "ext-b", "yo", name="Ben")
    listed = await rows(api, alice)
    ann, ben = listed["Ann"], listed["Ben"]

    foreign = await api.as_operator(
        alice, "POST", f"/api/v1/conversations/{ann['id']}/read", json={"message_id": ben["last_message"]["id"]}
    )
    assert foreign.status_code == 422 and foreign.json()["error"]["code"] == "message_not_in_conversation"
    missing = await api.as_operator(alice, "POST", "/api/v1/conversations/999999/read", json={})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    other = await api.as_operator(alice, "POST", f"/api/v1/conversations/{ann['id']}/read", json={"operator_id": bob})
    assert other.status_code == 403
    typo = await api.as_operator(alice, "POST", f"/api/v1/conversations/{ann['id']}/read", json={"messageid": 1})
    assert typo.status_code in (400, 422)
    huge = await api.as_operator(alice, "POST", f"/api/v1/conversations/{ann['id']}/read", json={"message_id": 2**64})
    assert huge.status_code in (400, 422)
    assert await read_rows(api) == 0
    assert await api.events("conversation.updated") == []


async def test_a_reply_ends_the_wait_and_becomes_the_last_message(people_api: PeopleApi) -> None:
    api = people_api
    alice = await api.operator("alice")
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "ext-a", "where is my order", at=ago(minutes=5), name="Ann")
    ann = (await rows(api, alice))["Ann"]
    assert ann["waiting_since"] is not None
    sent = await api.post(f"/api/v1/conversations/{ann['id']}/messages", json={"content": "on its way"})
    assert sent.status_code == 202, sent.text
    ann = (await rows(api, alice))["Ann"]
    assert ann["waiting_since"] is None
    assert ann["last_message"]["message_type"] == "outgoing" and ann["last_message"]["preview"] == "on its way"
    assert ann["unread_count"] == 1  # a reply by someone else does not mark the customer's message read


async def test_unread_total_matches_the_rows_and_skips_resolved(people_api: PeopleApi) -> None:
    api = people_api
    alice = await api.operator("alice")
    channel = await add_channel(api.db, api.box)
    for contact, count in (("ext-a", 3), ("ext-b", 1), ("ext-c", 2), ("ext-d", 4)):
        for n in range(count):
            await say(api.db, channel, "kf1", contact, f"m{n}", at=ago(minutes=30 - n), name=contact)
    await change_state(api.db, channel, "kf1", "ext-d", status=ConversationStatus.RESOLVED)
    listed = await rows(api, alice)
    await read(api, alice, listed["ext-b"]["id"])
    await api.assign(listed["ext-a"]["id"], alice)

    async def total(query: str = "") -> dict:
        response = await api.as_operator(alice, "GET", f"/api/v1/conversations/unread?{query}")
        assert response.status_code == 200, response.text
        return response.json()

    listed = await rows(api, alice)
    live = [c for c in listed.values() if c["status"] != "resolved" and c["unread_count"] > 0]
    assert await total() == {"conversations": len(live), "messages": sum(c["unread_count"] for c in live)}
    assert await total() == {"conversations": 2, "messages": 5}
    assert await total("assignee=me") == {"conversations": 1, "messages": 3}
    assert await total("status=resolved") == {"conversations": 0, "messages": 0}

    keyed = await api.get("/api/v1/conversations/unread")
    assert keyed.status_code == 422 and keyed.json()["error"]["code"] == "operator_required"
    assert (await api.get(f"/api/v1/conversations/unread?operator_id={alice}")).json() == await total()
    bad = await api.as_operator(alice, "GET", "/api/v1/conversations/unread?label=nope")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_label"


async def test_openapi_documents_read_and_unread(people_api: PeopleApi) -> None:
    spec = (await people_api.client.get("/schema/openapi.json")).json()
    assert "post" in spec["paths"]["/api/v1/conversations/{conversation_id}/read"]
    unread = spec["paths"]["/api/v1/conversations/unread"]["get"]
    assert {"assignee", "label", "operator_id", "status"} <= {p["name"] for p in unread["parameters"]}
    listed = {p["name"] for p in spec["paths"]["/api/v1/conversations"]["get"]["parameters"]}
    assert {"assignee", "label", "operator_id", "sort"} <= listed
