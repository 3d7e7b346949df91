"""`/api/v1/operators` (admin: an admin API key or an admin operator): the people who sign in to the
inbox, and their links to platform agents (a WeCom servicer, an MP kf account; one per channel).

The same operations as `kefu-gateway operator create|list|set-password|deactivate`. A password is
write-only: no answer and no log line carries it or its hash. Every write is in the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, Request, delete, get, patch, post
from litestar.status_codes import HTTP_201_CREATED
from msgspec import UNSET, Struct, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api import listing
from gateway.api.actor import current_actor
from gateway.api.auth import SECURITY, require_scope
from gateway.api.listing import CursorParam, Limit
from gateway.db.engine import Database
from gateway.db.models import Agent
from gateway.db.people import Operator
from gateway.db.repositories import audit
from gateway.db.repositories import operators as repo


class OperatorCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    email: str
    name: str
    password: str
    role: str = "agent"  # agent | admin


class OperatorUpdate(Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; a new password or `active: false` ends the operator's sessions."""

    name: str | UnsetType = UNSET
    role: str | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    password: str | UnsetType = UNSET


class AgentLink(Struct, kw_only=True, forbid_unknown_fields=True):
    agent_id: int


class LinkedAgent(Struct, kw_only=True):
    id: int
    channel_id: int | None
    source_id: str  # WeCom servicer userid / MP kf_account
    name: str


class OperatorOut(Struct, kw_only=True):
    id: int
    email: str
    name: str
    role: str
    active: bool
    agents: list[LinkedAgent]
    last_sign_in_at: datetime | None
    created_at: datetime


class OperatorList(Struct, kw_only=True):
    data: list[OperatorOut]
    next_cursor: str | None  # opaque; pass as ?cursor= for the next page; null on the last page


def operator_out(row: Operator, agents: list[Agent]) -> OperatorOut:
    return OperatorOut(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        active=row.active,
        agents=[LinkedAgent(id=a.id, channel_id=a.channel_id, source_id=a.source_id, name=a.name) for a in agents],
        last_sign_in_at=row.last_sign_in_at,
        created_at=row.created_at,
    )


async def load_out(session: AsyncSession, row: Operator) -> OperatorOut:
    return operator_out(row, (await repo.links(session, [row.id]))[row.id])


class OperatorController(Controller):
    path = "/api/v1/operators"
    tags = ("operators",)
    guards = (require_scope("admin"),)
    security = SECURITY

    @post("/", status_code=HTTP_201_CREATED)
    async def create_operator(self, request: Request, data: OperatorCreate, db: Database) -> OperatorOut:
        """422 validation_error (field email/name/role), 422 weak_password, 409 email_taken."""
        async with db.session() as session:
            row = await repo.create_operator(
                session, email=data.email, name=data.name, password=data.password, role=data.role
            )
            await audit.record(
                session,
                current_actor(request).ref(),
                "operator.created",
                subject_type="operator",
                subject_id=row.id,
                detail={"email": row.email, "role": row.role},
            )
            return operator_out(row, [])

    @get("/")
    async def list_operators(
        self, db: Database, cursor: CursorParam = None, limit: Limit = listing.PAGE_DEFAULT
    ) -> OperatorList:
        """Operators (people who sign in), with their linked platform agents, by id; admin only."""
        after = listing.decode(cursor, "operators", (int,))
        async with db.sessions() as session:
            rows = await repo.list_operators(session, after_id=int(after[0]) if after else None, limit=limit + 1)
            page, more = listing.cut(rows, limit, "operators", lambda r: (r.id,))
            linked = await repo.links(session, [r.id for r in page])
        return OperatorList(data=[operator_out(r, linked[r.id]) for r in page], next_cursor=more)

    @get("/{operator_id:int}")
    async def get_operator(self, operator_id: int, db: Database) -> OperatorOut:
        """One operator with their linked platform agents."""
        async with db.sessions() as session:
            return await load_out(session, await repo.get_operator(session, operator_id))

    @patch("/{operator_id:int}")
    async def update_operator(
        self, request: Request, operator_id: int, data: OperatorUpdate, db: Database
    ) -> OperatorOut:
        """Change an operator's name, role, active flag or password; deactivating ends their sessions.
        409 last_admin: demoting or deactivating the last active admin."""
        async with db.session() as session:
            row = await repo.get_operator(session, operator_id)
            role = row.role if isinstance(data.role, UnsetType) else repo.check_role(data.role)
            active = row.active if isinstance(data.active, UnsetType) else data.active
            await repo.keep_an_admin(session, row, role=role, active=active)  # before any change: it locks
            changed: dict[str, object] = {}
            if not isinstance(data.name, UnsetType):
                row.name = changed["name"] = repo.check_name(data.name)
            if not isinstance(data.role, UnsetType):
                row.role = changed["role"] = role
            if not isinstance(data.password, UnsetType):
                await repo.set_password(session, row, data.password)
                changed["password"] = "changed"  # never the password itself
            if not isinstance(data.active, UnsetType):
                await repo.set_active(session, row, data.active)
                changed["active"] = data.active
            await audit.record(
                session,
                current_actor(request).ref(),
                "operator.updated",
                subject_type="operator",
                subject_id=row.id,
                detail=changed,
            )
            return await load_out(session, row)

    @post("/{operator_id:int}/agents", status_code=200)
    async def link_agent(self, request: Request, operator_id: int, data: AgentLink, db: Database) -> OperatorOut:
        """Link a platform agent: 422 for an unknown or gateway agent, 409 agent_already_linked when it
        is another operator's or the operator has one on that channel already."""
        async with db.session() as session:
            row = await repo.get_operator(session, operator_id)
            agent = await repo.link_agent(session, row, data.agent_id)
            await audit.record(
                session,
                current_actor(request).ref(),
                "operator.agent_linked",
                subject_type="operator",
                subject_id=row.id,
                detail={"agent_id": agent.id, "channel_id": agent.channel_id, "source_id": agent.source_id},
            )
            return await load_out(session, row)

    @delete("/{operator_id:int}/agents/{agent_id:int}", status_code=200)
    async def unlink_agent(self, request: Request, operator_id: int, agent_id: int, db: Database) -> OperatorOut:
        """Unlink a platform agent from an operator."""
        async with db.session() as session:
            row = await repo.get_operator(session, operator_id)
            await repo.unlink_agent(session, row, agent_id)
            await audit.record(
                session,
                current_actor(request).ref(),
                "operator.agent_unlinked",
                subject_type="operator",
                subject_id=row.id,
                detail={"agent_id": agent_id},
            )
            return await load_out(session, row)
