"""`/api/v1/api-keys` (admin scope): create (the key is shown once), list, revoke.

The same operations as `kefu-gateway apikey create|list|revoke`, for CRMs that rotate keys themselves.
"""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.status_codes import HTTP_201_CREATED

from gateway.api import listing, render
from gateway.api.actor import audited
from gateway.api.auth import SECURITY, require_scope
from gateway.api.listing import CursorParam, Limit
from gateway.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyOut
from gateway.db.engine import Database
from gateway.db.repositories import apikeys


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ("api keys",)
    guards = (require_scope("admin"),)
    security = SECURITY

    @post("/", status_code=HTTP_201_CREATED)
    async def create_api_key(self, request: Request, data: ApiKeyCreate, db: Database) -> ApiKeyCreated:
        """The answer's `key` is the only time the key is shown: store it now."""
        async with db.session() as session:
            row, key = await apikeys.create_key(session, name=data.name, scope=data.scope)
            detail = {"name": row.name, "scope": row.scope, "prefix": row.prefix}
            await audited(session, request, "api_key.created", subject_type="api_key", subject_id=row.id, detail=detail)
            out = render.apikey_out(row)
        return ApiKeyCreated(**{f: getattr(out, f) for f in out.__struct_fields__}, key=key)

    @get("/")
    async def list_api_keys(
        self,
        db: Database,
        include_revoked: bool = True,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
    ) -> ApiKeyList:
        """API keys with their prefix, scope and last use, by id; the keys themselves are never shown again."""
        after = listing.decode(cursor, "api_keys", (int,))
        async with db.sessions() as session:
            rows = await apikeys.list_keys(
                session, include_revoked=include_revoked, after_id=int(after[0]) if after else None, limit=limit + 1
            )
        page, more = listing.cut(rows, limit, "api_keys", lambda r: (r.id,))
        return ApiKeyList(data=[render.apikey_out(r) for r in page], next_cursor=more)

    @delete("/{key_id:int}", status_code=200)
    async def revoke_api_key(self, request: Request, key_id: int, db: Database) -> ApiKeyOut:
        """Revoke at once: the next request with this key answers 401. Idempotent."""
        async with db.session() as session:
            row = await apikeys.revoke_key(session, key_id)
            await audited(session, request, "api_key.revoked", subject_type="api_key", subject_id=key_id)
            return render.apikey_out(row)
