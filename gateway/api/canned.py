"""`/api/v1/canned_responses`: saved replies an agent inserts by short code (`/greet` → its text).

`GET ?q=` finds short codes starting with `q` (ignoring case) and, when `q` has 2 characters or
more, responses whose content contains it; ordered by short code, paged with `cursor`. Any key or
operator that may write can create, edit and delete them (409 short_code_taken for a taken code).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET

from gateway.api import listing, render
from gateway.api.actor import current_actor
from gateway.api.auth import SECURITY
from gateway.api.inbox_schemas import CannedCreate, CannedOut, CannedPage, CannedPatch
from gateway.api.listing import CursorParam, Limit, Retired
from gateway.db.engine import Database
from gateway.db.repositories import canned as repo


class CannedResponseController(Controller):
    path = "/api/v1/canned_responses"
    tags = ("canned responses",)
    security = SECURITY

    @get("/")
    async def list_canned(
        self,
        db: Database,
        q: Annotated[
            str | None,
            Parameter(
                max_length=64,
                description="short_code prefix (ignoring case); from 2 characters also text in the content",
            ),
        ] = None,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
        after: Retired = None,
    ) -> CannedPage:
        """Canned responses whose short code starts with `q` (or whose text contains it, from 2 characters)."""
        listing.refuse_retired(after=after)
        position = listing.decode(cursor, "canned_responses", (str,))
        async with db.sessions() as session:
            rows = await repo.search(
                session, q=q or None, after=str(position[0]) if position else None, limit=limit + 1
            )
        page, more = listing.cut(rows, limit, "canned_responses", lambda r: (r.short_code,))
        return CannedPage(data=[render.canned_out(r) for r in page], next_cursor=more)

    @post("/")
    async def create_canned(self, request: Request[Any, Any, Any], data: CannedCreate, db: Database) -> CannedOut:
        """short_code: 1–64 letters, digits, _ or -, unique ignoring case; content: 1–4,000 characters."""
        async with db.session() as session:
            row = await repo.create(
                session, current_actor(request).ref(), short_code=data.short_code, content=data.content
            )
            return render.canned_out(row)

    @get("/{canned_id:int}")
    async def get_canned(self, canned_id: int, db: Database) -> CannedOut:
        """One canned response."""
        async with db.sessions() as session:
            return render.canned_out(await repo.get(session, canned_id))

    @patch("/{canned_id:int}")
    async def update_canned(
        self, request: Request[Any, Any, Any], canned_id: int, data: CannedPatch, db: Database
    ) -> CannedOut:
        """Change a canned response's short code or text."""
        async with db.session() as session:
            row = await repo.update(
                session,
                current_actor(request).ref(),
                await repo.get(session, canned_id),
                short_code=data.short_code if data.short_code is not UNSET else None,
                content=data.content if data.content is not UNSET else None,
            )
            return render.canned_out(row)

    @delete("/{canned_id:int}", status_code=204)
    async def delete_canned(self, request: Request[Any, Any, Any], canned_id: int, db: Database) -> None:
        """Delete a canned response."""
        async with db.session() as session:
            await repo.remove(session, current_actor(request).ref(), await repo.get(session, canned_id))
