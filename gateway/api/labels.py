"""`/api/v1/labels` (the catalogue; changes need an admin) and the labels of conversations and contacts.

`POST …/{conversation_id}/labels {"labels": [...]}` adds existing labels (names ignore case); a name
the catalogue lacks answers 422 `unknown_label` naming it and writes nothing; adding a label twice
changes nothing. `DELETE …/labels/{name}` removes one. Each change emits `conversation.updated` /
`contact.updated` with `changes: {"labels": [...]}` and the actor (gateway.db.repositories.labels).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from msgspec import UNSET

from gateway.api import listing, render
from gateway.api.actor import current_actor
from gateway.api.auth import SECURITY, require_scope
from gateway.api.inbox_schemas import LabelCreate, LabelList, LabelOut, LabelPatch, Labels, LabelsAdd
from gateway.api.listing import CursorParam, Limit
from gateway.db.engine import Database
from gateway.db.models import Contact
from gateway.db.repositories import browse
from gateway.db.repositories import contacts as contact_repo
from gateway.db.repositories import labels as repo
from gateway.errors import Conflict

ADMIN = [require_scope("admin")]


class LabelController(Controller):
    path = "/api/v1/labels"
    tags = ("labels",)
    security = SECURITY

    @get("/")
    async def list_labels(
        self, db: Database, cursor: CursorParam = None, limit: Limit = listing.PAGE_DEFAULT
    ) -> LabelList:
        """Labels, by name."""
        after = listing.decode(cursor, "labels", (str, int))
        async with db.sessions() as session:
            rows = await repo.list_labels(
                session, after=(str(after[0]), int(after[1])) if after else None, limit=limit + 1
            )
        page, more = listing.cut(rows, limit, "labels", lambda label: (label.name, label.id))
        return LabelList(data=[render.label_out(label) for label in page], next_cursor=more)

    @post("/", guards=ADMIN)
    async def create_label(self, request: Request[Any, Any, Any], data: LabelCreate, db: Database) -> LabelOut:
        """name 1–64 characters, unique ignoring case (409 label_exists); color #rrggbb; description ≤ 256."""
        async with db.session() as session:
            label = await repo.create_label(
                session, current_actor(request).ref(), name=data.name, color=data.color, description=data.description
            )
            return render.label_out(label)

    @get("/{label_id:int}")
    async def get_label(self, label_id: int, db: Database) -> LabelOut:
        """One label."""
        async with db.sessions() as session:
            return render.label_out(await repo.get_label(session, label_id))

    @patch("/{label_id:int}", guards=ADMIN)
    async def update_label(
        self, request: Request[Any, Any, Any], label_id: int, data: LabelPatch, db: Database
    ) -> LabelOut:
        """A rename emits conversation.updated / contact.updated for everything carrying the label."""
        async with db.session() as session:
            label = await repo.get_label(session, label_id)
            await repo.update_label(
                session,
                current_actor(request).ref(),
                label,
                name=data.name if data.name is not UNSET else None,
                color=data.color if data.color is not UNSET else None,
                description=data.description if data.description is not UNSET else None,
            )
            return render.label_out(label)

    @delete("/{label_id:int}", guards=ADMIN, status_code=204)
    async def delete_label(self, request: Request[Any, Any, Any], label_id: int, db: Database) -> None:
        """Removes it from every conversation and contact too (each emits its update event)."""
        async with db.session() as session:
            await repo.delete_label(session, current_actor(request).ref(), await repo.get_label(session, label_id))


class ConversationLabelController(Controller):
    path = "/api/v1/conversations/{conversation_id:int}/labels"
    tags = ("labels",)
    security = SECURITY

    @get("/")
    async def conversation_labels(self, conversation_id: int, db: Database) -> Labels:
        """The labels a conversation carries."""
        async with db.sessions() as session:
            await browse.get_conversation(session, conversation_id)
            return Labels(labels=(await repo.labels_of_conversations(session, [conversation_id]))[conversation_id])

    @post("/", status_code=200)
    async def add_conversation_labels(
        self, request: Request[Any, Any, Any], conversation_id: int, data: LabelsAdd, db: Database
    ) -> Labels:
        """Answers every label the conversation carries afterwards."""
        async with db.session() as session:
            conversation = await browse.get_conversation(session, conversation_id)
            labels = await repo.by_names(session, data.labels)
            await repo.attach(session, current_actor(request).ref(), conversation=conversation, labels=labels)
            return Labels(labels=(await repo.labels_of_conversations(session, [conversation_id]))[conversation_id])

    @delete("/{name:str}", status_code=200)
    async def remove_conversation_label(
        self, request: Request[Any, Any, Any], conversation_id: int, name: str, db: Database
    ) -> Labels:
        """A label the conversation does not carry changes nothing (200); an unknown name is 422."""
        async with db.session() as session:
            conversation = await browse.get_conversation(session, conversation_id)
            (label,) = await repo.by_names(session, [name])
            await repo.detach(session, current_actor(request).ref(), conversation=conversation, label=label)
            return Labels(labels=(await repo.labels_of_conversations(session, [conversation_id]))[conversation_id])


class ContactLabelController(Controller):
    path = "/api/v1/contacts/{contact_id:int}/labels"
    tags = ("labels",)
    security = SECURITY

    @get("/")
    async def contact_labels(self, contact_id: int, db: Database) -> Labels:
        """The labels a contact carries."""
        async with db.sessions() as session:
            await contact_repo.get_contact(session, contact_id)
            return Labels(labels=(await repo.labels_of_contacts(session, [contact_id]))[contact_id])

    @post("/", status_code=200)
    async def add_contact_labels(
        self, request: Request[Any, Any, Any], contact_id: int, data: LabelsAdd, db: Database
    ) -> Labels:
        """409 for a contact merged into another (label the surviving one)."""
        async with db.session() as session:
            contact = _unmerged(await contact_repo.get_contact(session, contact_id))
            labels = await repo.by_names(session, data.labels)
            await repo.attach(session, current_actor(request).ref(), contact=contact, labels=labels)
            return Labels(labels=(await repo.labels_of_contacts(session, [contact_id]))[contact_id])

    @delete("/{name:str}", status_code=200)
    async def remove_contact_label(
        self, request: Request[Any, Any, Any], contact_id: int, name: str, db: Database
    ) -> Labels:
        """Take a label off a contact (a no-op when it was not there)."""
        async with db.session() as session:
            contact = _unmerged(await contact_repo.get_contact(session, contact_id))
            (label,) = await repo.by_names(session, [name])
            await repo.detach(session, current_actor(request).ref(), contact=contact, label=label)
            return Labels(labels=(await repo.labels_of_contacts(session, [contact_id]))[contact_id])


def _unmerged(contact: Contact) -> Contact:
    if contact.merged_into_id is not None:
        raise Conflict(
            f"contact {contact.id} was merged into {contact.merged_into_id}; label that one",
            merged_into_id=contact.merged_into_id,
        )
    return contact
