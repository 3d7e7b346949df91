"""Every reply type either platform sends, through REST → job runner → simulator, and the 422s that
keep a reply the platform would refuse for its shape from ever being queued."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.db.models import Conversation, Job, Message
from tests.api.support import SimApi

CORP, APPID = "wwcorp0001", "wxapp0000000001"
FILES = {
    "image": ("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"),
    "voice": ("a.amr", b"#!AMR\n" + b"\0" * 64, "audio/amr"),
    "video": ("a.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 64, "video/mp4"),
    "file": ("a.txt", b"a file for the customer", "text/plain"),
    "thumb": ("t.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64, "image/jpeg"),
}


async def upload(api: SimApi, channel_id: int, kind: str) -> str:
    name, content, mime = FILES[kind]
    answer = await api.post(
        f"/api/v1/channels/{channel_id}/media", data={"type": kind}, files={"file": (name, content, mime)}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["media_id"]


class WeCom:
    def __init__(self, api: SimApi) -> None:
        self.api, self.h = api, api.h

    async def setup(self) -> int:
        self.channel_id = await self.h.wecom_channel()
        await self.h.driver.wecom_add_member(CORP, "zhangsan", name="张三")
        self.kf = (await self.h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        self.customer = (await self.h.driver.wecom_add_customer(CORP))["external_userid"]
        await self.customer_writes()
        async with self.h.db.sessions() as session:
            return (await session.scalar(select(Conversation.id))) or 0

    async def customer_writes(self) -> None:
        """A customer message: WeCom allows 5 replies per customer message."""
        await self.h.driver.wecom_customer_send(CORP, self.kf, self.customer, content="hi")
        await self.h.sync_all()

    async def bodies(self) -> dict[str, dict[str, Any]]:
        media = {k: await upload(self.api, self.channel_id, k) for k in ("image", "voice", "video", "file", "thumb")}
        return {
            "text": {"content": "你好"},
            "image": {"media_id": media["image"]},
            "voice": {"media_id": media["voice"]},
            "video": {"media_id": media["video"]},
            "file": {"media_id": media["file"]},
            "link": {"title": "Docs", "url": "https://example.com/d", "thumb_media_id": media["thumb"]},
            "miniprogram": {"appid": "wxmini01", "pagepath": "pages/index", "thumb_media_id": media["thumb"]},
            "msgmenu": {"head_content": "Pick", "items": [{"id": "1", "content": "Yes"}, {"id": "2", "content": "No"}]},
            "location": {"latitude": 31.2, "longitude": 121.5, "name": "Office"},
            "business_card": {"userid": "zhangsan"},
            "ca_link": {"link_url": "https://work.weixin.qq.com/ca/cawcde"},
        }


class Mp:
    def __init__(self, api: SimApi) -> None:
        self.api, self.h = api, api.h

    async def setup(self) -> int:
        self.channel_id = await self.h.mp_channel()
        self.openid = (await self.h.driver.mp_add_follower(APPID))["openid"]
        created = await self.api.post(
            "/api/v1/agents", json={"channel_id": self.channel_id, "kf_account": "kf1@gh_oa", "nickname": "Kf"}
        )
        assert created.status_code == 201, created.text
        await self.customer_writes()
        async with self.h.db.sessions() as session:
            return (await session.scalar(select(Conversation.id))) or 0

    async def customer_writes(self) -> None:
        """A user message: MP allows 5 replies per user message in 48 h."""
        await self.h.driver.mp_user_text(APPID, self.openid, "hi")
        await self.h.sync_all()

    async def bodies(self) -> dict[str, dict[str, Any]]:
        media = {k: await upload(self.api, self.channel_id, k) for k in ("image", "voice", "video", "thumb")}
        return {
            "text": {"content": "你好", "kf_account": "kf1@gh_oa"},
            "image": {"media_id": media["image"]},
            "voice": {"media_id": media["voice"]},
            "video": {"media_id": media["video"], "thumb_media_id": media["thumb"], "title": "Clip"},
            "music": {
                "musicurl": "https://example.com/m.mp3",
                "hqmusicurl": "https://example.com/m-hq.mp3",
                "thumb_media_id": media["thumb"],
                "title": "Song",
            },
            "news": {"articles": [{"title": "News", "url": "https://example.com/n", "picurl": "https://e.com/p.png"}]},
            "mpnews": {"media_id": "permanent-news-media-id"},
            "mpnewsarticle": {"article_id": "ARTICLE_ID_1"},
            "msgmenu": {"head_content": "Pick", "items": [{"id": "1", "content": "Yes"}, {"id": "2", "content": "No"}]},
            "wxcard": {"card_id": "pFS7Fjg8kV1IdDz01r4SQwMkuCKc"},
            "miniprogrampage": {
                "title": "Mini",
                "appid": "wxmini01",
                "pagepath": "pages/index",
                "thumb_media_id": media["thumb"],
            },
        }


PLATFORM_MSGTYPE = {"msgmenu": "msgmenu", "miniprogrampage": "miniprogrampage"}


@pytest.mark.parametrize("platform", [WeCom, Mp], ids=["wecom", "mp"])
async def test_every_documented_type_reaches_the_customer(sim_api: SimApi, platform: type) -> None:
    side = platform(sim_api)
    conversation_id = await side.setup()
    bodies = await side.bodies()
    sent: list[str] = []
    for n, (content_type, fields) in enumerate(bodies.items()):
        if n and n % 5 == 0:
            await side.customer_writes()
        answer = await sim_api.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"content_type": content_type, **fields}
        )
        assert answer.status_code == 202, (content_type, answer.text)
        await sim_api.h.runtime.jobs.drain()
        sent.append(content_type)
    thread = (await sim_api.get(f"/api/v1/conversations/{conversation_id}/messages?limit=100")).json()["data"]
    outgoing = [m for m in thread if m["message_type"] == "outgoing"]
    assert [(m["status"], m["error_code"]) for m in outgoing] == [("sent", None)] * len(bodies), outgoing
    deliveries = [d for d in await sim_api.h.driver.deliveries() if d["sender"] in ("api",) or "kf:" in d["sender"]]
    # link goes out as news on MP and every other type under the platform's msgtype name
    expected = [t if not (platform is Mp and t == "link") else "news" for t in sent]
    assert [d["msgtype"] for d in deliveries] == expected
    by_type = {d["msgtype"]: d for d in deliveries}
    payload = {t: d["payload"].get(t, d["payload"]) for t, d in by_type.items()}
    if platform is Mp:
        assert by_type["text"]["kf_account"] == "kf1@gh_oa"
        assert payload["music"]["musicurl"] == "https://example.com/m.mp3"
        assert payload["mpnewsarticle"] == {"article_id": "ARTICLE_ID_1"}
    else:
        assert payload["ca_link"] == {"link_url": "https://work.weixin.qq.com/ca/cawcde"}
        assert payload["location"]["latitude"] == 31.2


# (platform, body, the field the 422 names)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("wecom", {"content_type": "image"}, "media_id"),
    ("wecom", {"content_type": "link", "title": "t", "url": "https://e.com"}, "thumb_media_id"),
    ("wecom", {"content_type": "link", "title": "t", "url": "e.com/x", "thumb_media_id": "m"}, "url"),
    ("wecom", {"content_type": "text"}, "content"),
    ("wecom", {"content_type": "text", "content": "x" * 2049}, "content"),
    ("wecom", {"content_type": "text", "content": "hi", "media_id": "m"}, "media_id"),
    ("wecom", {"content_type": "music", "musicurl": "https://e.com/a.mp3"}, "content_type"),
    ("wecom", {"content_type": "news", "title": "t", "url": "https://e.com"}, "content_type"),
    ("wecom", {"content_type": "msgmenu", "items": [{"id": str(n), "content": "x"} for n in range(11)]}, "items"),
    ("wecom", {"content_type": "msgmenu", "items": [{"type": "bogus"}]}, "items[0]"),
    ("wecom", {"content_type": "location", "latitude": 91, "longitude": 0}, "latitude"),
    ("wecom", {"content_type": "miniprogram", "appid": "wx1", "pagepath": "p"}, "thumb_media_id"),
    ("wecom", {"content_type": "text", "content": "hi", "kf_account": "a@b"}, "kf_account"),
    ("wecom", {"content_type": "hologram"}, "content_type"),
    ("mp", {"content_type": "music", "thumb_media_id": "t", "hqmusicurl": "https://e.com/h.mp3"}, "musicurl"),
    ("mp", {"content_type": "news", "articles": [{"title": "a", "url": "https://e.com"}] * 2}, "articles"),
    ("mp", {"content_type": "news", "title": "only a title"}, "title"),
    ("mp", {"content_type": "video", "media_id": "m"}, "thumb_media_id"),
    ("mp", {"content_type": "miniprogrampage", "appid": "wx1", "pagepath": "p", "title": "t"}, "thumb_media_id"),
    ("mp", {"content_type": "wxcard"}, "card_id"),
    ("mp", {"content_type": "mpnewsarticle"}, "article_id"),
    ("mp", {"content_type": "text", "content": "hi", "kf_account": "no-at-sign"}, "kf_account"),
    ("mp", {"content_type": "file", "media_id": "m"}, "content_type"),
    ("mp", {"content_type": "msgmenu", "items": []}, "items"),
]


@pytest.mark.parametrize("platform", ["wecom", "mp"])
async def test_a_reply_the_platform_would_refuse_is_422_and_writes_nothing(sim_api: SimApi, platform: str) -> None:
    side = WeCom(sim_api) if platform == "wecom" else Mp(sim_api)
    conversation_id = await side.setup()
    async with sim_api.h.db.sessions() as session:
        before = (await session.scalar(select(func.count()).select_from(Message)), await _jobs(session))
    for _, body, field in [r for r in REFUSED if r[0] == platform]:
        answer = await sim_api.post(f"/api/v1/conversations/{conversation_id}/messages", json=body)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()["error"]
        assert error["field"] == field, (body, error)
        assert error["code"] in ("validation_error", "unsupported_by_channel"), error
    async with sim_api.h.db.sessions() as session:
        after = (await session.scalar(select(func.count()).select_from(Message)), await _jobs(session))
    assert after == before
    assert await sim_api.h.driver.calls(path="/cgi-bin/kf/send_msg") == []
    assert await sim_api.h.driver.calls(path="/cgi-bin/message/custom/send") == []


async def _jobs(session: Any) -> int:
    return await session.scalar(select(func.count()).select_from(Job).where(Job.kind == "send_message"))
