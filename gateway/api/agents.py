"""`/api/v1/agents`: agents with their status; MP kf accounts managed through the adapter; directory sync.

WeCom servicers are corp members: they are added to and removed from a kf account under
/api/v1/inboxes/{id}/agents. MP kf accounts belong to the account as a whole and are created,
renamed, deleted and bound to a WeChat user (invite) here. A kind without the operation answers
422 unsupported_by_channel.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from gateway.api import render
from gateway.api.auth import SECURITY
from gateway.api.inboxes import adapter_op
from gateway.api.schemas import (
    AgentList,
    AgentOut,
    DirectorySync,
    DirectorySynced,
    MpAgentCreate,
    MpAgentInvite,
    MpAgentUpdate,
)
from gateway.channels.base import Channel
from gateway.db.repositories import directory
from gateway.db.repositories.channels import ChannelRepository
from gateway.directory import sync_directory
from gateway.errors import InvalidRequest
from gateway.runtime import Runtime

Id = Annotated[int | None, Parameter(ge=1)]


class AgentController(Controller):
    path = "/api/v1/agents"
    tags = ("agents",)
    security = SECURITY

    @get("/")
    async def list_agents(
        self,
        runtime: Runtime,
        channel_id: Id = None,
        inbox_id: Id = None,
        status: Annotated[str | None, Parameter(pattern="^(online|offline|suspended|deleted)$")] = None,
    ) -> AgentList:
        async with runtime.db.sessions() as session:
            rows = await directory.list_agents(session, channel_id=channel_id, inbox_id=inbox_id)
        return AgentList(data=[render.agent_out(a, m) for a, m in rows if status is None or a.status == status])

    @get("/{agent_id:int}")
    async def get_agent(self, agent_id: int, runtime: Runtime) -> AgentOut:
        async with runtime.db.sessions() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            members = await directory.memberships(session, [agent.id])
        return render.agent_out(agent, members.get(agent.id, []))

    @post("/", status_code=HTTP_201_CREATED)
    async def create_agent(self, data: MpAgentCreate, runtime: Runtime) -> AgentOut:
        """MP: kfaccount/add (at most 100 per account; 65400 kefu not enabled, 65403 bad nickname…)."""
        async with runtime.db.sessions() as session:
            channel = await ChannelRepository(session, runtime.box).get(data.channel_id)
        adapter = await runtime.channel(channel.id)
        await adapter_op(adapter, "add_agent")(data.kf_account, data.nickname)
        async with runtime.db.session() as session:
            agent = await directory.upsert_agent(
                session, channel.id, data.kf_account, name=data.nickname, status="offline"
            )
            inbox = await directory.upsert_inbox(session, channel.id, channel.app_id)
            await directory.join_inbox(session, inbox.id, agent.id, agent.status)
            members = await directory.memberships(session, [agent.id])
            return render.agent_out(agent, members[agent.id])

    @patch("/{agent_id:int}")
    async def update_agent(self, agent_id: int, data: MpAgentUpdate, runtime: Runtime) -> AgentOut:
        """MP: kfaccount/update (the nickname)."""
        adapter, source_id = await self._adapter(runtime, agent_id)
        await adapter_op(adapter, "update_agent")(source_id, data.nickname)
        async with runtime.db.session() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            agent.name = data.nickname
            members = await directory.memberships(session, [agent.id])
            return render.agent_out(agent, members.get(agent.id, []))

    @delete("/{agent_id:int}", status_code=200)
    async def delete_agent(self, agent_id: int, runtime: Runtime) -> AgentOut:
        """MP: kfaccount/del. The row stays with status "deleted" so past messages keep their sender."""
        adapter, source_id = await self._adapter(runtime, agent_id)
        await adapter_op(adapter, "delete_agent")(source_id)
        async with runtime.db.session() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            await directory.mark_agent_deleted(session, agent)
            return render.agent_out(agent, [])

    @post("/{agent_id:int}/invite", status_code=200)
    async def invite_agent(self, agent_id: int, data: MpAgentInvite, runtime: Runtime) -> AgentOut:
        """MP: kfaccount/inviteworker; the WeChat user accepts in the app (65407–65412 on refusal)."""
        adapter, source_id = await self._adapter(runtime, agent_id)
        await adapter_op(adapter, "invite_agent")(source_id, data.invite_wx)
        async with runtime.db.session() as session:
            agent, _ = await directory.get_agent(session, agent_id)
            agent.raw = {**agent.raw, "invite_wx": data.invite_wx, "invite_status": "waiting"}
            members = await directory.memberships(session, [agent.id])
            return render.agent_out(agent, members.get(agent.id, []))

    @post("/sync", status_code=200)
    async def sync_directory(self, data: DirectorySync, runtime: Runtime) -> DirectorySynced:
        """Read the channel's inboxes and agents from the platform (WeCom account/list + servicer/list,
        MP getkflist + getonlinekflist) into the tables: new rows added, statuses and memberships
        replaced, inboxes the platform no longer lists disabled."""
        adapter = await runtime.channel(data.channel_id)
        inboxes, agents = await sync_directory(runtime.db, adapter, data.channel_id)
        return DirectorySynced(inboxes=inboxes, agents=agents)

    @staticmethod
    async def _adapter(runtime: Runtime, agent_id: int) -> tuple[Channel, str]:
        async with runtime.db.sessions() as session:
            agent, channel = await directory.get_agent(session, agent_id)
        if channel is None:
            raise InvalidRequest(f"agent {agent_id} is a gateway agent, not a platform account", field="agent_id")
        return await runtime.channel(channel.id), agent.source_id
