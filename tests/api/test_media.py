"""Uploading media for a send: the platform's media_id, cached by content, usable in a reply."""

from __future__ import annotations

from sqlalchemy import select

from gateway.db.models import Conversation

CORP, APPID = "wwcorp0001", "wxapp0000000001"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def test_upload_is_cached_and_sendable(sim_api) -> None:
    h = sim_api.h
    channel_id = await h.wecom_channel()
    kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
    customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
    await h.driver.wecom_customer_send(CORP, kf, customer, content="send me a picture")
    await h.sync_all()
    files = {"file": ("photo.png", PNG, "image/png")}
    first = await sim_api.post(f"/api/v1/channels/{channel_id}/media", data={"type": "image"}, files=files)
    assert first.status_code == 201, first.text
    again = await sim_api.post(f"/api/v1/channels/{channel_id}/media", data={"type": "image"}, files=files)
    assert again.json()["media_id"] == first.json()["media_id"] and again.json()["reused"] is True
    assert len(await h.driver.calls(path="/cgi-bin/media/upload")) == 1
    async with h.db.sessions() as session:
        conversation = await session.scalar(select(Conversation))
    sent = await sim_api.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={"content_type": "image", "media_id": first.json()["media_id"]},
    )
    assert sent.status_code == 202
    await h.runtime.jobs.drain()
    deliveries = [d for d in await h.driver.deliveries(platform="wecom") if d["touser"] == customer]
    assert [d["msgtype"] for d in deliveries] == ["image"]


async def test_upload_validation(sim_api) -> None:
    h = sim_api.h
    wecom = await h.wecom_channel()
    mp = await h.mp_channel(appid=APPID)
    no_type = await sim_api.post(
        f"/api/v1/channels/{wecom}/media", data={"type": "hologram"}, files={"file": ("a.png", PNG, "image/png")}
    )
    assert no_type.status_code == 422 and no_type.json()["error"]["field"] == "type"
    no_file = await sim_api.post(f"/api/v1/channels/{wecom}/media", data={"type": "image"})
    assert no_file.status_code in (400, 422)
    mp_file = await sim_api.post(
        f"/api/v1/channels/{mp}/media", data={"type": "file"}, files={"file": ("a.txt", b"hello world", "text/plain")}
    )
    assert mp_file.status_code == 422 and mp_file.json()["error"]["code"] == "unsupported_by_channel"
    refused = await sim_api.post(
        f"/api/v1/channels/{wecom}/media", data={"type": "voice"}, files={"file": ("a.png", PNG, "image/png")}
    )
    assert refused.status_code in (409, 422, 502) and "errcode" in refused.json()["error"]
