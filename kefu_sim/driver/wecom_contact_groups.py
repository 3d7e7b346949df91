"""Driver actions on customer groups and 群发 tasks under /_sim/contact/{corpid}.

Group changes push Event=change_external_chat callbacks (create, update add_member/del_member,
dismiss); a member confirming a 群发 task records one delivery per customer or group reached.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.driver.common import DriverError, driver_body
from kefu_sim.driver.wecom_contact import ROOT, callback_seq, corp_for
from kefu_sim.wecom_contact.events import push_chat_change
from kefu_sim.wecom_contact.state import ChatMember, ContactBook, GroupChat, GroupMessage
from kefu_sim.world import World

CHAT = ROOT + "/group-chats/{chat_id:str}"


def _chat_member(book: ContactBook, ident: object, now: int, scene: int, invitor: str) -> ChatMember:
    if isinstance(ident, str) and ident in book.members:
        return ChatMember(userid=ident, type=1, join_time=now, join_scene=scene, invitor=invitor)
    contact = book.contacts.get(ident) if isinstance(ident, str) else None
    if contact is None:
        raise DriverError(status_code=404, detail=f"{ident!r} is neither a member nor an external contact")
    return ChatMember(
        userid=contact.external_userid,
        type=2,
        join_time=now,
        join_scene=scene,
        invitor=invitor,
        unionid=contact.unionid,
    )


def _chat(book: ContactBook, chat_id: str) -> GroupChat:
    chat = book.group_chats.get(chat_id)
    if chat is None or chat.dismissed:
        raise DriverError(status_code=404, detail=f"no group chat {chat_id}")
    return chat


@post(f"{ROOT}/group-chats", status_code=201)
async def create_group_chat(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """{owner, name?, members?: [userid | external_userid], admins?, notice?} → a `create` callback."""
    corp = corp_for(world, dispatcher, corpid)
    book = corp.contacts
    body = await driver_body(request)
    owner = body.get("owner")
    if owner not in book.members:
        raise DriverError(status_code=409, detail=f"owner {owner!r} is not a member")
    now = int(world.now())
    chat = GroupChat(
        chat_id=world.new_id("wr", 30),
        name=str(body.get("name") or ""),
        owner=owner,
        create_time=now,
        notice=str(body.get("notice") or ""),
        admins=list(body.get("admins") or []),
    )
    chat.members.append(ChatMember(userid=owner, type=1, join_time=now))
    for ident in body.get("members") or []:
        if ident != owner:
            chat.members.append(_chat_member(book, ident, now, 1, owner))
    book.group_chats[chat.chat_id] = chat
    record = push_chat_change(world, dispatcher, corp, chat.chat_id, "create")
    return {"chat_id": chat.chat_id, "callback_seq": callback_seq(record)}


@post(f"{CHAT}/members", status_code=200)
async def change_group_members(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str, chat_id: str
) -> dict[str, Any]:
    """{add?: [ids], remove?: [ids], scene?: 1} → one update callback per direction (JoinScene/QuitScene)."""
    corp = corp_for(world, dispatcher, corpid)
    chat = _chat(corp.contacts, chat_id)
    body = await driver_body(request)
    now, scene = int(world.now()), int(body.get("scene", 1))
    present = {m.userid for m in chat.members}
    added = [_chat_member(corp.contacts, i, now, scene, chat.owner) for i in body.get("add") or [] if i not in present]
    removed = [i for i in body.get("remove") or [] if i in present and i != chat.owner]
    chat.members.extend(added)
    chat.members = [m for m in chat.members if m.userid not in removed]
    seqs = []
    if added:
        seqs.append(
            callback_seq(
                push_chat_change(
                    world,
                    dispatcher,
                    corp,
                    chat_id,
                    "update",
                    update_detail="add_member",
                    scene=scene,
                    changed=[m.userid for m in added],
                )
            )
        )
    if removed:
        seqs.append(
            callback_seq(
                push_chat_change(
                    world,
                    dispatcher,
                    corp,
                    chat_id,
                    "update",
                    update_detail="del_member",
                    scene=0,
                    changed=removed,
                )
            )
        )
    return {"added": [m.userid for m in added], "removed": removed, "callback_seqs": seqs}


@post(f"{CHAT}/dismiss", status_code=200)
async def dismiss_group_chat(world: World, dispatcher: CallbackDispatcher, corpid: str, chat_id: str) -> dict[str, Any]:
    corp = corp_for(world, dispatcher, corpid)
    _chat(corp.contacts, chat_id).dismissed = True
    return {"callback_seq": callback_seq(push_chat_change(world, dispatcher, corp, chat_id, "dismiss"))}


@post(f"{CHAT}/messages", status_code=200)
async def group_messages(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str, chat_id: str
) -> dict[str, Any]:
    """Record group messages {sender, count?: 1} for groupchat/statistic."""
    chat = _chat(corp_for(world, dispatcher, corpid).contacts, chat_id)
    body = await driver_body(request)
    sender = body.get("sender")
    if sender not in {m.userid for m in chat.members}:
        raise DriverError(status_code=409, detail=f"{sender!r} is not in the group")
    count = int(body.get("count", 1))
    chat.messages.extend(GroupMessage(time=world.now(), sender=sender) for _ in range(count))
    return {"recorded": count}


@post(f"{ROOT}/msg-templates/{{msgid:str}}/send", status_code=200)
async def confirm_msg_template(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str, msgid: str
) -> dict[str, Any]:
    """A member confirms a 群发 task {userid?: the task's sender}: their targets receive it (deliveries)."""
    corp = corp_for(world, dispatcher, corpid)
    book = corp.contacts
    template = book.msg_templates.get(msgid)
    if template is None:
        raise DriverError(status_code=404, detail=f"no msg template {msgid}")
    body = await driver_body(request)
    userid = body.get("userid") or template.sender
    if userid not in book.members:
        raise DriverError(detail="userid (a member) is required when the task has no sender")
    if userid in template.sent_by:
        raise DriverError(status_code=409, detail=f"{userid} already sent this task")
    template.sent_by.append(userid)
    payload = {"text": template.text, "attachments": template.attachments}
    if template.chat_type == "single":
        targets = [e for e in template.external_userids if book.follow(userid, e) is not None]
    else:
        targets = [c for c in template.chat_ids if c in book.group_chats and book.group_chats[c].owner == userid]
        for chat_id in targets:
            book.group_chats[chat_id].messages.append(GroupMessage(time=world.now(), sender=userid))
    for target in targets:
        world.record_delivery(
            platform="wecom",
            app_id=corp.corpid,
            account=userid,
            touser=target,
            msgid=msgid,
            msgtype="msg_template",
            payload=payload,
            sender=f"servicer:{userid}",
        )
    return {"delivered": targets}


HANDLERS = [
    create_group_chat,
    change_group_members,
    dismiss_group_chat,
    group_messages,
    confirm_msg_template,
]
