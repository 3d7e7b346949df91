"""Encrypted external-contact callbacks (change_external_contact / change_external_chat) pushed to a corp."""

from __future__ import annotations

import string
from typing import Any

from gateway.wechat.crypto import WeChatCrypto
from gateway.wechat.xmlmsg import build_xml
from kefu_sim.callbacks import CallbackDispatcher, CallbackRecord
from kefu_sim.wecom.state import WeComCorp
from kefu_sim.world import World


def push_event(
    world: World, dispatcher: CallbackDispatcher, corp: WeComCorp, fields: dict[str, Any]
) -> CallbackRecord | None:
    """Encrypt `fields` (after the common event header) and push them to the corp's callback URL.

    Returns None when the corp has no callback configured: the platform then simply has nowhere
    to send the event.
    """
    if not (corp.callback_url and corp.callback_token and corp.encoding_aes_key):
        return None
    header = {
        "ToUserName": corp.corpid,
        "FromUserName": "sys",
        "CreateTime": int(world.now()),
        "MsgType": "event",
    }
    plaintext = build_xml({**header, **fields})
    crypto = WeChatCrypto(corp.callback_token, corp.encoding_aes_key, corp.corpid)
    envelope = crypto.encrypt_message(
        plaintext,
        timestamp=str(int(world.now())),
        nonce=world.new_id("", 10, string.digits),
        to_user=corp.corpid,
        random16=bytes(world.rng.getrandbits(8) for _ in range(16)),
    )
    return dispatcher.push(
        platform="wecom", url=corp.callback_url, query=envelope.query, body=envelope.xml, plaintext=plaintext
    )


def push_contact_change(
    world: World,
    dispatcher: CallbackDispatcher,
    corp: WeComCorp,
    change_type: str,
    userid: str,
    external_userid: str,
    **extra: Any,
) -> CallbackRecord | None:
    """Event=change_external_contact with ChangeType add_external_contact, edit_external_contact,
    del_external_contact (extra Source=DELETE_BY_TRANSFER after an on-job transfer), del_follow_user
    or transfer_fail (extra FailReason). add_external_contact carries State and WelcomeCode when set.
    """
    fields: dict[str, Any] = {
        "Event": "change_external_contact",
        "ChangeType": change_type,
        "UserID": userid,
        "ExternalUserID": external_userid,
    }
    fields.update({k: v for k, v in extra.items() if v not in (None, "")})
    return push_event(world, dispatcher, corp, fields)


def push_chat_change(
    world: World,
    dispatcher: CallbackDispatcher,
    corp: WeComCorp,
    chat_id: str,
    change_type: str,
    *,
    update_detail: str | None = None,
    scene: int | None = None,
    changed: list[str] | None = None,
) -> CallbackRecord | None:
    """Event=change_external_chat: ChangeType create | update (UpdateDetail add_member, del_member,
    change_owner, change_name, change_notice) | dismiss."""
    fields: dict[str, Any] = {"Event": "change_external_chat", "ChatId": chat_id, "ChangeType": change_type}
    if update_detail:
        fields["UpdateDetail"] = update_detail
    if update_detail == "add_member" and scene is not None:
        fields["JoinScene"] = scene
    if update_detail == "del_member" and scene is not None:
        fields["QuitScene"] = scene
    if changed is not None:
        fields["MemChangeCnt"] = len(changed)
        fields["MemChangeList"] = {"Item": changed}
    return push_event(world, dispatcher, corp, fields)
