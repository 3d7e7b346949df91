"""Driver API for customers under /_sim/contact/{corpid}/customers: adding, editing, deleting members; chatting.

Adding and deleting push the real encrypted change_external_contact callback to the corp's
callback URL. Errors are driver errors (HTTP 4xx), never errcodes.
"""

from __future__ import annotations

import string
from typing import Any

from litestar import Request, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.driver.common import DriverError, driver_body
from kefu_sim.driver.wecom_contact import ROOT, callback_seq, corp_for, need
from kefu_sim.wecom_contact.events import push_contact_change
from kefu_sim.wecom_contact.state import Activity, ContactBook, ExternalContact, Follow, WelcomeCode
from kefu_sim.world import Person, World


def _customer(world: World, book: ContactBook, body: dict[str, Any]) -> ExternalContact:
    """Find or make the external contact: type 1 from a person (`unionid`, or `nickname` makes one),
    type 2 (a WeCom user) from `name` + `corp_name`."""
    if int(body.get("type", 1)) == 2:
        contact = ExternalContact(
            external_userid=world.new_id("wm", 30),
            name=str(body.get("name") or "wecom-user"),
            type=2,
            corp_name=str(body.get("corp_name") or ""),
            corp_full_name=str(body.get("corp_full_name") or body.get("corp_name") or ""),
            position=str(body.get("position") or ""),
        )
        book.contacts[contact.external_userid] = contact
        return contact
    unionid = body.get("unionid")
    if unionid:
        person = world.state.persons.get(unionid)
        if person is None:
            raise DriverError(status_code=404, detail=f"no person with unionid {unionid}")
    else:
        nickname = body.get("nickname")
        if not nickname:
            raise DriverError(detail="give unionid (an existing person), nickname (a new one) or type 2")
        person = Person(unionid=world.new_id("o6_bm", 23), nickname=str(nickname))
        world.state.persons[person.unionid] = person
    contact = book.contact_by_unionid(person.unionid)
    if contact is None:
        contact = ExternalContact(
            external_userid=world.new_id("wm", 30),
            name=person.nickname,
            type=1,
            unionid=person.unionid,
            avatar=person.avatar,
            gender=person.gender,
        )
        book.contacts[contact.external_userid] = contact
    return contact


def _way_member(world: World, book: ContactBook, body: dict[str, Any], contact: ExternalContact) -> tuple[str, Any]:
    """The member a contact way leads to (and the way), checking temp-chat rules."""
    way = book.contact_ways.get(body["config_id"])
    if way is None:
        raise DriverError(status_code=404, detail=f"no contact way {body['config_id']}")
    if way.is_temp:
        if world.now() >= way.created_at + way.expires_in:
            raise DriverError(status_code=409, detail="temp-chat QR code expired")
        if way.used:
            raise DriverError(status_code=409, detail="temp-chat QR code already used (single-use)")
        if way.unionid and way.unionid != contact.unionid:
            raise DriverError(status_code=409, detail="temp-chat way is reserved for another unionid")
    candidates = list(way.user) + [
        m.userid for m in book.members.values() if set(m.department) & set(way.party) and m.userid not in way.user
    ]
    userid = body.get("userid") or (candidates[0] if candidates else None)
    if userid not in candidates:
        raise DriverError(status_code=409, detail=f"{userid} is not reachable through this contact way")
    return userid, way


@post(f"{ROOT}/customers/add", status_code=201)
async def customer_adds_member(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """A customer adds a member, directly {userid} or through a contact way {config_id, userid?}.

    Customer: {unionid} | {nickname} | {type: 2, name, corp_name}. Pushes add_external_contact with
    State and a WelcomeCode (valid 20 s; {welcome_code: false} when the admin configured a welcome).
    """
    corp = corp_for(world, dispatcher, corpid)
    book = corp.contacts
    body = await driver_body(request)
    contact = _customer(world, book, body)
    way = None
    if body.get("config_id"):
        userid, way = _way_member(world, book, body, contact)
    else:
        userid = body.get("userid")
    member = book.members.get(userid)  # type: ignore[arg-type]
    if member is None or not member.follow or member.resigned_at is not None:
        raise DriverError(status_code=409, detail=f"{userid} is not an active member with customer contact")
    if book.follow(member.userid, contact.external_userid) is not None:
        raise DriverError(status_code=409, detail="this customer already has this member")
    now = world.now()
    follow = Follow(
        userid=member.userid,
        external_userid=contact.external_userid,
        createtime=int(now),
        oper_userid=contact.external_userid,
        add_way=int(body.get("add_way", 1 if way else 0)),
        state=way.state if way else str(body.get("state") or ""),
    )
    if way is not None:
        follow.config_id = way.config_id
        if way.is_temp:
            way.used = True
            follow.temp_until = now + way.chat_expires_in
    book.follows.append(follow)
    book.activity.append(Activity(time=now, kind="add", userid=member.userid, external_userid=contact.external_userid))
    code = None
    if body.get("welcome_code", True):
        code = world.new_id("", 43, string.ascii_letters + string.digits + "-_")
        book.welcome_codes[code] = WelcomeCode(
            code=code, userid=member.userid, external_userid=contact.external_userid, issued_at=now
        )
    record = push_contact_change(
        world,
        dispatcher,
        corp,
        "add_external_contact",
        member.userid,
        contact.external_userid,
        State=follow.state,
        WelcomeCode=code,
    )
    return {
        "external_userid": contact.external_userid,
        "userid": member.userid,
        "welcome_code": code,
        "state": follow.state,
        "callback_seq": callback_seq(record),
    }


@post(f"{ROOT}/customers/edit", status_code=200)
async def member_edits_customer(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """The member edits remark/description in the client {userid, external_userid, remark?, description?}."""
    corp = corp_for(world, dispatcher, corpid)
    body = await driver_body(request)
    member, contact, follow = need(corp.contacts, body)
    follow.remark = str(body.get("remark", follow.remark))
    follow.description = str(body.get("description", follow.description))
    record = push_contact_change(
        world, dispatcher, corp, "edit_external_contact", member.userid, contact.external_userid
    )
    return {"callback_seq": callback_seq(record)}


@post(f"{ROOT}/customers/member-delete", status_code=200)
async def member_deletes_customer(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """The member deletes the customer → del_external_contact."""
    corp = corp_for(world, dispatcher, corpid)
    member, contact, follow = need(corp.contacts, await driver_body(request))
    corp.contacts.follows.remove(follow)
    record = push_contact_change(
        world, dispatcher, corp, "del_external_contact", member.userid, contact.external_userid
    )
    return {"callback_seq": callback_seq(record)}


@post(f"{ROOT}/customers/customer-delete", status_code=200)
async def customer_deletes_member(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """The customer deletes the member → del_follow_user (and a negative-feedback count)."""
    corp = corp_for(world, dispatcher, corpid)
    member, contact, follow = need(corp.contacts, await driver_body(request))
    corp.contacts.follows.remove(follow)
    corp.contacts.activity.append(
        Activity(
            time=world.now(),
            kind="deleted_by_customer",
            userid=member.userid,
            external_userid=contact.external_userid,
        )
    )
    record = push_contact_change(world, dispatcher, corp, "del_follow_user", member.userid, contact.external_userid)
    return {"callback_seq": callback_seq(record)}


@post(f"{ROOT}/customers/chat", status_code=200)
async def chat(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """Record private-chat messages {userid, external_userid, sender: customer|member, count?: 1}.

    They feed get_user_behavior_data and end the welcome-message chance (41051)."""
    corp = corp_for(world, dispatcher, corpid)
    body = await driver_body(request)
    member, contact, _ = need(corp.contacts, body)
    sender = body.get("sender", "customer")
    if sender not in ("customer", "member"):
        raise DriverError(detail="sender must be customer or member")
    for _ in range(int(body.get("count", 1))):
        corp.contacts.activity.append(
            Activity(
                time=world.now(),
                kind=f"{sender}_msg",
                userid=member.userid,
                external_userid=contact.external_userid,
            )
        )
    return {"recorded": int(body.get("count", 1))}


HANDLERS = [
    customer_adds_member,
    member_edits_customer,
    member_deletes_customer,
    customer_deletes_member,
    chat,
]
