"""Every list pages one way: `{"data": [...], "next_cursor": ...}`, `?cursor=` and a bounded `?limit=`.

The lists are found in the app's OpenAPI document, not written down here: a new GET answering a list
in another style fails `test_every_list_pages_with_cursor_and_limit` until it pages like the rest (or
is added to NOT_LISTS with a reason). Each list is then walked two rows at a time over real data and
must hand out every row exactly once, in the same order as one big page.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from gateway.db.models import Agent
from gateway.db.repositories.webhooks import create_webhook
from tests.api.support import Api, add_channel, say

# GETs whose body carries an array but are not collections: the labels one conversation or contact
# carries (a small set the label POST/DELETE answer in the same shape)
NOT_LISTS = {
    "/api/v1/conversations/{conversation_id}/labels",
    "/api/v1/contacts/{contact_id}/labels",
}
FEEDS = {"/api/v1/events"}  # no last page: next_cursor is never null, has_more says when to stop
MAX_LIMIT = {"/api/v1/events": 1000}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _answers_a_list(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    """A 200 JSON body that is an array, or an object with an array among its top-level fields."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return False
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return True
    fields = [_resolve(spec, f) for f in schema.get("properties", {}).values()]
    # a single resource may carry arrays among many fields (labels, identities); a list body is
    # the array plus paging
    return any(f.get("type") == "array" for f in fields) and len(fields) <= 4


async def list_paths(api: Api) -> dict[str, dict[str, Any]]:
    spec = (await api.client.get("/schema/openapi.json")).json()
    found = {}
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation and path.startswith("/api/v1/") and _answers_a_list(spec, operation):
            found[path] = operation
    return found


async def seed(api: Api) -> dict[str, int]:
    """At least three rows in every list, so two-row pages need a cursor."""
    channels = [await add_channel(api.db, api.box, name=f"corp{i}", app_id=f"ww{i}") for i in range(3)]
    async with api.db.session() as session:
        webhooks = [
            await create_webhook(
                session, url=f"https://crm.example.com/{i}", events=[], secret_sealed="x", description="", enabled=True
            )
            for i in range(3)
        ]
        session.add_all(Agent(channel_id=channels[0], source_id=f"agent{i}", name=f"A{i}") for i in range(3))
        webhook = webhooks[0].id
    for i in range(3):  # three inboxes, contacts and conversations; events (and deliveries) on the way
        await say(api.db, channels[0], f"kf{i}", f"ext-{i}", f"hello {i}", name=f"Contact {i}")
    for i in range(3):  # one conversation with several messages
        await say(api.db, channels[0], "kf0", "ext-0", f"more {i}")
    for i in range(3):
        assert (
            await api.post("/api/v1/labels", json={"name": f"l{i}", "color": "#112233"}, as_="admin")
        ).status_code == 201
        created = await api.post("/api/v1/canned_responses", json={"short_code": f"c{i}", "content": f"text {i}"})
        assert created.status_code in (200, 201), created.text
        body = {"email": f"op{i}@example.com", "name": f"Op {i}", "password": "a long passphrase 1", "role": "agent"}
        assert (await api.post("/api/v1/operators", json=body, as_="admin")).status_code == 201
    listed = (await api.get("/api/v1/conversations", params={"limit": 200})).json()["data"]
    busiest = next(c["id"] for c in listed if c["last_message"] and c["last_message"]["preview"] == "more 2")
    return {"conversation_id": busiest, "webhook_id": webhook}


def row_key(row: dict[str, Any]) -> Any:
    return row.get("id", row.get("short_code"))


async def walk(api: Api, path: str, limit: int, **start: str) -> tuple[list[Any], int]:
    """Every row of the list, following next_cursor `limit` rows at a time; and the number of pages.
    Pages are concatenated in the order they come (a thread walked backwards comes newest page first)."""
    feed = path in FEEDS
    seen: list[Any] = []
    params: dict[str, Any] = {"limit": limit, **start}
    pages = 0
    while True:
        response = await api.get(path, params=params, as_="admin")
        assert response.status_code == 200, (path, response.text)
        page = response.json()
        assert "data" in page and "next_cursor" in page, (path, sorted(page))
        assert len(page["data"]) <= limit, path
        seen += [row_key(r) for r in page["data"]]
        pages += 1
        assert pages < 500, path
        if feed:
            assert isinstance(page["next_cursor"], str), path
            if not page["has_more"]:
                return seen, pages
        elif page["next_cursor"] is None:
            return seen, pages
        else:
            assert page["data"], path  # a page that promises more is never empty
        params = {"limit": limit, "cursor": page["next_cursor"]}


async def test_every_list_pages_with_cursor_and_limit(api: Api) -> None:
    found = await list_paths(api)
    # the finder itself works: it sees the lists that existed when this test was written
    assert {"/api/v1/conversations", "/api/v1/contacts", "/api/v1/events", "/api/v1/labels"} <= set(found)
    ids = await seed(api)
    spec = (await api.client.get("/schema/openapi.json")).json()
    walked = []
    for template, operation in sorted(found.items()):
        if template in NOT_LISTS:
            continue
        params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"cursor", "limit"} <= set(params), f"{template} does not take ?cursor= and ?limit="
        body = _resolve(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
        assert {"data", "next_cursor"} <= set(body["properties"]), f"{template} does not answer data + next_cursor"
        path = template.format(**ids)
        everything = (await api.get(path, params={"limit": MAX_LIMIT.get(template, 200)}, as_="admin")).json()
        assert everything["next_cursor"] is None or template in FEEDS, template
        assert len(everything["data"]) >= 3, f"seed more rows for {template}"
        one_page = [row_key(r) for r in everything["data"]]
        rows, pages = await walk(api, path, limit=2)
        assert len(set(rows)) == len(rows) and pages >= 2, template
        if "direction" in params:  # the thread: older pages by default, each oldest → newest
            assert sorted(rows) == one_page, template
            rows, pages = await walk(api, path, limit=2, direction="newer")
        assert rows == one_page, template  # every row once, in the list's order
        for bad in (0, MAX_LIMIT.get(template, 200) + 1):
            refused = await api.get(path, params={"limit": bad}, as_="admin")
            assert refused.status_code == 422 and refused.json()["error"]["field"] == "limit", (template, bad)
        walked.append(template)
    assert len(walked) >= 13, walked


async def test_a_cursor_from_another_list_is_refused(api: Api) -> None:
    ids = await seed(api)
    found = sorted(set(await list_paths(api)) - NOT_LISTS)
    cursors = {}
    for template in found:
        page = (await api.get(template.format(**ids), params={"limit": 1}, as_="admin")).json()
        cursors[template] = page["next_cursor"]
    for template in found:
        for other, cursor in cursors.items():
            if other == template or cursor is None:
                continue
            refused = await api.get(template.format(**ids), params={"cursor": cursor}, as_="admin")
            assert refused.status_code == 422, (template, other, refused.text)
            assert refused.json()["error"] == {**refused.json()["error"], "code": "validation_error", "field": "cursor"}
        for junk in JUNK:
            refused = await api.get(template.format(**ids), params={"cursor": junk}, as_="admin")
            assert refused.status_code == 422 and refused.json()["error"]["field"] == "cursor", (template, junk)


def _crafted(*value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# not base64, not JSON, not a list, and keys of the right list the database could not take
JUNK = [
    "x",
    "bm9wZQ",
    _crafted(),
    _crafted("contacts", "z"),
    _crafted("contacts", 2**64),
    _crafted("contacts", -1),
    _crafted("contacts", True),
    _crafted("canned_responses", "a\x00b"),
    _crafted("labels", "a\x00", 1),
    _crafted("conversations:last_activity", "yesterday", 1),
    _crafted("conversations:last_activity", "2026-01-01T00:00:00", 1),  # no zone
]


async def test_a_conversation_cursor_keeps_its_sort(api: Api) -> None:
    channel = await add_channel(api.db, api.box)
    for i in range(3):
        await say(api.db, channel, "kf1", f"ext-{i}")
    by_activity = (await api.get("/api/v1/conversations?limit=1")).json()["next_cursor"]
    by_waiting = (await api.get("/api/v1/conversations?limit=1&sort=waiting")).json()["next_cursor"]
    assert by_activity and by_waiting
    for query in (f"sort=waiting&cursor={by_activity}", f"cursor={by_waiting}"):
        refused = await api.get(f"/api/v1/conversations?{query}")
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "cursor", query


async def test_retired_paging_parameters_are_422_not_ignored(api: Api) -> None:
    """A client still sending after= / before= must not take a first page for the page it asked for."""
    ids = await seed(api)
    for path, name in (
        ("/api/v1/contacts", "after"),
        ("/api/v1/canned_responses", "after"),
        ("/api/v1/webhooks/{webhook_id}/deliveries", "before"),
        ("/api/v1/conversations/{conversation_id}/messages", "before"),
        ("/api/v1/conversations/{conversation_id}/messages", "after"),
    ):
        refused = await api.get(path.format(**ids), params={name: "1"}, as_="admin")
        assert refused.status_code == 422, (path, name, refused.text)
        assert refused.json()["error"] == {**refused.json()["error"], "code": "validation_error", "field": name}
    spec = (await api.client.get("/schema/openapi.json")).json()
    documented = {p["name"] for p in spec["paths"]["/api/v1/contacts"]["get"]["parameters"]}
    assert "after" not in documented and "cursor" in documented
