"""Driver API for the external-contact simulation, under /_sim/contact/{corpid}: members, transfers, the book.

Also the lookups the other contact driver modules share: customers adding/deleting members and
private chats are in wecom_contact_customers.py, customer groups and confirmed 群发 tasks in
wecom_contact_groups.py. Actions that the platform reports push the real encrypted callback
(change_external_contact / change_external_chat) to the corp's callback URL. Errors are driver
errors (HTTP 4xx), never errcodes.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post

from kefu_sim.callbacks import CallbackDispatcher
from kefu_sim.driver.common import DriverError, driver_body
from kefu_sim.wecom.state import WeComCorp
from kefu_sim.wecom_contact.common import settle
from kefu_sim.wecom_contact.events import push_contact_change
from kefu_sim.wecom_contact.state import ContactBook, ExternalContact, Follow, Member
from kefu_sim.world import World

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


@post(f"{ROOT}/members", status_code=201)
async def add_member(request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """A corp member: {userid, name?, department?: [ids], follow?: true (customer-contact feature)}."""
    book = corp_for(world, dispatcher, corpid).contacts
    body = await driver_body(request)
    userid = body.get("userid")
    if not isinstance(userid, str) or not userid:
        raise DriverError(detail="userid is required")
    member = Member(
        userid=userid,
        name=str(body.get("name") or userid),
        follow=bool(body.get("follow", True)),
        department=list(body.get("department") or [1]),
    )
    book.members[userid] = member
    return msgspec.to_builtins(member)


@post(f"{ROOT}/members/{{userid:str}}/resign", status_code=200)
async def resign_member(world: World, dispatcher: CallbackDispatcher, corpid: str, userid: str) -> dict[str, Any]:
    """The member leaves: their customers become unassigned, their groups wait for inheritance (status 1)."""
    book = corp_for(world, dispatcher, corpid).contacts
    member = book.members.get(userid)
    if member is None:
        raise DriverError(status_code=404, detail=f"no member {userid}")
    member.resigned_at = world.now()
    for chat in book.group_chats.values():
        if chat.owner == userid and chat.status == 0:
            chat.status = 1
    return msgspec.to_builtins(member)


@post(f"{ROOT}/transfers/refuse", status_code=200)
async def customer_refuses_transfer(
    request: Request, world: World, dispatcher: CallbackDispatcher, corpid: str
) -> dict[str, Any]:
    """The customer refuses a waiting on-job transfer {external_userid} → status 3 + transfer_fail."""
    corp = corp_for(world, dispatcher, corpid)
    body = await driver_body(request)
    pending = [
        t
        for t in corp.contacts.transfers
        if t.kind == "onjob" and t.status == 2 and t.external_userid == body.get("external_userid")
    ]
    if not pending:
        raise DriverError(status_code=409, detail="no waiting on-job transfer for this customer")
    pending[0].status = 3
    record = push_contact_change(
        world,
        dispatcher,
        corp,
        "transfer_fail",
        pending[0].takeover_userid,
        pending[0].external_userid,
        FailReason="customer_refused",
    )
    return {"status": 3, "callback_seq": callback_seq(record)}


@post(f"{ROOT}/settle", status_code=200)
async def settle_now(world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    """Apply due transfers and temp-chat expiries now (contact calls do this on their own)."""
    corp_for(world, dispatcher, corpid)
    return {"settled": True}


@get(ROOT, sync_to_thread=False)
def contact_book(world: World, dispatcher: CallbackDispatcher, corpid: str) -> dict[str, Any]:
    return msgspec.to_builtins(corp_for(world, dispatcher, corpid).contacts)


HANDLERS = [
    add_member,
    resign_member,
    customer_refuses_transfer,
    settle_now,
    contact_book,
]
