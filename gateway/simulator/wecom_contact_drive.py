"""Helpers shared by the external-contact driver modules (driver_contact, wecom_contact_group_driver)."""

from __future__ import annotations

from typing import Any

from gateway.simulator.callbacks import CallbackDispatcher
from gateway.simulator.contact_state import ContactBook, ExternalContact, Follow, Member
from gateway.simulator.driver import DriverError
from gateway.simulator.wecom_contact_common import settle
from gateway.simulator.wecom_state import WeComCorp
from gateway.simulator.world import World

ROOT = "/contact/{corpid:str}"


def corp_for(world: World, dispatcher: CallbackDispatcher, corpid: str) -> WeComCorp:
    """The corp, settled to now (due transfers done, temp chats ended); 404 when unknown."""
    corp = world.state.corps.get(corpid)
    if corp is None:
        raise DriverError(status_code=404, detail=f"no corp {corpid}")
    settle(world, dispatcher, corp)
    return corp


def need(book: ContactBook, body: dict[str, Any]) -> tuple[Member, ExternalContact, Follow]:
    """The member, customer and relationship named by `userid` + `external_userid` (404 / 409)."""
    member = book.members.get(body.get("userid"))  # type: ignore[arg-type]
    contact = book.contacts.get(body.get("external_userid"))  # type: ignore[arg-type]
    if member is None or contact is None:
        raise DriverError(status_code=404, detail="unknown userid or external_userid")
    follow = book.follow(member.userid, contact.external_userid)
    if follow is None:
        raise DriverError(status_code=409, detail="they have no relationship")
    return member, contact, follow


def callback_seq(record: Any) -> int | None:
    return record.seq if record is not None else None
