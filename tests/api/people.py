"""Operators for the REST tests of read state and list filters, before sign-in sessions exist here.

`people_api` serves the real app behind a test-only ASGI wrapper: a request with the header
`X-Test-Operator: <id>` still passes the real API-key middleware (it needs a write key), but the
actor the middleware stores in the scope is swapped for `Actor.of_operator(...)` of that operator,
so handlers see a signed-in operator exactly as the sign-in middleware would leave it.
Operators, labels and assignments are inserted directly (other parts of the API own those writes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from gateway.api.actor import Actor
from gateway.api.app import create_app
from gateway.db.engine import Database
from gateway.db.models import Conversation, DomainEvent
from gateway.db.people import ConversationLabel, Label, Operator
from gateway.runtime import Runtime
from gateway.sealing import SecretBox
from tests.api.support import Api, api_settings, make_keys

HEADER = "x-test-operator"


class _Scope(dict[str, Any]):
    """An ASGI scope whose "auth" entry becomes the operator's actor when the middleware sets it."""

    operator: Actor | None = None

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "auth" and self.operator is not None and isinstance(value, Actor):
            value = self.operator
        super().__setitem__(key, value)


@dataclass
class PeopleApi(Api):
    operators: dict[int, Actor] = field(default_factory=dict)

    async def as_operator(self, operator_id: int, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {HEADER: str(operator_id), **kwargs.pop("headers", {})}
        return await self.call(method, path, as_="write", headers=headers, **kwargs)

    async def operator(self, name: str, role: str = "agent", *, active: bool = True) -> int:
        async with self.db.session() as session:
            row = Operator(email=f"{name}@example.com", name=name, password_hash="-", role=role, active=active)
            session.add(row)
            await session.flush()
            self.operators[row.id] = Actor.of_operator(row.id, row.name, row.role)
            return row.id

    async def label(self, name: str, *conversation_ids: int) -> int:
        async with self.db.session() as session:
            row = Label(name=name)
            session.add(row)
            await session.flush()
            for cid in conversation_ids:
                session.add(ConversationLabel(conversation_id=cid, label_id=row.id))
            return row.id

    async def assign(self, conversation_id: int, operator_id: int | None) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(Conversation).where(Conversation.id == conversation_id).values(operator_id=operator_id)
            )

    async def events(self, type_: str) -> list[dict[str, Any]]:
        async with self.db.sessions() as session:
            rows = await session.scalars(select(DomainEvent).where(DomainEvent.type == type_).order_by(DomainEvent.id))
            return [dict(r.payload) for r in rows]


def wrap(app: Any, operators: dict[int, Actor]) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        who = dict(scope.get("headers") or []).get(HEADER.encode()) if scope["type"] == "http" else None
        if who is not None:
            scope = _Scope(scope)
            scope.operator = operators[int(who)]
        await app(scope, receive, send)

    return wrapped


@pytest.fixture
async def people_api(db: Database, box: SecretBox) -> AsyncIterator[PeopleApi]:
    settings = api_settings(db, GATEWAY_PUBLIC_URL="https://gw.example.com")
    runtime = Runtime(settings, db=db)
    app = create_app(settings, runtime=runtime, background=False)
    operators: dict[int, Actor] = {}
    try:
        transport = httpx.ASGITransport(wrap(app, operators))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield PeopleApi(client, db, box, await make_keys(db), operators=operators)
    finally:
        await runtime.stop()
