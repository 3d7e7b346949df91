"""GET /api/v1/media/{id}: media a customer sent through the simulator, downloaded by the vault job,
served to keys with `read`: voice as MP3 a decoder plays, images with thumbnails, byte ranges,
stable errors for media that is not there (yet)."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from sqlalchemy import event, select, update

from gateway.db.engine import Database
from gateway.db.models import Media
from gateway.sealing import SecretBox
from kefu_sim.samples import AMR, JPEG, MP4, PNG, SILK
from tests.api.support import SimApi, make_keys
from tests.conftest import TEST_SECRET_KEY
from tests.harness import Harness, harness

CORP, APPID = "wwcorp0001", "wxapp0000000001"


@pytest.fixture
async def vault(db: Database, box: SecretBox, tmp_path: Path) -> AsyncIterator[SimApi]:
    """sim_api with the vault in a directory of the test's own."""
    async with harness(db, TEST_SECRET_KEY, start=False, media_dir=tmp_path / "media") as h:
        yield SimApi(h.client, db, box, await make_keys(db), h=h)


async def wecom_send(h: Harness, msgtype: str, payload: dict[str, Any] | None = None, **channel: Any) -> None:
    """A WeCom customer sends one `msgtype` message, synced in (the vault job not yet run)."""
    await h.wecom_channel(**channel)
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, msgtype, payload or {})
    await h.sync_all()


async def attachment(api: SimApi) -> dict[str, Any]:
    """The attachment of the only media message, through the messages list."""
    conversations = (await api.get("/api/v1/conversations")).json()["data"]
    messages = (await api.get(f"/api/v1/conversations/{conversations[0]['id']}/messages")).json()["data"]
    (found,) = [m["attachment"] for m in messages if m["attachment"] is not None]
    return found


def decoded_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate


async def test_voice_is_pending_then_served_as_mp3_and_as_the_original_amr(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "voice")
    pending = await attachment(vault)
    assert pending["status"] == "pending" and pending["kind"] == "voice" and pending["playable_url"] is None
    answer = await vault.get(pending["url"])
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "media_pending"

    await h.runtime.jobs.drain()
    stored = await attachment(vault)
    assert stored["media_id"] == pending["media_id"] and stored["status"] == "stored"
    assert stored["mime"] == "audio/amr" and stored["size"] == len(AMR) and stored["filename"] == "voice.amr"
    assert stored["playable_url"] == f"/api/v1/media/{stored['media_id']}?variant=playable"
    assert stored["thumb_url"] is None

    mp3 = await vault.get(stored["playable_url"])
    assert mp3.status_code == 200 and mp3.headers["content-type"] == "audio/mpeg"
    assert 1.3 < decoded_seconds(mp3.content) < 1.8  # the simulator's clip is 1.5 s
    assert mp3.headers["content-disposition"].startswith('inline; filename="voice.mp3"')
    assert mp3.headers["accept-ranges"] == "bytes" and int(mp3.headers["content-length"]) == len(mp3.content)

    original = await vault.get(stored["url"])
    assert original.status_code == 200 and original.content == AMR
    assert original.headers["content-type"].startswith("audio/amr")
    assert original.headers["etag"] != mp3.headers["etag"] and original.headers["last-modified"]
    assert original.headers["x-content-type-options"] == "nosniff"
    again = await vault.get(stored["url"], headers={"If-None-Match": original.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_silk_voice_is_decoded_to_mp3(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "voice", voice_format=1)  # the channel asks sync_msg for SILK
    await h.runtime.jobs.drain()
    found = await attachment(vault)
    assert found["mime"] == "audio/silk"
    assert (await vault.get(found["url"])).content == SILK
    mp3 = await vault.get(found["playable_url"])
    assert mp3.headers["content-type"] == "audio/mpeg" and 1.3 < decoded_seconds(mp3.content) < 1.8


async def test_mp_voice_and_image_from_a_follower(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await h.mp_channel(appid=APPID)
    openid = (await h.driver.mp_add_follower(APPID, nickname="Ann"))["openid"]
    await h.driver.mp_user_message(APPID, openid, "voice")
    await h.driver.mp_user_message(APPID, openid, "image")
    await h.driver.flush_callbacks()
    await h.runtime.jobs.drain()
    conversations = (await vault.get("/api/v1/conversations")).json()["data"]
    messages = (await vault.get(f"/api/v1/conversations/{conversations[0]['id']}/messages")).json()["data"]
    voice, image = (m["attachment"] for m in messages if m["attachment"] is not None)
    assert (voice["kind"], voice["mime"], image["kind"], image["mime"]) == ("voice", "audio/amr", "image", "image/jpeg")
    assert 1.3 < decoded_seconds((await vault.get(voice["playable_url"])).content) < 1.8
    assert (await vault.get(image["url"])).content == JPEG
    with Image.open(io.BytesIO((await vault.get(image["thumb_url"])).content)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (320, 240)


async def test_an_image_gets_a_thumbnail_of_at_most_320_px(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "image")
    await h.runtime.jobs.drain()
    found = await attachment(vault)
    assert found["mime"] == "image/png" and found["playable_url"] is None
    original = await vault.get(found["url"])
    assert original.content == PNG and original.headers["content-type"] == "image/png"
    thumb = await vault.get(found["thumb_url"])
    assert thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "JPEG" and image.size == (320, 240)  # 480×360 scaled, aspect kept
    assert (await vault.get(f"{found['url']}?variant=playable")).json()["error"]["code"] == "media_not_found"


async def test_video_ranges(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "video")
    await h.runtime.jobs.drain()
    url = (await attachment(vault))["url"]
    size = len(MP4)

    async def fetch(range_: str, **headers: str) -> Any:
        return await vault.get(url, headers={"Range": range_, **headers})

    first = await fetch("bytes=0-99")
    assert first.status_code == 206 and first.content == MP4[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{size}" and first.headers["content-length"] == "100"
    assert first.headers["content-type"] == "video/mp4"
    open_ended = await fetch("bytes=1000-")
    assert open_ended.status_code == 206 and open_ended.content == MP4[1000:]
    assert open_ended.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    suffix = await fetch("bytes=-50")
    assert suffix.status_code == 206 and suffix.content == MP4[-50:]
    past_end = await fetch(f"bytes=10-{size + 500}")
    assert past_end.status_code == 206 and past_end.content == MP4[10:]
    whole_suffix = await fetch(f"bytes=-{size + 10}")
    assert whole_suffix.status_code == 206 and whole_suffix.content == MP4
    for unsatisfiable in (f"bytes={size}-", f"bytes={size + 7}-{size + 9}", "bytes=-0"):
        refused = await fetch(unsatisfiable)
        assert refused.status_code == 416, unsatisfiable
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert refused.json()["error"]["code"] == "range_not_satisfiable"
    for ignored in ("bytes=5-2", "bytes=0-1,5-9", "items=0-5", "bytes=x-y"):
        whole = await fetch(ignored)
        assert whole.status_code == 200 and whole.content == MP4, ignored
    etag = first.headers["etag"]
    assert (await fetch("bytes=0-9", **{"If-Range": etag})).status_code == 206
    stale = await fetch("bytes=0-9", **{"If-Range": '"an-older-version"'})
    assert stale.status_code == 200 and stale.content == MP4


async def test_keys_and_unknown_media(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "image")
    await h.runtime.jobs.drain()
    url = (await attachment(vault))["url"]
    unauthenticated = await vault.get(url, as_=None)
    assert unauthenticated.status_code == 401
    for scope in ("read", "write", "admin"):
        assert (await vault.get(url, as_=scope)).status_code == 200
    bogus = await vault.client.get(url, headers={"Authorization": "Bearer kgw_not_a_key"})
    assert bogus.status_code == 401
    missing = await vault.get("/api/v1/media/999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "media_not_found"
    assert (await vault.get(f"{url}?variant=nonsense")).status_code in (400, 422)


async def test_failed_and_expired_downloads_answer_stable_codes(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await h.driver.add_fault("/cgi-bin/media/get", "errcode", 40058)  # the platform refuses for good
    await wecom_send(h, "file")
    await h.runtime.jobs.drain()
    found = await attachment(vault)
    assert found["status"] == "failed"
    failed = await vault.get(found["url"])
    assert failed.status_code == 409 and failed.json()["error"]["code"] == "media_failed"

    async with h.db.session() as session:  # the same refusal, as the platform says it after 3 days
        await session.execute(update(Media).values(status="expired"))
    expired = await vault.get(found["url"])
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "media_expired"


async def test_media_the_platform_no_longer_holds_is_expired(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "image")
    await h.driver.advance(3 * 86400 + 60)  # the vault job runs after the media's 3 days
    await h.runtime.jobs.drain()
    found = await attachment(vault)
    assert found["status"] == "expired"
    assert (await vault.get(found["url"])).json()["error"]["code"] == "media_expired"


async def test_a_voice_that_does_not_decode_keeps_its_original(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    broken = b"#!AMR\n" + b"\x00" * 64
    await wecom_send(h, "voice", {"content_b64": base64.b64encode(broken).decode()})
    await h.runtime.jobs.drain()
    found = await attachment(vault)
    assert found["status"] == "stored" and found["playable_url"] is None
    assert (await vault.get(found["url"])).content == broken
    refused = await vault.get(f"{found['url']}?variant=playable")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "variant_failed"
    async with h.db.sessions() as session:
        media = await session.scalar(select(Media))
    assert media is not None and "transcode failed" in media.variants["playable"]["error"]


async def test_chinese_file_name_and_downloads(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "file", {"filename": "报价单 v2.txt", "content_b64": base64.b64encode(b"price").decode()})
    await h.runtime.jobs.drain()
    found = await attachment(vault)
    assert found["filename"] == "报价单 v2.txt" and found["thumb_url"] is None
    served = await vault.get(found["url"])
    disposition = served.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')  # text is never shown in place
    assert "filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%20v2.txt" in disposition
    assert served.headers["content-security-policy"].endswith("sandbox")


async def test_only_files_under_the_vault_are_served(vault: SimApi, tmp_path: Path) -> None:
    h = vault.h
    assert h is not None
    await wecom_send(h, "image")
    await h.runtime.jobs.drain()
    secret = tmp_path / "outside.txt"
    secret.write_text("not media")
    url = (await attachment(vault))["url"]
    for path in (str(secret), str(tmp_path / "media" / ".." / "outside.txt")):
        async with h.db.session() as session:
            await session.execute(update(Media).values(path=path))
        answer = await vault.get(url)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "media_not_found"
        assert b"not media" not in answer.content


async def test_a_page_of_media_messages_loads_its_media_in_one_query(vault: SimApi) -> None:
    h = vault.h
    assert h is not None
    await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    for msgtype in ("image", "voice", "video", "file", "image", "text"):
        await h.driver.wecom_customer_send(CORP, kf, customer, msgtype, {} if msgtype != "text" else None)
    await h.sync_all()
    await h.runtime.jobs.drain()
    conversation = (await vault.get("/api/v1/conversations")).json()["data"][0]["id"]
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(h.db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        messages = (await vault.get(f"/api/v1/conversations/{conversation}/messages")).json()["data"]
    finally:
        event.remove(h.db.engine.sync_engine, "before_cursor_execute", capture)
    kinds = [m["attachment"]["kind"] if m["attachment"] else None for m in messages if m["content_type"] != "event"]
    assert kinds[-6:] == ["image", "voice", "video", "file", "image", None]
    assert all(m["attachment"]["status"] == "stored" for m in messages if m["attachment"])
    assert len({m["attachment"]["media_id"] for m in messages if m["attachment"]}) == 5
    assert sum(1 for s in statements if "FROM media" in s) == 1
