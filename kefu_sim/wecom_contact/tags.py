"""Simulated corp customer tags: get_corp_tag_list, add/edit/del_corp_tag and mark_tag."""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.common import field_int, json_body, ok
from kefu_sim.wecom_contact.common import (
    INVALID_PARAM,
    INVALID_TAG,
    QUOTA_EXCEEDED,
    TAG_NAME_EXISTS,
    contact_of,
    member_of,
    open_book,
    relation,
    str_list,
)
from kefu_sim.wecom_contact.state import ContactBook, Tag, TagGroup
from kefu_sim.world import SimError, World

BASE = "/cgi-bin/externalcontact"
MAX_NAME = 30


def _render(group: TagGroup, tags: list[Tag]) -> dict[str, Any]:
    return {
        "group_id": group.group_id,
        "group_name": group.group_name,
        "create_time": group.create_time,
        "order": group.order,
        "deleted": False,
        "tag": [
            {"id": t.id, "name": t.name, "create_time": t.create_time, "order": t.order, "deleted": False}
            for t in sorted(tags, key=lambda t: -t.order)
        ],
    }


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise SimError(INVALID_PARAM, f"invalid {what}: 1-{MAX_NAME} characters")
    return value


def _group_of(book: ContactBook, group_id: object) -> TagGroup:
    for group in book.live_groups():
        if group.group_id == group_id:
            return group
    raise SimError(INVALID_TAG, f"invalid group_id: {group_id!r}")


@post(f"{BASE}/get_corp_tag_list", status_code=200)
async def get_corp_tag_list(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """`group_id[]` wins over `tag_id[]`; neither → every tag. Unknown ids are skipped; groups by
    descending `order`."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    group_ids, tag_ids = str_list(body, "group_id"), str_list(body, "tag_id")
    out = []
    for group in sorted(book.live_groups(), key=lambda g: (-g.order, g.create_time)):
        live = [t for t in group.tags if not t.deleted]
        if group_ids:
            chosen = live if group.group_id in group_ids else []
        elif tag_ids:
            chosen = [t for t in live if t.id in tag_ids]
        else:
            chosen = live
        if chosen:
            out.append(_render(group, chosen))
    return ok(tag_group=out)


@post(f"{BASE}/add_corp_tag", status_code=200)
async def add_corp_tag(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Add tags to `group_id`, or to the group called `group_name` (made when missing). 40071 for a
    name already in the group, 40068 for an unknown group_id."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    now = int(world.now())
    specs = body.get("tag")
    if not isinstance(specs, list) or not specs or not all(isinstance(s, dict) for s in specs):
        raise SimError(INVALID_PARAM, "invalid tag: a non-empty list of {name, order}")
    names = [_name(s.get("name"), "tag name") for s in specs]
    if len(set(names)) != len(names):
        raise SimError(TAG_NAME_EXISTS, "tag name repeated in the request")
    if body.get("group_id"):
        group = _group_of(book, body["group_id"])
    else:
        group_name = _name(body.get("group_name"), "group_name")
        group = next((g for g in book.live_groups() if g.group_name == group_name), None)
        if group is None:
            group = TagGroup(
                group_id=world.new_id("et", 22),
                group_name=group_name,
                create_time=now,
                order=field_int(body, "order", INVALID_PARAM, default=0),
            )
    existing = {t.name for t in group.tags if not t.deleted}
    clash = [n for n in names if n in existing]
    if clash:
        raise SimError(TAG_NAME_EXISTS, f"tag name already exists in the group: {clash[0]}")
    live_count = sum(1 for g in book.live_groups() for t in g.tags if not t.deleted)
    if live_count + len(names) > book.tag_limit:
        raise SimError(QUOTA_EXCEEDED, f"corp tag limit reached ({book.tag_limit})")
    created = [
        Tag(
            id=world.new_id("et", 22),
            name=name,
            create_time=now,
            order=field_int(spec, "order", INVALID_PARAM, default=0),
        )
        for spec, name in zip(specs, names, strict=True)
    ]
    group.tags.extend(created)
    if group not in book.tag_groups:
        book.tag_groups.append(group)
    return ok(tag_group=_render(group, created))


@post(f"{BASE}/edit_corp_tag", status_code=200)
async def edit_corp_tag(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Rename / reorder a tag or a tag group (`id` is either)."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    target_id = body.get("id")
    name = _name(body["name"], "name") if body.get("name") is not None else None
    order = field_int(body, "order", INVALID_PARAM) if body.get("order") is not None else None
    found = book.tag(target_id) if isinstance(target_id, str) else None
    if found is not None:
        group, item = found
        siblings = {t.name for t in group.tags if not t.deleted and t is not item}
    else:
        item = group = _group_of(book, target_id)
        siblings = {g.group_name for g in book.live_groups() if g is not group}
    if name is not None:
        if name in siblings:
            raise SimError(TAG_NAME_EXISTS, f"name already exists: {name}")
        if isinstance(item, Tag):
            item.name = name
        else:
            item.group_name = name
    if order is not None:
        item.order = order
    return ok()


@post(f"{BASE}/del_corp_tag", status_code=200)
async def del_corp_tag(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Delete tags and/or whole groups; a group left without tags goes too. Customers lose the tags."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    tag_ids, group_ids = str_list(body, "tag_id"), str_list(body, "group_id")
    if not tag_ids and not group_ids:
        raise SimError(INVALID_PARAM, "tag_id and group_id cannot both be empty")
    tags = []
    for tag_id in tag_ids:
        found = book.tag(tag_id)
        if found is None:
            raise SimError(INVALID_TAG, f"invalid tag_id: {tag_id!r}")
        tags.append(found[1])
    groups = [_group_of(book, g) for g in group_ids]
    for group in groups:
        group.deleted = True
        tags.extend(group.tags)
    for tag in tags:
        tag.deleted = True
    for group in book.live_groups():
        if all(t.deleted for t in group.tags):
            group.deleted = True
    gone = {t.id for t in tags}
    for follow in book.follows:
        follow.tag_ids = [t for t in follow.tag_ids if t not in gone]
    return ok()


@post(f"{BASE}/mark_tag", status_code=200)
async def mark_tag(request: Request, world: World, dispatcher: CallbackDispatcher) -> dict[str, Any]:
    """Add/remove corp tags on one member's view of a customer (both lists empty: 40058)."""
    _, book = open_book(request, world, dispatcher)
    body = await json_body(request)
    member = member_of(book, body.get("userid"))
    contact = contact_of(book, body.get("external_userid"))
    follow = relation(book, member.userid, contact.external_userid)
    add, remove = str_list(body, "add_tag"), str_list(body, "remove_tag")
    if not add and not remove:
        raise SimError(INVALID_PARAM, "add_tag and remove_tag cannot both be empty")
    for tag_id in add + remove:
        if book.tag(tag_id) is None:
            raise SimError(INVALID_TAG, f"invalid tag id: {tag_id!r}")
    follow.tag_ids = [t for t in follow.tag_ids if t not in remove]
    follow.tag_ids += [t for t in dict.fromkeys(add) if t not in follow.tag_ids]
    return ok()


HANDLERS = [get_corp_tag_list, add_corp_tag, edit_corp_tag, del_corp_tag, mark_tag]
