"""Operators (people who sign in) and their links to platform agents.

Emails are stored lower-cased and must look like an address; roles are `agent` or `admin`.
Deactivating an operator (or changing the password) ends every session they hold. An operator
links to at most one platform agent per channel, and an agent to at most one operator. The last
active admin cannot be demoted or deactivated (409 last_admin): nobody could then manage the rest.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Agent
from gateway.db.passwords import hash_password
from gateway.db.people import Operator, OperatorAgent, OperatorSession
from gateway.db.types import utcnow
from gateway.errors import Conflict, InvalidRequest, NotFound

ROLES = ("agent", "admin")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)*$")


class EmailTaken(Conflict):
    code = "email_taken"


class AgentLinked(Conflict):
    """The platform agent belongs to another operator, or the operator has one on that channel."""

    code = "agent_already_linked"


class LastAdmin(Conflict):
    """The change would leave no active admin (nobody could manage operators, channels or keys)."""

    code = "last_admin"


def normalize_email(email: str) -> str:
    """The stored form: trimmed and lower-cased; 422 validation_error (field `email`) if not an address."""
    value = email.strip().lower()
    if len(value) > 256 or not _EMAIL.match(value):
        raise InvalidRequest("email must be an address like name@example.com", field="email")
    return value


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}", field="role")
    return role


def check_name(name: str) -> str:
    value = name.strip()
    if not value or len(value) > 128:
        raise InvalidRequest("name must have 1 to 128 characters", field="name")
    return value


async def create_operator(session: AsyncSession, *, email: str, name: str, password: str, role: str) -> Operator:
    email = normalize_email(email)
    row = Operator(
        email=email, name=check_name(name), role=check_role(role), password_hash=hash_password(password), active=True
    )
    if await by_email(session, email) is not None:
        raise EmailTaken(f"an operator with email {email} exists", field="email")
    session.add(row)
    await session.flush()
    return row


async def by_email(session: AsyncSession, email: str) -> Operator | None:
    return await session.scalar(select(Operator).where(Operator.email == email.strip().lower()))


async def get_operator(session: AsyncSession, operator_id: int) -> Operator:
    row = await session.get(Operator, operator_id)
    if row is None:
        raise NotFound(f"operator {operator_id} not found")
    return row


async def list_operators(
    session: AsyncSession, *, after_id: int | None = None, limit: int | None = None
) -> list[Operator]:
    query = select(Operator).order_by(Operator.id).limit(limit)
    if after_id is not None:
        query = query.where(Operator.id > after_id)
    return list(await session.scalars(query))


async def set_password(session: AsyncSession, operator: Operator, password: str) -> None:
    """A new hash; every session of the operator ends (a stolen cookie stops working)."""
    operator.password_hash = hash_password(password)
    await end_sessions(session, operator.id)


async def keep_an_admin(session: AsyncSession, operator: Operator, *, role: str, active: bool) -> None:
    """Refuse (409 last_admin) making `operator` (role, active) when they are the last active admin.

    Call it before changing the row. The active admins' rows are locked (FOR UPDATE, in id order so
    two callers never deadlock): of two concurrent demotions, the second waits for the first to
    commit, then no longer counts the first admin and is refused. SQLite serializes writers anyway
    (BEGIN IMMEDIATE)."""
    if role == "admin" and active:
        return
    admins = list(
        await session.scalars(
            select(Operator.id)
            .where(Operator.role == "admin", Operator.active.is_(True))
            .order_by(Operator.id)
            .with_for_update()
        )
    )
    if admins == [operator.id]:
        raise LastAdmin(f"operator {operator.id} is the last active admin; make another admin first")


async def set_active(session: AsyncSession, operator: Operator, active: bool) -> None:
    operator.active = active
    if not active:
        await end_sessions(session, operator.id)


async def end_sessions(session: AsyncSession, operator_id: int) -> None:
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_id == operator_id, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --------------------------------------------------------------------------- platform agents


async def links(session: AsyncSession, operator_ids: list[int]) -> dict[int, list[Agent]]:
    """Each operator's linked platform agents (by agent id)."""
    out: dict[int, list[Agent]] = {i: [] for i in operator_ids}
    if not operator_ids:
        return out
    rows = await session.execute(
        select(OperatorAgent.operator_id, Agent)
        .join(Agent, Agent.id == OperatorAgent.agent_id)
        .where(OperatorAgent.operator_id.in_(operator_ids))
        .order_by(Agent.id)
    )
    for operator_id, agent in rows:
        out[operator_id].append(agent)
    return out


async def link_agent(session: AsyncSession, operator: Operator, agent_id: int) -> Agent:
    """Link a platform agent; the same link again is a no-op. 422 for an unknown or gateway agent,
    409 agent_already_linked when another operator holds it or the operator has one on that channel."""
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise InvalidRequest(f"agent {agent_id} not found", field="agent_id")
    if agent.channel_id is None:
        raise InvalidRequest(f"agent {agent_id} is a gateway agent, not a platform account", field="agent_id")
    current = await session.get(OperatorAgent, agent.id)
    if current is not None:
        if current.operator_id == operator.id:
            return agent
        raise AgentLinked(f"agent {agent_id} is linked to operator {current.operator_id}", field="agent_id")
    mine = await linked_agent(session, operator.id, agent.channel_id)
    if mine is not None:
        raise AgentLinked(
            f"operator {operator.id} is linked to agent {mine.id} on channel {agent.channel_id}; unlink it first",
            field="agent_id",
        )
    session.add(OperatorAgent(agent_id=agent.id, operator_id=operator.id, channel_id=agent.channel_id))
    await session.flush()
    return agent


async def unlink_agent(session: AsyncSession, operator: Operator, agent_id: int) -> None:
    current = await session.get(OperatorAgent, agent_id)
    if current is None or current.operator_id != operator.id:
        raise NotFound(f"agent {agent_id} is not linked to operator {operator.id}")
    await session.delete(current)
    await session.flush()


async def linked_agent(session: AsyncSession, operator_id: int, channel_id: int) -> Agent | None:
    """The operator's platform agent on `channel_id`, if linked."""
    return await session.scalar(
        select(Agent)
        .join(OperatorAgent, OperatorAgent.agent_id == Agent.id)
        .where(OperatorAgent.operator_id == operator_id, OperatorAgent.channel_id == channel_id)
    )
