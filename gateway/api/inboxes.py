"""`/api/v1/inboxes`: list and read; for WeCom, manage kf accounts, their contact-way links and servicers.

Every change goes to the platform first, through the channel adapter, and is written to the
inboxes / agents tables only once the platform accepted it. A channel kind without the operation
answers 422 unsupported_by_channel (an MP channel has exactly one inbox: the account itself).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from gateway.api import listing, render
from gateway.api.auth import SECURITY
from gateway.api.listing import CursorParam, Limit
from gateway.api.schemas import (
    ContactWayCreate,
    ContactWayOut,
    InboxCreate,
    InboxList,
    InboxOut,
    InboxUpdate,
    ServicerResult,
    ServicerResults,
    ServicersAdd,
)
from gateway.channels.base import Channel, ManagesInboxes
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.repositories import directory
from gateway.db.repositories.channels import ChannelRepository
from gateway.db.types import utcnow
from gateway.errors import InvalidRequest, UnsupportedByChannel
from gateway.sealing import SecretBox

# 1×1 PNG used when a kf account is created without an avatar (WeCom requires one)
DEFAULT_AVATAR = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _managed(adapter: Channel) -> ManagesInboxes:
    """The adapter as one whose inboxes are platform objects; 422 for a kind with one inbox (MP)."""
    if not isinstance(adapter, ManagesInboxes):
        raise UnsupportedByChannel(f"{adapter.kind} channels have one inbox, the account itself")
    return adapter


def _avatar(data: str | None) -> tuple[bytes, str]:
    if data is None:
        return DEFAULT_AVATAR, "avatar.png"
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("avatar_base64 is not base64", field="avatar_base64") from None
    if content.startswith(b"\xff\xd8\xff"):
        return content, "avatar.jpg"
    if content.startswith(b"\x89PNG"):
        return content, "avatar.png"
    raise InvalidRequest("avatar must be a PNG or JPEG image", field="avatar_base64")


class InboxController(Controller):
    path = "/api/v1/inboxes"
    tags = ("inboxes",)
    security = SECURITY

    @get("/")
    async def list_inboxes(
        self,
        db: Database,
        channel_id: Annotated[int | None, Parameter(ge=1)] = None,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
    ) -> InboxList:
        """Inboxes: WeCom kf accounts and MP accounts, with their contact-way links, by id."""
        after = listing.decode(cursor, "inboxes", (int,))
        async with db.sessions() as session:
            rows = await directory.list_inboxes(
                session, channel_id=channel_id, after_id=int(after[0]) if after else None, limit=limit + 1
            )
        page, more = listing.cut(rows, limit, "inboxes", lambda r: (r.id,))
        return InboxList(data=[render.inbox_out(r) for r in page], next_cursor=more)

    @get("/{inbox_id:int}")
    async def get_inbox(self, inbox_id: int, db: Database) -> InboxOut:
        """One inbox with its contact-way links."""
        async with db.sessions() as session:
            inbox, _ = await directory.get_inbox(session, inbox_id)
        return render.inbox_out(inbox)

    @post("/", status_code=HTTP_201_CREATED)
    async def create_inbox(self, data: InboxCreate, box: SecretBox, channels: ChannelPool, db: Database) -> InboxOut:
        """WeCom: create a kf account (account/add, avatar uploaded as temporary media)."""
        async with db.sessions() as session:
            await ChannelRepository(session, box).get(data.channel_id)
        adapter = _managed(await channels.get(data.channel_id))
        avatar, filename = _avatar(data.avatar_base64)
        info = await adapter.add_inbox(data.name, avatar, filename)
        async with db.session() as session:
            inbox = await directory.upsert_inbox(
                session, data.channel_id, info.source_id, name=info.name, avatar_url=info.avatar_url
            )
            return render.inbox_out(inbox)

    @patch("/{inbox_id:int}")
    async def rename_inbox(self, inbox_id: int, data: InboxUpdate, channels: ChannelPool, db: Database) -> InboxOut:
        """WeCom: account/update with the new name."""
        adapter, source_id = await self._adapter(channels, db, inbox_id)
        await adapter.update_inbox(source_id, name=data.name)
        async with db.session() as session:
            inbox, _ = await directory.get_inbox(session, inbox_id)
            inbox.name = data.name
            inbox.updated_at = utcnow()
            return render.inbox_out(inbox)

    @delete("/{inbox_id:int}", status_code=200)
    async def delete_inbox(self, inbox_id: int, channels: ChannelPool, db: Database) -> InboxOut:
        """WeCom: account/del. The row stays, disabled, with its conversations and messages."""
        adapter, source_id = await self._adapter(channels, db, inbox_id)
        await adapter.delete_inbox(source_id)
        async with db.session() as session:
            inbox, _ = await directory.get_inbox(session, inbox_id)
            inbox.enabled = False
            inbox.updated_at = utcnow()
            return render.inbox_out(inbox)

    @post("/{inbox_id:int}/contact-ways", status_code=HTTP_201_CREATED)
    async def create_contact_way(
        self, inbox_id: int, data: ContactWayCreate, channels: ChannelPool, db: Database
    ) -> ContactWayOut:
        """WeCom: a 客服链接 for this kf account. enter_session reports `scene` (≤32 bytes of
        [0-9a-zA-Z_-]) and `scene_param` back, so a CRM can tell which link a customer used."""
        if data.scene_param and not data.scene:
            raise InvalidRequest("scene_param needs a scene", field="scene_param")
        adapter, source_id = await self._adapter(channels, db, inbox_id)
        url = await adapter.contact_way_url(source_id, data.scene, data.scene_param)
        way = ContactWayOut(url=url, scene=data.scene, scene_param=data.scene_param, created_at=utcnow().isoformat())
        async with db.session() as session:
            inbox, _ = await directory.get_inbox(session, inbox_id)
            await directory.add_contact_way(session, inbox, msgspec.structs.asdict(way))
        return way

    @post("/{inbox_id:int}/agents", status_code=200)
    async def add_servicers(
        self, inbox_id: int, data: ServicersAdd, channels: ChannelPool, db: Database
    ) -> ServicerResults:
        """WeCom: servicer/add. Per-user results: errcode 0 added (or already there), else the
        platform's code (60111 unknown userid, 95014 not activated for kf, …)."""
        adapter, source_id = await self._adapter(channels, db, inbox_id)
        codes: dict[str, int] = await adapter.add_servicers(source_id, data.userids)
        results: list[ServicerResult] = []
        async with db.session() as session:
            inbox, _ = await directory.get_inbox(session, inbox_id)
            for userid in data.userids:
                code = codes.get(userid, 0)
                agent_id = None
                if code == 0:
                    agent = await directory.upsert_agent(session, inbox.channel_id, userid)
                    await directory.join_inbox(session, inbox.id, agent.id, agent.status)
                    agent_id = agent.id
                results.append(ServicerResult(userid=userid, errcode=code, agent_id=agent_id))
        return ServicerResults(data=results)

    @delete("/{inbox_id:int}/agents/{agent_id:int}", status_code=204)
    async def remove_servicer(self, inbox_id: int, agent_id: int, channels: ChannelPool, db: Database) -> None:
        """WeCom: servicer/del for this agent's userid; the membership row goes."""
        async with db.sessions() as session:
            inbox, _ = await directory.get_inbox(session, inbox_id)
            agent, _ = await directory.get_agent(session, agent_id)
        if agent.channel_id != inbox.channel_id:
            raise InvalidRequest(f"agent {agent_id} belongs to another channel", field="agent_id")
        adapter, source_id = await self._adapter(channels, db, inbox_id)
        await adapter.remove_servicers(source_id, [agent.source_id])
        async with db.session() as session:
            await directory.leave_inbox(session, inbox_id, agent_id)

    @staticmethod
    async def _adapter(channels: ChannelPool, db: Database, inbox_id: int) -> tuple[ManagesInboxes, str]:
        """(adapter, platform id of the inbox); 422 for a kind that cannot manage inboxes."""
        async with db.sessions() as session:
            inbox, channel = await directory.get_inbox(session, inbox_id)
        return _managed(await channels.get(channel.id)), inbox.source_id
