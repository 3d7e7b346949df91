"""`/api/v1/agents`: agents with their status; MP kf accounts managed through the adapter; directory sync.

WeCom servicers are corp members: they are added to and removed from a kf account under
/api/v1/inboxes/{id}/agents. MP kf accounts belong to the account as a whole and are created,
renamed, deleted and bound to a WeChat user (invite) here. A kind without the operation answers
422 unsupported_by_channel; platform refusals answer by meaning (docs/errors.md: 65406 409
already_exists, 65409 422 invalid_wechat_id, 65407–65412 409 invitation_conflict, …).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from gateway.api import listing, render
from gateway.api.actor import audited
from gateway.api.auth import SECURITY
from gateway.api.listing import CursorParam, Limit
from gateway.api.schemas import (
    AgentList,
    AgentOut,
    DirectorySync,
    DirectorySynced,
    MpAgentCreate,
    MpAgentInvite,
    MpAgentUpdate,
)
from gateway.channels.base import ManagesAgents, require
from gateway.channels.pool import ChannelPool
from gateway.db.engine import Database
from gateway.db.repositories import directory
from gateway.db.repositories.channels import ChannelRepository
from gateway.errors import InvalidRequest, NotFound
from gateway.inbound.directory import sync_directory
from gateway.sealing import SecretBox

Id = Annotated[int | None, Parameter(ge=1)]


class AgentController(Controller):
    path = "/api/v1/agents"
    tags = ("agents",)
    security = SECURITY

    @get("/")
    async def list_agents(
        self,
        db: Database,
        channel_id: Id = None,
        inbox_id: Id = None,
        status: Annotated[str | None, Parameter(pattern="^(online|offline|suspended|deleted)$")] = None,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
    ) -> AgentList:
        """Platform agents (WeCom servicers, MP kf accounts) with their status per inbox, by id."""
        after = listing.decode(cursor, "agents", (int,))
        async with db.sessions() as session:
            rows = await directory.list_agents(
                session,
                channel_id=channel_id,
                inbox_id=inbox_id,
                status=status,
                after_id=int(after[0]) if after else None,
                limit=limit + 1,
            )
        page, more = listing.cut(rows, limit, "agents", lambda row: (row[0].id,))
        return AgentList(data=[render.agent_out(a, m) for a, m in page], next_cursor=more)

    @get("/{agent_id:int}")
    async def get_agent(self, agent_id: int, db: Database) -> AgentOut:
        """One platform agent with its inbox memberships."""
        async with db.sessions() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            members = await directory.memberships(session, [agent.id])
        return render.agent_out(agent, members.get(agent.id, []))

    @post("/", status_code=HTTP_201_CREATED)
    async def create_agent(
        self, request: Request, data: MpAgentCreate, box: SecretBox, channels: ChannelPool, db: Database
    ) -> AgentOut:
        """MP: kfaccount/add (at most 100 per account; 65400 kefu not enabled, 65403 bad nickname…)."""
        async with db.sessions() as session:
            channel = await ChannelRepository(session, box).get(data.channel_id)
        adapter = require(await channels.get(channel.id), ManagesAgents, "manage agents")  # type: ignore[type-abstract]  # protocol class as type[T] (python/mypy#4717)
        await adapter.add_agent(data.kf_account, data.nickname)
        async with db.session() as session:
            agent = await directory.upsert_agent(
                session, channel.id, data.kf_account, name=data.nickname, status="offline"
            )
            inbox = await directory.upsert_inbox(session, channel.id, channel.app_id)
            await directory.join_inbox(session, inbox.id, agent.id, agent.status)
            detail = {"channel_id": channel.id, "kf_account": data.kf_account}
            await audited(session, request, "agent.created", subject_type="agent", subject_id=agent.id, detail=detail)
            members = await directory.memberships(session, [agent.id])
            return render.agent_out(agent, members[agent.id])

    @patch("/{agent_id:int}")
    async def update_agent(
        self, request: Request, agent_id: int, data: MpAgentUpdate, channels: ChannelPool, db: Database
    ) -> AgentOut:
        """MP: kfaccount/update (the nickname)."""
        adapter, source_id = await self._adapter(channels, db, agent_id)
        await adapter.update_agent(source_id, data.nickname)
        async with db.session() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            agent.name = data.nickname
            detail = {"nickname": data.nickname}
            await audited(session, request, "agent.updated", subject_type="agent", subject_id=agent_id, detail=detail)
            members = await directory.memberships(session, [agent.id])
            return render.agent_out(agent, members.get(agent.id, []))

    @delete("/{agent_id:int}", status_code=200)
    async def delete_agent(self, request: Request, agent_id: int, channels: ChannelPool, db: Database) -> AgentOut:
        """MP: kfaccount/del. The row stays with status "deleted" so past messages keep their sender."""
        adapter, source_id = await self._adapter(channels, db, agent_id)
        await adapter.delete_agent(source_id)
        async with db.session() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            await directory.mark_agent_deleted(session, agent)
            await audited(session, request, "agent.deleted", subject_type="agent", subject_id=agent_id)
            return render.agent_out(agent, [])

    @post("/{agent_id:int}/invite", status_code=200)
    async def invite_agent(
        self, request: Request, agent_id: int, data: MpAgentInvite, channels: ChannelPool, db: Database
    ) -> AgentOut:
        """MP: kfaccount/inviteworker; the WeChat user accepts in the app (65407–65412 on refusal)."""
        adapter, source_id = await self._adapter(channels, db, agent_id)
        await adapter.invite_agent(source_id, data.invite_wx)
        async with db.session() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            agent.raw = {**agent.raw, "invite_wx": data.invite_wx, "invite_status": "waiting"}
            detail = {"invite_wx": data.invite_wx}
            await audited(session, request, "agent.invited", subject_type="agent", subject_id=agent_id, detail=detail)
            members = await directory.memberships(session, [agent.id])
            return render.agent_out(agent, members.get(agent.id, []))

    @post("/sync", status_code=200)
    async def sync_directory(self, data: DirectorySync, channels: ChannelPool, db: Database) -> DirectorySynced:
        """Read the channel's inboxes and agents from the platform (WeCom account/list + servicer/list,
        MP getkflist + getonlinekflist) into the tables: new rows added, statuses and memberships
        replaced, inboxes the platform no longer lists disabled."""
        adapter = await channels.get(data.channel_id)
        inboxes, agents = await sync_directory(db, adapter, data.channel_id)
        return DirectorySynced(inboxes=inboxes, agents=agents)

    @staticmethod
    async def _adapter(channels: ChannelPool, db: Database, agent_id: int) -> tuple[ManagesAgents, str]:
        async with db.sessions() as session:
            agent, channel = await directory.get_agent(session, agent_id)
        if channel is None:
            raise InvalidRequest(f"agent {agent_id} is a gateway agent, not a platform account", field="agent_id")
        if agent.status == directory.DELETED:  # known without asking: the platform would answer 65401
            raise NotFound(f"agent {agent_id} ({agent.source_id}) was deleted on the platform")
        return require(await channels.get(channel.id), ManagesAgents, "manage agents"), agent.source_id  # type: ignore[type-abstract]  # protocol class as type[T] (python/mypy#4717)
