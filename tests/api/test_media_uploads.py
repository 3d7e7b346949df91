"""Replies with uploaded media keep their bytes in the vault: the agent's own image or voice is the
reply's `attachment`, served by GET /api/v1/media/{id} with its thumbnail / MP3, ranges and ETag,
exactly as inbound media are. A file reused in several replies is one row and one file."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from gateway.db.engine import Database
from gateway.db.models import Media
from gateway.sealing import SecretBox
from kefu_sim.samples import AMR, PNG
from tests.api.support import SimApi, make_keys
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"


@pytest.fixture
async def vault(db: Database, box: SecretBox, tmp_path: Path) -> AsyncIterator[SimApi]:
    async with harness(db, TEST_SECRET_KEY, start=False, media_dir=tmp_path / "media") as h:
        yield SimApi(h.client, db, box, await make_keys(db), h=h)


async def conversation_with_a_customer(api: SimApi) -> tuple[int, int]:
    """(channel id, conversation id) of a WeCom customer who wrote once."""
    h = api.h
    assert h is not None
    channel_id = await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="send me the picture and a voice note")
    await h.sync_all()
    conversation = (await api.get("/api/v1/conversations")).json()["data"][0]["id"]
    return channel_id, conversation


async def send_upload(api: SimApi, conversation: int, content_type: str, name: str, data: bytes, mime: str) -> Any:
    answer = await api.post(
        f"/api/v1/conversations/{conversation}/messages/upload",
        data={"message": json.dumps({"content_type": content_type})},
        files={"media": (name, data, mime)},
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


async def attachments(api: SimApi, conversation: int) -> list[dict[str, Any]]:
    messages = (await api.get(f"/api/v1/conversations/{conversation}/messages")).json()["data"]
    return [m["attachment"] for m in messages if m["attachment"] is not None and m["message_type"] == "outgoing"]


def seconds_of(mp3: bytes) -> float:
    with av.open(io.BytesIO(mp3)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.rate


async def test_an_image_and_a_voice_reply_are_served_from_the_vault(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    channel_id, conversation = await conversation_with_a_customer(vault)
    sent = await send_upload(vault, conversation, "image", "photo.png", PNG, "image/png")
    assert sent["attachment"]["status"] == "stored"  # the answer of the send shows it already
    uploaded = await vault.post(
        f"/api/v1/channels/{channel_id}/media", data={"type": "voice"}, files={"file": ("note.amr", AMR, "audio/amr")}
    )
    assert uploaded.status_code == 201, uploaded.text
    body = {"content_type": "voice", "media_id": uploaded.json()["media_id"]}
    assert (await vault.post(f"/api/v1/conversations/{conversation}/messages", json=body)).status_code == 202
    await h.runtime.jobs.drain()

    image, voice = await attachments(vault, conversation)
    assert (image["status"], image["kind"], image["mime"]) == ("stored", "image", "image/png")
    assert image["size"] == len(PNG) and image["filename"] == "photo.png" and image["playable_url"] is None
    original = await vault.get(image["url"])
    assert original.status_code == 200 and original.content == PNG
    assert original.headers["content-type"] == "image/png" and original.headers["x-content-type-options"] == "nosniff"
    etag = original.headers["etag"]
    assert (await vault.get(image["url"], headers={"If-None-Match": etag})).status_code == 304
    part = await vault.get(image["url"], headers={"Range": "bytes=0-15", "If-Range": etag})
    assert part.status_code == 206 and part.content == PNG[:16]
    assert part.headers["content-range"] == f"bytes 0-15/{len(PNG)}"
    thumb = await vault.get(image["thumb_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as picture:
        assert picture.format == "JPEG" and max(picture.size) <= 320

    assert (voice["status"], voice["kind"], voice["mime"], voice["size"]) == ("stored", "voice", "audio/amr", len(AMR))
    assert voice["thumb_url"] is None
    mp3 = await vault.get(voice["playable_url"])
    assert mp3.status_code == 200 and mp3.headers["content-type"] == "audio/mpeg"
    assert 1.3 < seconds_of(mp3.content) < 1.8
    assert mp3.headers["etag"] != (await vault.get(voice["url"])).headers["etag"]
    tail = await vault.get(voice["playable_url"], headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == mp3.content[-100:]
    assert (await vault.get(voice["url"], headers={"Range": "bytes=0-5"})).content == AMR[:6]


async def test_an_image_reused_in_replies_is_one_row_and_one_file(vault: SimApi, tmp_path: Path) -> None:
    h = vault.h
    assert h is not None
    channel_id, conversation = await conversation_with_a_customer(vault)
    for _ in range(3):
        await send_upload(vault, conversation, "image", "photo.png", PNG, "image/png")
    again = await vault.post(
        f"/api/v1/channels/{channel_id}/media", data={"type": "image"}, files={"file": ("photo.png", PNG, "image/png")}
    )
    assert again.json()["reused"] is True
    await h.runtime.jobs.drain()
    found = await attachments(vault, conversation)
    assert len(found) == 3 and len({a["media_id"] for a in found}) == 1
    assert all(a["status"] == "stored" for a in found)
    assert len(await h.driver.calls(path="/cgi-bin/media/upload")) == 1
    async with h.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Media)) == 1
    files = sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file())
    assert len(files) == 2 and files[1].endswith(".thumb.jpg")  # the original and its thumbnail, once


async def test_an_upload_cached_without_a_copy_gets_one_when_reused(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    _, conversation = await conversation_with_a_customer(vault)
    await send_upload(vault, conversation, "image", "photo.png", PNG, "image/png")
    async with h.db.session() as session:  # as an upload cached before the vault kept uploads
        await session.execute(update(Media).values(path=None, variants={}))
    (before,) = await attachments(vault, conversation)
    assert before["status"] == "unavailable" and before["thumb_url"] is None
    assert (await vault.get(before["url"])).json()["error"]["code"] == "media_not_found"

    await send_upload(vault, conversation, "image", "photo.png", PNG, "image/png")
    found = await attachments(vault, conversation)
    assert [a["status"] for a in found] == ["stored", "stored"] and found[0]["media_id"] == before["media_id"]
    assert (await vault.get(found[0]["url"])).content == PNG
    assert (await vault.get(found[0]["thumb_url"])).status_code == 200
    assert len(await h.driver.calls(path="/cgi-bin/media/upload")) == 1


async def test_a_refused_upload_keeps_no_file(vault: SimApi, tmp_path: Path) -> None:
    h = vault.h
    assert h is not None
    channel_id, _ = await conversation_with_a_customer(vault)
    refused = await vault.post(  # WeCom takes a voice only as AMR
        f"/api/v1/channels/{channel_id}/media", data={"type": "voice"}, files={"file": ("a.png", PNG, "image/png")}
    )
    assert refused.status_code >= 400
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    async with h.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Media)) == 0
