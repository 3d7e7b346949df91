"""One Idempotency-Key contract on both databases (README): concurrent repeats wait for the first
request and get its answer; a different body is 422; a failed first request leaves the key unused."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from gateway.db.models import IdempotencyKey, Message
from tests.api.test_actions import wecom_conversation


async def outgoing(db) -> list[Message]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Message).where(Message.message_type == "outgoing")))


async def test_fifty_concurrent_requests_with_one_key_get_one_message_and_one_answer(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    body = {"content_type": "text", "content": "once"}
    answers = await asyncio.gather(
        *(sim_api.post(path, json=body, headers={"Idempotency-Key": "k-50"}) for _ in range(50))
    )
    assert {(a.status_code, a.text) for a in answers} == {(202, answers[0].text)}
    assert [m.content for m in await outgoing(sim_api.db)] == ["once"]


async def test_concurrent_different_bodies_with_one_key(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    answers = await asyncio.gather(
        *(sim_api.post(path, json={"content": f"v{n % 2}"}, headers={"Idempotency-Key": "k-mixed"}) for n in range(10))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * 5 + [422] * 5
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 422} == {"idempotency_key_reused"}
    assert len(await outgoing(sim_api.db)) == 1


async def test_a_refused_first_request_does_not_burn_the_key(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    bad = await sim_api.post(path, json={"content_type": "hologram"}, headers={"Idempotency-Key": "k-retry"})
    assert bad.status_code == 422
    missing = await sim_api.post(
        "/api/v1/conversations/999999/messages", json={"content": "x"}, headers={"Idempotency-Key": "k-retry"}
    )
    assert missing.status_code == 404
    async with sim_api.db.sessions() as session:
        assert await session.scalar(select(IdempotencyKey)) is None
    good = await sim_api.post(path, json={"content": "fixed"}, headers={"Idempotency-Key": "k-retry"})
    assert good.status_code == 202
    again = await sim_api.post(path, json={"content": "fixed"}, headers={"Idempotency-Key": "k-retry"})
    assert (again.status_code, again.json()) == (202, good.json())
