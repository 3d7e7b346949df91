"""`/api/v1/contacts`: search, read with identities, edit the CRM fields, merge two contacts.

Lists page by id (`?cursor=&limit=`, `next_cursor` in the answer: gateway.api.listing); contacts merged into another
are left out of lists but stay readable by id (their `merged_into_id` says where they went).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api import listing, render
from gateway.api.auth import SECURITY
from gateway.api.listing import CursorParam, Limit, Retired
from gateway.api.schemas import ContactMerge, ContactOut, ContactPage, ContactPatch
from gateway.db.engine import Database
from gateway.db.repositories import contacts as repo
from gateway.db.repositories import search
from gateway.db.repositories.labels import labels_of_contacts
from gateway.errors import InvalidRequest


class ContactController(Controller):
    path = "/api/v1/contacts"
    tags = ("contacts",)
    security = SECURITY

    @get("/")
    async def list_contacts(
        self,
        db: Database,
        q: Annotated[
            str | None,
            Parameter(
                max_length=256,
                description="name substring (case-insensitive; % and _ are literal), or exact external_id, "
                "unionid or identity source id (openid, external_userid)",
            ),
        ] = None,
        cursor: CursorParam = None,
        limit: Limit = listing.PAGE_DEFAULT,
        after: Retired = None,
    ) -> ContactPage:
        """Search contacts by name, identity or CRM id; pages by id."""
        listing.refuse_retired(after=after)
        position = listing.decode(cursor, "contacts", (int,))
        async with db.sessions() as session:
            rows = await search.search_contacts(
                session, q=q or None, after_id=int(position[0]) if position else None, limit=limit + 1
            )
            page, more = listing.cut(rows, limit, "contacts", lambda c: (c.id,))
            identities = await repo.list_identities(session, [c.id for c in page])
            labels = await labels_of_contacts(session, [c.id for c in page])
        return ContactPage(
            data=[render.contact_out(c, identities, labels[c.id]) for c in page],
            next_cursor=more,
        )

    @get("/{contact_id:int}")
    async def get_contact(self, contact_id: int, db: Database) -> ContactOut:
        """One contact with its identities on every channel (merged by unionid) and labels."""
        async with db.sessions() as session:
            return await _contact(session, contact_id)

    @patch("/{contact_id:int}")
    async def update_contact(self, contact_id: int, data: ContactPatch, db: Database) -> ContactOut:
        """name, external_id (the CRM's id: unique, 409 when another contact holds it; null clears it),
        attributes (merged; a key set to null is removed). Emits contact.updated when something changed."""
        async with db.session() as session:
            contact = await repo.get_contact(session, contact_id)
            await repo.update_contact(
                session,
                contact,
                name=data.name if isinstance(data.name, str) else None,
                external_id=data.external_id if isinstance(data.external_id, str) else None,
                clear_external_id=data.external_id is None,
                attributes=data.attributes if isinstance(data.attributes, dict) else None,
            )
            return await _contact(session, contact_id)

    @post("/{contact_id:int}/merge", status_code=200)
    async def merge_contact(self, contact_id: int, data: ContactMerge, db: Database) -> ContactOut:
        """Move this contact's identities and conversations into `into_contact_id`; answers the
        surviving contact. Emits contact.merged (reason "manual")."""
        async with db.session() as session:
            source = await repo.get_contact(session, contact_id)
            target = await repo.get_contact(session, data.into_contact_id)
            if source.id == target.id:
                raise InvalidRequest("cannot merge a contact into itself", field="into_contact_id")
            await repo.merge_contacts(session, source=source, target=target, reason="manual")
            return await _contact(session, target.id)


async def _contact(session: AsyncSession, contact_id: int) -> ContactOut:
    contact = await repo.get_contact(session, contact_id)
    labels = await labels_of_contacts(session, [contact.id])
    return render.contact_out(contact, await repo.list_identities(session, [contact.id]), labels[contact.id])
