"""Labels over REST: the catalogue (admin), labels on conversations and contacts, their events,
and bad input that answers 4xx with a stable code and writes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from gateway.db.models import Channel, Conversation, DomainEvent
from gateway.db.people import AuditEntry, ContactLabel, ConversationLabel, Label
from tests.api.support import Api, add_channel, say

TABLES = (Label, ConversationLabel, ContactLabel, DomainEvent, AuditEntry)


async def counts(api: Api) -> dict[str, int]:
    async with api.db.sessions() as session:
        return {t.__tablename__: await session.scalar(select(func.count()).select_from(t)) for t in TABLES}


async def conversation(api: Api, contact: str = "ext-alice") -> tuple[int, int]:
    """A conversation of `contact` on the one WeCom channel (made on first use): (id, contact id)."""
    async with api.db.sessions() as session:
        channel = await session.scalar(select(Channel.id))
    if channel is None:
        channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", contact, "hello", name=contact)
    async with api.db.sessions() as session:
        row = await session.scalar(select(Conversation).order_by(Conversation.id.desc()))
    return row.id, row.contact_id


async def label(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    created = await api.post("/api/v1/labels", json={"name": name, **fields}, as_="admin")
    assert created.status_code == 201, created.text
    return created.json()


async def events(api: Api, type_: str) -> list[dict[str, Any]]:
    data = (await api.get("/api/v1/events", params={"types": type_, "limit": 500})).json()["data"]
    return [e["data"] for e in data]


async def test_catalogue_crud_needs_admin_and_ignores_case(api: Api) -> None:
    vip = await label(api, "VIP", color="#FF0000", description="pays a lot")
    assert vip | {"name": "VIP", "color": "#ff0000", "description": "pays a lot"} == vip
    assert (await api.post("/api/v1/labels", json={"name": "x"}, as_="write")).status_code == 403
    before = await counts(api)
    taken = await api.post("/api/v1/labels", json={"name": "vip"}, as_="admin")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "label_exists"
    for bad in ({"name": ""}, {"name": "x" * 65}, {"name": "ok", "color": "red"}, {"name": "ok", "color": "#12345g"}):
        answer = await api.post("/api/v1/labels", json=bad, as_="admin")
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error", bad
    long_description = await api.post("/api/v1/labels", json={"name": "ok", "description": "d" * 257}, as_="admin")
    assert long_description.status_code == 422
    assert await counts(api) == before
    billing = await label(api, "billing")
    assert [x["name"] for x in (await api.get("/api/v1/labels")).json()["data"]] == ["VIP", "billing"]
    assert (await api.get(f"/api/v1/labels/{vip['id']}")).json()["name"] == "VIP"
    assert (await api.get("/api/v1/labels/999999")).status_code == 404
    change = {"name": "Billing", "color": "#00ff00"}
    renamed = await api.patch(f"/api/v1/labels/{billing['id']}", json=change, as_="admin")
    assert renamed.status_code == 200 and renamed.json() | {"name": "Billing", "color": "#00ff00"} == renamed.json()
    clash = await api.patch(f"/api/v1/labels/{billing['id']}", json={"name": "vIp"}, as_="admin")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "label_exists"
    assert (await api.patch(f"/api/v1/labels/{vip['id']}", json={"name": "z"}, as_="write")).status_code == 403
    assert (await api.delete(f"/api/v1/labels/{vip['id']}", as_="write")).status_code == 403
    assert (await api.delete(f"/api/v1/labels/{vip['id']}", as_="admin")).status_code == 204
    assert (await api.get(f"/api/v1/labels/{vip['id']}")).status_code == 404
    async with api.db.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["label.create", "label.create", "label.update", "label.delete"]


async def test_conversation_labels_add_remove_events_and_detail(api: Api) -> None:
    conversation_id, _ = await conversation(api)
    await label(api, "vip")
    await label(api, "billing")
    path = f"/api/v1/conversations/{conversation_id}/labels"
    added = await api.post(path, json={"labels": ["VIP", "billing"]})
    assert added.status_code == 200 and added.json() == {"labels": ["billing", "vip"]}
    again = await api.post(path, json={"labels": ["vip"]})  # a no-op: no row, no event
    assert again.json() == {"labels": ["billing", "vip"]}
    assert (await api.get(path)).json() == {"labels": ["billing", "vip"]}
    detail = (await api.get(f"/api/v1/conversations/{conversation_id}")).json()
    assert detail["labels"] == ["billing", "vip"]
    removed = await api.delete(f"{path}/Billing")
    assert removed.status_code == 200 and removed.json() == {"labels": ["vip"]}
    assert (await api.delete(f"{path}/billing")).json() == {"labels": ["vip"]}  # not carried: no-op
    updates = [e for e in await events(api, "conversation.updated") if "labels" in e["changes"]]
    assert [e["changes"]["labels"] for e in updates] == [["billing", "vip"], ["vip"]]
    actor = updates[0]["actor"]
    assert actor["type"] == "api_key" and actor["name"] == "test-write"
    assert updates[0] | {"conversation_id": conversation_id, "status": "pending"} == updates[0]
    assert (await api.post(path, json={"labels": ["vip"]}, as_="read")).status_code == 403


async def test_unknown_label_absent_conversation_and_bad_bodies_write_nothing(api: Api) -> None:
    conversation_id, _ = await conversation(api)
    await label(api, "vip")
    path = f"/api/v1/conversations/{conversation_id}/labels"
    before = await counts(api)
    unknown = await api.post(path, json={"labels": ["vip", "nope"]})
    assert unknown.status_code == 422
    assert unknown.json()["error"] | {"code": "unknown_label", "label": "nope"} == unknown.json()["error"]
    assert (await api.delete(f"{path}/nope")).json()["error"]["code"] == "unknown_label"
    for body in ({"labels": []}, {"labels": "vip"}, {}, {"labels": ["vip"], "extra": 1}):
        assert (await api.post(path, json=body)).status_code == 422, body
    missing = await api.post("/api/v1/conversations/999999/labels", json={"labels": ["vip"]})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await api.get("/api/v1/conversations/999999/labels")).status_code == 404
    huge = await api.post(f"/api/v1/conversations/{2**70}/labels", json={"labels": ["vip"]})
    assert huge.status_code == 404
    assert (await api.post("/api/v1/contacts/999999/labels", json={"labels": ["vip"]})).status_code == 404
    assert await counts(api) == before
    assert (await api.get(path)).json() == {"labels": []}


async def test_contact_labels_show_in_the_contact_and_follow_a_merge(api: Api) -> None:
    _, alice = await conversation(api)
    _, bob = await conversation(api, "ext-bob")
    await label(api, "vip")
    await label(api, "lead")
    added = await api.post(f"/api/v1/contacts/{alice}/labels", json={"labels": ["vip"]})
    assert added.status_code == 200 and added.json() == {"labels": ["vip"]}
    await api.post(f"/api/v1/contacts/{bob}/labels", json={"labels": ["lead", "vip"]})
    assert (await api.get(f"/api/v1/contacts/{alice}")).json()["labels"] == ["vip"]
    listed = {c["id"]: c["labels"] for c in (await api.get("/api/v1/contacts")).json()["data"]}
    assert listed == {alice: ["vip"], bob: ["lead", "vip"]}
    contact_events = [e for e in await events(api, "contact.updated") if "labels" in e["changes"]]
    assert [(e["contact_id"], e["changes"]["labels"]) for e in contact_events] == [
        (alice, ["vip"]),
        (bob, ["lead", "vip"]),
    ]
    assert all(e["actor"]["type"] == "api_key" for e in contact_events)
    merged = await api.post(f"/api/v1/contacts/{bob}/merge", json={"into_contact_id": alice})
    assert merged.status_code == 200 and merged.json()["labels"] == ["lead", "vip"]
    refused = await api.post(f"/api/v1/contacts/{bob}/labels", json={"labels": ["vip"]})
    assert refused.status_code == 409
    assert (await api.get(f"/api/v1/contacts/{bob}/labels")).json() == {"labels": []}
    assert (await api.delete(f"/api/v1/contacts/{alice}/labels/LEAD")).json() == {"labels": ["vip"]}


async def test_deleting_or_renaming_a_label_announces_what_carried_it(api: Api) -> None:
    conversation_id, contact = await conversation(api)
    vip = await label(api, "vip")
    await api.post(f"/api/v1/conversations/{conversation_id}/labels", json={"labels": ["vip"]})
    await api.post(f"/api/v1/contacts/{contact}/labels", json={"labels": ["vip"]})
    mark = (await api.get("/api/v1/events")).json()["next_cursor"]
    await api.patch(f"/api/v1/labels/{vip['id']}", json={"name": "gold"}, as_="admin")
    assert (await api.get(f"/api/v1/conversations/{conversation_id}/labels")).json() == {"labels": ["gold"]}
    assert (await api.delete(f"/api/v1/labels/{vip['id']}", as_="admin")).status_code == 204
    assert (await api.get(f"/api/v1/conversations/{conversation_id}/labels")).json() == {"labels": []}
    assert (await api.get(f"/api/v1/contacts/{contact}")).json()["labels"] == []
    later = (await api.get("/api/v1/events", params={"cursor": mark})).json()["data"]
    assert [(e["type"], e["data"]["changes"]["labels"], e["data"]["actor"]["name"]) for e in later] == [
        ("conversation.updated", ["gold"], "test-admin"),
        ("contact.updated", ["gold"], "test-admin"),
        ("conversation.updated", [], "test-admin"),
        ("contact.updated", [], "test-admin"),
    ]
    async with api.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationLabel)) == 0
