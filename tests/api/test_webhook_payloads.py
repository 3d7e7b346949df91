"""Webhook payloads carry the objects they are about, equal to what the REST API answers for the same ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from gateway.db.models import DomainEvent
from gateway.domain import ConversationStatus
from tests.api import test_webhooks
from tests.api.support import add_channel, change_state, say
from tests.api.test_webhooks import create
from tests.outbound.test_webhooks import SECRET, _true, pump, settled

hooked = test_webhooks.hooked  # the app, its runtime and a CRM receiver reached in-process


def delivered(receiver: Any, type_: str) -> list[dict[str, Any]]:
    return [e for e in receiver.accepted.get("hook", []) if e["type"] == type_]


async def test_message_created_carries_message_conversation_and_contact_as_the_api_shows_them(hooked) -> None:
    api, runtime, receiver = hooked
    await create(api, secret=SECRET, events=["message.created", "conversation.created"])
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "alice", "hello there", name="Alice")
    await pump(runtime, lambda: settled(api.db))
    [event] = delivered(receiver, "message.created")
    data = event["data"]
    cid, contact_id = data["conversation_id"], data["conversation"]["contact_id"]
    assert (data["message_id"], data["content"]) == (data["message"]["id"], "hello there")  # the ids stay

    [listed] = (await api.get(f"/api/v1/conversations/{cid}/messages")).json()["data"]
    assert data["message"] == listed
    one = (await api.get(f"/api/v1/conversations/{cid}")).json()
    assert one["reply_policy"] is not None and data["conversation"]["reply_policy"] is None
    assert data["conversation"] == {**one, "reply_policy": None}
    [item] = (await api.get("/api/v1/conversations")).json()["data"]
    assert data["conversation"] == item  # exactly a list item
    contact = (await api.get(f"/api/v1/contacts/{contact_id}")).json()
    assert data["contact"] == contact and contact["name"] == "Alice" and contact["identities"]
    [opened] = delivered(receiver, "conversation.created")
    assert opened["data"]["conversation"]["id"] == cid and opened["data"]["contact"] == contact
    # the feed serves the same stored payload
    feed = (await api.get("/api/v1/events?types=message.created")).json()["data"]
    assert feed[0]["data"] == data


async def test_conversation_updated_carries_the_assignee_and_labels_of_that_change(hooked) -> None:
    api, runtime, receiver = hooked
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "bob", "hi")
    await create(api, secret=SECRET, events=["conversation.updated"])
    await change_state(api.db, channel, "kf1", "bob", status=ConversationStatus.OPEN, assignee="servicer1")
    made = await api.post("/api/v1/labels", as_="admin", json={"name": "vip", "color": "#ff0000"})
    assert made.status_code == 201, made.text
    [conversation] = (await api.get("/api/v1/conversations")).json()["data"]
    added = await api.post(f"/api/v1/conversations/{conversation['id']}/labels", json={"labels": ["vip"]})
    assert added.status_code == 200, added.text
    await pump(runtime, lambda: _true(len(delivered(receiver, "conversation.updated")) == 2))
    assigned, labelled = delivered(receiver, "conversation.updated")
    assert assigned["data"]["conversation"]["assignee"]["source_id"] == "servicer1"
    assert assigned["data"]["conversation"]["labels"] == []  # as it was then, not as it is now
    now = (await api.get(f"/api/v1/conversations/{conversation['id']}")).json()
    assert labelled["data"]["changes"] == {"labels": ["vip"]}
    assert labelled["data"]["conversation"] == {**now, "reply_policy": None}
    assert now["labels"] == ["vip"] and now["assignee"]["source_id"] == "servicer1"
    assert labelled["data"]["contact"] == (await api.get(f"/api/v1/contacts/{now['contact_id']}")).json()


async def test_a_later_change_does_not_rewrite_an_event_already_written(hooked) -> None:
    """Rendered at commit: the event keeps the contact's name of that moment."""
    api, _runtime, _receiver = hooked
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "carol", "first", name="Carol")
    [conversation] = (await api.get("/api/v1/conversations")).json()["data"]
    patched = await api.patch(f"/api/v1/contacts/{conversation['contact_id']}", json={"name": "Carol B."})
    assert patched.status_code == 200, patched.text
    async with api.db.sessions() as session:
        event = await session.scalar(select(DomainEvent).where(DomainEvent.type == "message.created"))
    assert event is not None and event.payload["contact"]["name"] == "Carol"
    assert event.payload["conversation"]["contact"]["name"] == "Carol"
