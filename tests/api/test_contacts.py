"""/api/v1/contacts: search, keyset pages, identities, CRM edits (external_id unique), manual merge."""

from __future__ import annotations

from gateway.db.repositories.feed import events_after
from tests.api.support import Api, add_channel, say


async def seed(api: Api) -> tuple[int, int]:
    """A WeCom and an MP channel; Alice writes on both (one contact through unionid), Bob on WeCom."""
    wecom = await add_channel(api.db, api.box, kind="wecom", name="corp", app_id="ww1")
    mp = await add_channel(api.db, api.box, kind="mp", name="oa", app_id="wx1")
    await say(api.db, wecom, "kf1", "ext-alice", "hi", name="Alice Zhang", unionid="u-alice")
    await say(api.db, mp, "wx1", "openid-alice", "hello", name="Alice", unionid="u-alice")
    await say(api.db, wecom, "kf1", "ext-bob", "yo", name="Bob Li")
    return wecom, mp


async def contact_id(api: Api, source_id: str) -> int:
    data = (await api.get(f"/api/v1/contacts?q={source_id}")).json()["data"]
    assert len(data) == 1, data
    return data[0]["id"]


async def test_list_and_search(api: Api) -> None:
    wecom, mp = await seed(api)
    listed = (await api.get("/api/v1/contacts")).json()
    assert [c["name"] for c in listed["data"]] == ["Alice Zhang", "Bob Li"] and listed["next_cursor"] is None
    alice = listed["data"][0]
    assert {(i["channel_id"], i["source_id"]) for i in alice["identities"]} == {
        (wecom, "ext-alice"),
        (mp, "openid-alice"),
    }
    assert alice["unionid"] == "u-alice"
    # by name substring (case-insensitive), by identity source id, by external id
    assert [c["name"] for c in (await api.get("/api/v1/contacts?q=bob")).json()["data"]] == ["Bob Li"]
    assert await contact_id(api, "openid-alice") == alice["id"]
    await api.patch(f"/api/v1/contacts/{alice['id']}", json={"external_id": "crm-42"})
    assert await contact_id(api, "crm-42") == alice["id"]
    assert (await api.get("/api/v1/contacts?q=nobody")).json()["data"] == []


async def test_keyset_pages_return_every_contact_once(api: Api) -> None:
    channel = await add_channel(api.db, api.box)
    for i in range(11):
        await say(api.db, channel, "kf1", f"ext-{i}", name=f"c{i:02d}")
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = (await api.get("/api/v1/contacts", params={"limit": 4, **({"cursor": cursor} if cursor else {})})).json()
        seen += [c["id"] for c in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 11 and len(set(seen)) == 11 and seen == sorted(seen)
    # a page that ends exactly at the last row says so
    exact = (await api.get("/api/v1/contacts?limit=11")).json()
    assert len(exact["data"]) == 11 and exact["next_cursor"] is None


async def test_bad_parameters_are_422(api: Api) -> None:
    canned = (await api.post("/api/v1/canned_responses", json={"short_code": "x", "content": "x"})).json()
    await api.post("/api/v1/canned_responses", json={"short_code": "y", "content": "y"})
    foreign = (await api.get("/api/v1/canned_responses?limit=1")).json()["next_cursor"]  # another list's cursor
    assert canned["short_code"] == "x" and foreign
    for query, field in (
        ("limit=201", "limit"),
        ("limit=0", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=", "cursor"),
        (f"cursor={foreign}", "cursor"),
    ):
        response = await api.get(f"/api/v1/contacts?{query}")
        assert response.status_code == 422, query
        assert response.json()["error"] == {**response.json()["error"], "code": "validation_error", "field": field}


async def test_get_with_identities_and_404(api: Api) -> None:
    await seed(api)
    alice = await contact_id(api, "ext-alice")
    body = (await api.get(f"/api/v1/contacts/{alice}")).json()
    assert body["name"] == "Alice Zhang" and len(body["identities"]) == 2
    assert {i["profile"].get("name") for i in body["identities"]} == {"Alice Zhang", "Alice"}
    missing = await api.get("/api/v1/contacts/99999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_patch_crm_fields(api: Api) -> None:
    await seed(api)
    alice = await contact_id(api, "ext-alice")
    bob = await contact_id(api, "ext-bob")
    path = f"/api/v1/contacts/{alice}"
    response = await api.patch(
        path, json={"name": "Alice Z.", "external_id": "crm-1", "attributes": {"tier": "gold", "city": "Shanghai"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["external_id"], body["attributes"]) == (
        "Alice Z.",
        "crm-1",
        {"tier": "gold", "city": "Shanghai"},
    )
    # attributes merge; null removes a key; fields not given stay
    body = (await api.patch(path, json={"attributes": {"city": None, "score": 7}})).json()
    assert body["attributes"] == {"tier": "gold", "score": 7} and body["name"] == "Alice Z."
    # external_id is unique
    taken = await api.patch(f"/api/v1/contacts/{bob}", json={"external_id": "crm-1"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
    assert taken.json()["error"]["field"] == "external_id"
    # null clears it, and then it is free
    assert (await api.patch(path, json={"external_id": None})).json()["external_id"] is None
    assert (await api.patch(f"/api/v1/contacts/{bob}", json={"external_id": "crm-1"})).status_code == 200
    async with api.db.sessions() as session:
        updates = [e for e in await events_after(session, 0, limit=1000) if e.type == "contact.updated"]
    assert [e.payload["changes"] for e in updates if e.contact_id == alice][:2] == [
        {"name": "Alice Z.", "external_id": "crm-1", "attributes": {"tier": "gold", "city": "Shanghai"}},
        {"attributes": {"tier": "gold", "score": 7}},
    ]


async def test_patch_validation(api: Api) -> None:
    await seed(api)
    alice = await contact_id(api, "ext-alice")
    for body in ({"external_id": ""}, {"attributes": []}, {"name": 5}, {"colour": "red"}):
        response = await api.patch(f"/api/v1/contacts/{alice}", json=body)
        assert response.status_code == 422, body
    assert (await api.patch("/api/v1/contacts/99999", json={"name": "x"})).status_code == 404
    assert (await api.patch(f"/api/v1/contacts/{alice}", as_="read", json={"name": "x"})).status_code == 403


async def test_merge(api: Api) -> None:
    wecom, _ = await seed(api)
    alice = await contact_id(api, "ext-alice")
    bob = await contact_id(api, "ext-bob")
    await api.patch(f"/api/v1/contacts/{bob}", json={"external_id": "crm-bob", "attributes": {"vip": True}})
    bob_conversations = (await api.get(f"/api/v1/conversations?contact_id={bob}")).json()["data"]
    assert len(bob_conversations) == 1

    response = await api.post(f"/api/v1/contacts/{bob}/merge", json={"into_contact_id": alice})
    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] == alice
    assert {i["source_id"] for i in merged["identities"]} == {"ext-alice", "openid-alice", "ext-bob"}
    assert merged["external_id"] == "crm-bob" and merged["attributes"] == {"vip": True}
    # bob's conversation now belongs to alice; bob stays readable, pointing at alice, but is not listed
    assert (await api.get(f"/api/v1/conversations/{bob_conversations[0]['id']}")).json()["contact_id"] == alice
    assert (await api.get(f"/api/v1/contacts/{bob}")).json()["merged_into_id"] == alice
    assert [c["id"] for c in (await api.get("/api/v1/contacts")).json()["data"]] == [alice]
    async with api.db.sessions() as session:
        events = [e for e in await events_after(session, 0, limit=1000) if e.type == "contact.merged"]
    assert [e.payload for e in events] == [{"contact_id": alice, "merged_contact_id": bob, "reason": "manual"}]
    # a message from bob's identity still lands on alice
    await say(api.db, wecom, "kf1", "ext-bob", "again")
    assert (await api.get(f"/api/v1/conversations?contact_id={alice}")).json()["data"]

    # the merged contact can be neither merged nor edited again
    again = await api.post(f"/api/v1/contacts/{bob}/merge", json={"into_contact_id": alice})
    assert again.status_code == 422
    assert (await api.patch(f"/api/v1/contacts/{bob}", json={"name": "x"})).status_code == 409


async def test_merge_errors(api: Api) -> None:
    await seed(api)
    alice = await contact_id(api, "ext-alice")
    itself = await api.post(f"/api/v1/contacts/{alice}/merge", json={"into_contact_id": alice})
    assert itself.status_code == 422 and itself.json()["error"]["field"] == "into_contact_id"
    assert (await api.post(f"/api/v1/contacts/{alice}/merge", json={"into_contact_id": 99999})).status_code == 404
    assert (await api.post("/api/v1/contacts/99999/merge", json={"into_contact_id": alice})).status_code == 404
    assert (await api.post(f"/api/v1/contacts/{alice}/merge", json={})).status_code == 422
