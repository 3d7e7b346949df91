"""Who is making an API request: an API key (machines) or an operator signed in with a session (people).

The auth middleware (gateway.api.auth) resolves either into an `Actor` and stores it in the ASGI
scope; handlers read it with `current_actor(request)`. Every write records `actor.ref()` in the event
it emits and in the audit trail, so a CRM and a person show up the same way.

Operators map onto the key scopes: an `agent` may read and write, an `admin` may also administer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import ApiKey
from gateway.db.repositories import audit
from gateway.errors import Forbidden

OPERATOR_SCOPES = {"agent": "write", "admin": "admin"}


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # api_key | operator
    id: int
    name: str
    scope: str  # read | write | admin
    session_id: int | None = None  # operators: the sign-in (sessions.id)

    @classmethod
    def of_key(cls, key: ApiKey) -> Actor:
        return cls(type="api_key", id=key.id, name=key.name, scope=key.scope)

    @classmethod
    def of_operator(cls, operator_id: int, name: str, role: str, session_id: int | None = None) -> Actor:
        return cls(
            type="operator", id=operator_id, name=name, scope=OPERATOR_SCOPES.get(role, "read"), session_id=session_id
        )

    @property
    def operator_id(self) -> int | None:
        return self.id if self.type == "operator" else None

    @property
    def api_key_id(self) -> int | None:
        return self.id if self.type == "api_key" else None

    def ref(self) -> dict[str, Any]:
        """The actor as events and the audit trail record it."""
        return {"type": self.type, "id": self.id, "name": self.name}


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The authenticated actor of a /api/v1 request."""
    actor = connection.scope.get("auth")
    if not isinstance(actor, Actor):  # only reachable on a route outside /api/v1
        raise Forbidden("an API key or a signed-in operator is required")
    return actor


async def audited(
    session: AsyncSession,
    connection: ASGIConnection[Any, Any, Any, Any],
    action: str,
    *,
    subject_type: str = "",
    subject_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Record `action` by the request's actor in the audit trail, in the writer's `session` (never secrets)."""
    await audit.record(
        session,
        current_actor(connection).ref(),
        action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
    )
