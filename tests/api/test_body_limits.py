"""Oversized bodies answer 413 `payload_too_large` and write nothing: uploads past 20 MB, JSON past GATEWAY_MAX_BODY."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.api.media import MAX_UPLOAD
from gateway.db.models import Media, Message
from tests.api.test_actions import wecom_conversation

BIG = b"\0" * (21 * 1024 * 1024)


async def counts(db) -> tuple[int, int]:
    async with db.sessions() as session:
        media = await session.scalar(select(func.count()).select_from(Media))
        messages = await session.scalar(select(func.count()).select_from(Message))
    return media, messages


def too_large(response) -> bool:
    return response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


async def test_21_mb_upload_is_413_and_nothing_is_written(sim_api) -> None:
    h = sim_api.h
    conversation_id, _, _ = await wecom_conversation(sim_api)
    channel_id = (await sim_api.get("/api/v1/channels", as_="admin")).json()["data"][0]["id"]
    before = await counts(h.db)
    media = await sim_api.post(
        f"/api/v1/channels/{channel_id}/media", data={"type": "file"}, files={"file": ("big.bin", BIG, "text/plain")}
    )
    assert too_large(media), media.text
    upload = await sim_api.post(
        f"/api/v1/conversations/{conversation_id}/messages/upload",
        data={"message": '{"content_type": "file"}'},
        files={"media": ("big.bin", BIG, "application/octet-stream")},
    )
    assert too_large(upload), upload.text
    assert await counts(h.db) == before
    assert await h.driver.calls(path="/cgi-bin/media/upload") == []
    # the limit is the platform's largest file, not less
    assert MAX_UPLOAD == 20 * 1024 * 1024


async def test_json_body_past_the_limit_is_413(sim_api) -> None:
    conversation_id, _, _ = await wecom_conversation(sim_api)
    before = await counts(sim_api.h.db)
    response = await sim_api.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"content": "x" * (2 * 1024 * 1024)}
    )
    assert too_large(response), response.text
    assert await counts(sim_api.h.db) == before
