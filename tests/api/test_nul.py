"""U+0000 in API input is refused with 422 before anything is written (PostgreSQL cannot store it;
before this, q=%00 answered 500 there); a backslash followed by "u0000" is ordinary text."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.db.models import Contact, Job, Message
from tests.api.support import Api, add_channel, say
from tests.api.test_actions import wecom_conversation


async def rows(db, model) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def refused(response) -> bool:
    error = response.json()["error"]
    return response.status_code == 422 and error["code"] == "validation_error" and "NUL" in error["message"]


async def test_a_nul_in_the_query_is_refused(api: Api) -> None:
    channel = await add_channel(api.db, api.box)
    await say(api.db, channel, "kf1", "c1", "hello")
    for path in (
        "/api/v1/conversations?q=%00",
        "/api/v1/conversations?q=hel%00lo",
        "/api/v1/conversations?q=abc%00",
        "/api/v1/contacts?q=%00ab",
    ):
        assert refused(await api.get(path)), path
    ok = await api.get("/api/v1/conversations?q=%2500")  # an encoded "%00": three characters, no NUL
    assert ok.status_code == 200 and ok.json()["data"] == []
    assert (await api.get("/api/v1/conversations?q=%00", as_=None)).status_code == 401  # the key comes first


async def test_a_nul_in_a_json_body_is_refused_and_nothing_is_written(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    messages, jobs = await rows(sim_api.db, Message), await rows(sim_api.db, Job)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    assert refused(await sim_api.post(path, json={"content_type": "text", "content": "a\x00b"}))
    assert refused(
        await sim_api.post(path, content=b'{"content":"a\x00b"}', headers={"Content-Type": "application/json"})
    )
    assert (await rows(sim_api.db, Message), await rows(sim_api.db, Job)) == (messages, jobs)
    async with sim_api.db.sessions() as session:
        contact_id = await session.scalar(select(Contact.id))
    assert refused(await sim_api.patch(f"/api/v1/contacts/{contact_id}", json={"name": "x\x00"}))
    literal = await sim_api.patch(f"/api/v1/contacts/{contact_id}", json={"name": "a \\u0000 b"})
    assert literal.status_code == 200 and literal.json()["name"] == "a \\u0000 b"
    sent = await sim_api.post(path, json={"content_type": "text", "content": "fine"})
    assert sent.status_code == 202  # the body read by the check is still there for the handler
