"""Private notes over REST with the simulator as the platform: in the thread with their author,
announced as note.created only, never delivered, and the conversation's counters left alone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from gateway.db.models import Conversation, DomainEvent, Job, Message
from gateway.db.people import AuditEntry
from gateway.db.repositories.notes import add_note
from tests.api.test_actions import APPID, wecom_conversation

# what a note must not move: reply window and quota, list columns, activity
UNTOUCHED = (
    "status",
    "last_incoming_at",
    "replies_since_incoming",
    "last_event_at",
    "replies_since_event",
    "last_message_id",
    "incoming_count",
    "waiting_since",
    "last_activity_at",
    "first_reply_at",
    "updated_at",
)


async def snapshot(db, conversation_id: int) -> dict[str, Any]:
    async with db.sessions() as session:
        row = await session.get(Conversation, conversation_id)
        return {name: getattr(row, name) for name in UNTOUCHED}


async def counts(db) -> dict[str, int]:
    async with db.sessions() as session:
        return {
            t.__tablename__: await session.scalar(select(func.count()).select_from(t))
            for t in (Message, DomainEvent, Job, AuditEntry)
        }


async def test_a_note_is_in_the_thread_with_its_author_and_never_reaches_the_platform(sim_api) -> None:
    h = sim_api.h
    conversation_id, _, customer = await wecom_conversation(sim_api)
    reply = await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "a reply"})
    assert reply.status_code == 202
    await h.runtime.jobs.drain()
    sends = len(await h.driver.calls(path="/cgi-bin/kf/send_msg"))
    deliveries = await h.driver.deliveries()
    assert sends == 1 and len(deliveries) == 1  # the way to the customer works: a reply got there
    before = await snapshot(h.db, conversation_id)
    policy = (await sim_api.get(f"/api/v1/conversations/{conversation_id}")).json()["reply_policy"]
    jobs = (await counts(h.db))["jobs"]

    created = await sim_api.post(f"/api/v1/conversations/{conversation_id}/notes", json={"content": "VIP, be nice"})
    assert created.status_code == 201, created.text
    note = created.json()
    assert (
        note
        | {
            "message_type": "note",
            "content_type": "text",
            "sender_type": "api_key",
            "content": "VIP, be nice",
            "source_id": None,
        }
        == note
    )
    assert note["author"]["type"] == "api_key" and note["author"]["name"] == "test-write"
    assert note["content_attributes"] == {"author": note["author"]}
    assert (await counts(h.db))["jobs"] == jobs  # nothing queued for the platform

    await h.runtime.jobs.drain()
    assert len(await h.driver.calls(path="/cgi-bin/kf/send_msg")) == sends
    assert await h.driver.deliveries() == deliveries
    assert not [d for d in await h.driver.deliveries(touser=customer) if "VIP" in str(d)]
    assert await snapshot(h.db, conversation_id) == before
    after = (await sim_api.get(f"/api/v1/conversations/{conversation_id}")).json()["reply_policy"]
    assert after == policy

    thread = (await sim_api.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["data"]
    assert [m["message_type"] for m in thread] == ["incoming", "outgoing", "note"]
    assert thread[-1]["author"] == note["author"] and thread[0]["author"] is None

    feed = (await sim_api.get("/api/v1/events", params={"limit": 500})).json()["data"]
    notes = [e for e in feed if e["type"] == "note.created"]
    assert len(notes) == 1
    assert (
        notes[0]["data"]
        | {
            "message_id": note["id"],
            "conversation_id": conversation_id,
            "message_type": "note",
            "content": "VIP, be nice",
            "actor": note["author"],
        }
        == notes[0]["data"]
    )
    created_messages = [e["data"]["message_id"] for e in feed if e["type"] == "message.created"]
    assert note["id"] not in created_messages  # a message.created consumer never sees a note
    only = (await sim_api.get("/api/v1/events", params={"types": "note.created"})).json()["data"]
    assert [e["id"] for e in only] == [notes[0]["id"]]


async def test_a_note_on_mp_and_on_a_resolved_conversation_is_not_sent_either(sim_api) -> None:
    h = sim_api.h
    await h.mp_channel(appid=APPID)
    openid = (await h.driver.mp_add_follower(APPID))["openid"]
    await h.driver.mp_user_text(APPID, openid, "hi")
    await h.driver.flush_callbacks()
    async with h.db.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json={"content": "a reply"})
    await h.runtime.jobs.drain()
    deliveries = await h.driver.deliveries(platform="mp")
    assert len(deliveries) == 1
    before = await snapshot(h.db, conversation_id)
    created = await sim_api.post(f"/api/v1/conversations/{conversation_id}/notes", json={"content": "备注：老客户"})
    assert created.status_code == 201 and created.json()["content"] == "备注：老客户"
    await h.runtime.jobs.drain()
    assert len(await h.driver.calls(path="/cgi-bin/message/custom/send")) == 1
    assert await h.driver.deliveries(platform="mp") == deliveries
    assert await snapshot(h.db, conversation_id) == before
    resolved = await sim_api.post(f"/api/v1/conversations/{conversation_id}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    late = await sim_api.post(f"/api/v1/conversations/{conversation_id}/notes", json={"content": "after the end"})
    assert late.status_code == 201
    await h.runtime.jobs.drain()
    assert await h.driver.deliveries(platform="mp") == deliveries


async def test_bad_notes_answer_a_stable_code_and_write_nothing(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    before = await counts(sim_api.db)
    path = f"/api/v1/conversations/{conversation_id}/notes"
    too_long = await sim_api.post(path, json={"content": "x" * 10_001})
    assert too_long.status_code == 422
    assert too_long.json()["error"] | {"code": "note_too_long", "field": "content"} == too_long.json()["error"]
    for body in ({"content": ""}, {"content": "   \n"}, {}):
        empty = await sim_api.post(path, json=body)
        assert empty.status_code == 422 and empty.json()["error"]["code"] == "invalid_message", body
    assert (await sim_api.post(path, json={"content": 5})).status_code == 422
    assert (await sim_api.post(path, json={"content": "x", "private": True})).status_code == 422
    missing = await sim_api.post("/api/v1/conversations/999999/notes", json={"content": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await sim_api.post(path, json={"content": "x"}, as_="read")).status_code == 403
    assert (await sim_api.post(path, json={"content": "x"}, as_=None)).status_code == 401
    assert await counts(sim_api.db) == before
    exactly = await sim_api.post(path, json={"content": "y" * 10_000})
    assert exactly.status_code == 201


async def test_a_note_by_an_operator_names_them_as_author(sim_api) -> None:
    """Operators sign in on another branch of this work; their notes are written by the same
    repository call the endpoint makes, with the operator's ref and id."""
    conversation_id, _, _ = await wecom_conversation(sim_api)
    operator = {"type": "operator", "id": 7, "name": "李雷"}
    async with sim_api.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        note = await add_note(session, conversation, operator, "called the customer", operator_id=7)
    async with sim_api.db.sessions() as session:
        row = await session.get(Message, note.id)
        assert (row.sender_type, row.operator_id, row.message_type) == ("operator", 7, "note")
    thread = (await sim_api.get(f"/api/v1/conversations/{conversation_id}/messages")).json()["data"]
    assert thread[-1] | {"sender_type": "operator", "author": operator} == thread[-1]
    (event,) = (await sim_api.get("/api/v1/events", params={"types": "note.created"})).json()["data"]
    assert event["data"]["author"] == operator and event["data"]["actor"] == operator
