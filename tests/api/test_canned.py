"""Canned responses over REST: CRUD, prefix search (short code) and content search from 2 characters,
keyset pages, and bad input that answers a stable code and writes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.db.people import AuditEntry, CannedResponse
from tests.api.support import Api


async def counts(api: Api) -> tuple[int, int]:
    async with api.db.sessions() as session:
        return (
            await session.scalar(select(func.count()).select_from(CannedResponse)),
            await session.scalar(select(func.count()).select_from(AuditEntry)),
        )


async def make(api: Api, short_code: str, content: str) -> dict:
    created = await api.post("/api/v1/canned_responses", json={"short_code": short_code, "content": content})
    assert created.status_code == 201, created.text
    return created.json()


async def codes(api: Api, **params: str) -> list[str]:
    answer = await api.get("/api/v1/canned_responses", params=params)
    assert answer.status_code == 200, answer.text
    return [c["short_code"] for c in answer.json()["data"]]


async def test_crud(api: Api) -> None:
    greet = await make(api, "greet", "您好，请问有什么可以帮您？")
    assert greet | {"short_code": "greet", "content": "您好，请问有什么可以帮您？"} == greet
    assert (await api.get(f"/api/v1/canned_responses/{greet['id']}")).json() == greet
    edited = await api.patch(f"/api/v1/canned_responses/{greet['id']}", json={"content": "Hello!"})
    assert edited.status_code == 200 and edited.json()["content"] == "Hello!"
    renamed = await api.patch(f"/api/v1/canned_responses/{greet['id']}", json={"short_code": "hello-1"})
    assert renamed.json()["short_code"] == "hello-1"
    assert (await api.delete(f"/api/v1/canned_responses/{greet['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/canned_responses/{greet['id']}")).status_code == 404
    assert (await api.delete(f"/api/v1/canned_responses/{greet['id']}")).status_code == 404
    async with api.db.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["canned.create", "canned.update", "canned.update", "canned.delete"]
    read_only = await api.post("/api/v1/canned_responses", json={"short_code": "x", "content": "y"}, as_="read")
    assert read_only.status_code == 403


async def test_search_by_prefix_and_content_and_pages(api: Api) -> None:
    await make(api, "Refund", "We refund within 7 days")
    await make(api, "refund_late", "Late refunds take 14 days")
    await make(api, "ship", "Shipping takes 3 days; no refund needed")
    await make(api, "thanks", "谢谢您的耐心")
    await make(api, "r_100", "literal wildcards")
    await make(api, "rx100", "another")
    # order is the database's collation of short_code (SQLite: binary; PostgreSQL: its locale)
    assert sorted(await codes(api)) == sorted(["Refund", "refund_late", "ship", "thanks", "r_100", "rx100"])
    assert sorted(await codes(api, q="R")) == ["Refund", "r_100", "refund_late", "rx100"]  # prefix ignores case
    assert sorted(await codes(api, q="REF")) == ["Refund", "refund_late", "ship"]  # "ship": in its content
    assert sorted(await codes(api, q="refund_")) == ["refund_late"]
    assert await codes(api, q="s") == ["ship"]  # one character: short codes only, not the "s" in every content
    assert await codes(api, q="耐心") == ["thanks"]
    assert await codes(api, q="r_1") == ["r_100"]  # _ is literal, not a wildcard ("rx100" stays out)
    assert await codes(api, q="%") == []
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/canned_responses", params=params)).json()
        seen += [c["short_code"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == await codes(api) and len(seen) == 6


async def test_bad_input_and_duplicates_write_nothing(api: Api) -> None:
    first = await make(api, "greet", "hi")
    before = await counts(api)
    taken = await api.post("/api/v1/canned_responses", json={"short_code": "GREET", "content": "x"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "short_code_taken"
    for body in (
        {"short_code": "", "content": "x"},
        {"short_code": "has space", "content": "x"},
        {"short_code": "/slash", "content": "x"},
        {"short_code": "x" * 65, "content": "x"},
        {"short_code": "ok", "content": ""},
        {"short_code": "ok", "content": "x" * 4001},
        {"short_code": "ok"},
        {"short_code": "ok", "content": "x", "other": 1},
    ):
        answer = await api.post("/api/v1/canned_responses", json=body)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error", body
    other = await make(api, "bye", "bye")
    before = await counts(api)
    clash = await api.patch(f"/api/v1/canned_responses/{other['id']}", json={"short_code": "Greet"})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "short_code_taken"
    bad = await api.patch(f"/api/v1/canned_responses/{other['id']}", json={"content": "y" * 4001})
    assert bad.status_code == 422
    assert await counts(api) == before
    assert (await api.get(f"/api/v1/canned_responses/{other['id']}")).json()["short_code"] == "bye"
    assert (await api.get("/api/v1/canned_responses", params={"limit": "0"})).status_code == 422
    assert (await api.get(f"/api/v1/canned_responses/{first['id']}")).json()["content"] == "hi"
    assert len((await make(api, "x" * 64, "y" * 4000))["short_code"]) == 64
