"""The reply types of each platform and the fields each takes (see sendspec for the checking).

WeCom kf send_msg (docs/platforms.md §2.5) and MP custom/send (§4.2). Field names are the
platforms' own, flat beside `content_type`; `menu` and `miniprogram` are also accepted under the
platform names `msgmenu` and (MP) `miniprogrampage`. Every MP type takes `kf_account` (send as
that kf account, `name@wechat-id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.channels.sendspec import Check, Field, TypeSpec, items_between, opt, req, text_of
from gateway.domain import ChannelKind
from gateway.errors import InvalidRequest

# platform msgtype names accepted for our unified content types
ALIASES = {"msgmenu": "menu", "miniprogrampage": "miniprogram"}

MEDIA_ID = req("media_id", max_bytes=256)
THUMB = req("thumb_media_id", max_bytes=256)


def _wecom_menu_items(given: dict[str, Any]) -> None:
    for n, item in enumerate(given.get("items") or []):
        where = f"items[{n}]"
        kind = item.get("type") or _wecom_item_kind(item)
        if kind == "click":
            text_of(item, "id", where, max_bytes=128)
            text_of(item, "content", where, max_bytes=128)
        elif kind == "view":
            text_of(item, "url", where, max_bytes=2048)
            text_of(item, "content", where, max_bytes=1024)
        elif kind == "miniprogram":
            text_of(item, "appid", where, max_bytes=32)
            text_of(item, "pagepath", where, max_bytes=1024)
            text_of(item, "content", where, max_bytes=1024)
        elif kind == "text":
            text_of(item, "content", where, max_bytes=256)
        else:
            raise InvalidRequest(f"{where}.type must be click, view, miniprogram or text", field=where)


def _wecom_item_kind(item: dict[str, Any]) -> str:
    """The type of a menu item given without one (as the WeCom adapter infers it)."""
    if item.get("url"):
        return "view"
    if item.get("appid"):
        return "miniprogram"
    return "click" if "id" in item else "text"


def _mp_menu_items(given: dict[str, Any]) -> None:
    for n, item in enumerate(given.get("items") or []):
        text_of(item, "id", f"items[{n}]", max_bytes=128)
        text_of(item, "content", f"items[{n}]", max_bytes=1024)


def _one_article(given: dict[str, Any]) -> None:
    """MP news: exactly one article, as `articles` [{title, description, url, picurl}] or flat."""
    articles = given.get("articles")
    if articles is None:
        if not given.get("title") or not given.get("url"):
            raise InvalidRequest("news needs title and url (or articles with one article)", field="title")
        return
    if any(given.get(k) for k in ("title", "url", "description", "picurl")):
        raise InvalidRequest("give the article either flat or as articles, not both", field="articles")
    items_between("articles", 1, 1)(given)
    article = articles[0]
    text_of(article, "title", "articles[0]", max_bytes=512)
    text_of(article, "url", "articles[0]", max_bytes=2048)
    text_of(article, "description", "articles[0]", max_bytes=1024, required=False)
    text_of(article, "picurl", "articles[0]", max_bytes=2048, required=False)


def _spec(*fields: Field, checks: tuple[Check, ...] = ()) -> TypeSpec:
    return TypeSpec(fields=fields, checks=checks)


WECOM: Mapping[str, TypeSpec] = {
    "text": _spec(req("content", max_bytes=2048)),
    "image": _spec(MEDIA_ID),
    "voice": _spec(MEDIA_ID),
    "video": _spec(MEDIA_ID),
    "file": _spec(MEDIA_ID),
    "link": _spec(  # an over-long title or description is truncated by the platform, not refused
        req("title"),
        opt("description"),
        req("url", max_bytes=2048, url=True),
        THUMB,
    ),
    "miniprogram": _spec(req("appid", max_bytes=32), opt("title"), req("pagepath", max_bytes=1024), THUMB),
    "menu": _spec(
        opt("head_content", max_bytes=1024),
        req("items", kind="list"),
        opt("tail_content", max_bytes=1024),
        checks=(items_between("items", 1, 10), _wecom_menu_items),
    ),
    "location": _spec(
        req("latitude", kind="number", bounds=(-90, 90)),
        req("longitude", kind="number", bounds=(-180, 180)),
        opt("name", max_bytes=256),
        opt("address", max_bytes=512),
    ),
    "business_card": _spec(req("userid", max_bytes=64)),
    "ca_link": _spec(req("link_url", max_bytes=2048, url=True)),
}

KF_ACCOUNT = opt("kf_account", max_bytes=128)


def _mp(*fields: Field, checks: tuple[Check, ...] = ()) -> TypeSpec:
    return TypeSpec(fields=(*fields, KF_ACCOUNT), checks=(*checks, _kf_account))


def _kf_account(given: dict[str, Any]) -> None:
    account = given.get("kf_account")
    if account is not None and "@" not in account:
        raise InvalidRequest("kf_account is the full account, name@wechat-id", field="kf_account")


_NEWS = _mp(
    opt("title", max_bytes=512),
    opt("description", max_bytes=1024),
    opt("url", max_bytes=2048, url=True),
    opt("picurl", max_bytes=2048, url=True),
    opt("articles", kind="list"),
    checks=(_one_article,),
)

MP: Mapping[str, TypeSpec] = {
    "text": _mp(req("content", max_bytes=2048)),
    "image": _mp(MEDIA_ID),
    "voice": _mp(MEDIA_ID),
    "video": _mp(MEDIA_ID, THUMB, opt("title", max_bytes=128), opt("description", max_bytes=512)),
    "music": _mp(
        opt("title", max_bytes=128),
        opt("description", max_bytes=512),
        req("musicurl", max_bytes=2048, url=True),
        req("hqmusicurl", max_bytes=2048, url=True),
        THUMB,
    ),
    "news": _NEWS,
    "link": _NEWS,
    "mpnews": _mp(MEDIA_ID),
    "mpnewsarticle": _mp(req("article_id", max_bytes=256)),
    "menu": _mp(
        opt("head_content", max_bytes=1024),
        req("items", kind="list"),
        opt("tail_content", max_bytes=1024),
        checks=(items_between("items", 1, 10), _mp_menu_items),
    ),
    "wxcard": _mp(req("card_id", max_bytes=128)),
    "miniprogram": _mp(req("title", max_bytes=64), req("appid", max_bytes=32), req("pagepath", max_bytes=1024), THUMB),
}

SPECS: Mapping[str, Mapping[str, TypeSpec]] = {ChannelKind.WECOM: WECOM, ChannelKind.MP: MP}


def canonical(content_type: str) -> str:
    """Our content type for a platform msgtype name (msgmenu → menu, miniprogrampage → miniprogram)."""
    return ALIASES.get(content_type, content_type)
