"""`POST /api/v1/conversations/{id}/notes`: a private note in the thread, never sent to the platform.

The note is a message of type `note` (content_type `text`, sender_type `operator` or `api_key`,
`author` in its render and in `content_attributes`); it is listed by `GET …/messages` with the rest
of the thread and announced as `note.created` only (gateway.db.repositories.notes).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post

from gateway.api import render
from gateway.api.actor import current_actor
from gateway.api.auth import SECURITY
from gateway.api.inbox_schemas import NoteCreate
from gateway.api.schemas import MessageOut
from gateway.db.engine import Database
from gateway.db.repositories import browse
from gateway.db.repositories.notes import add_note, check_content


@post("/api/v1/conversations/{conversation_id:int}/notes", status_code=201, tags=["notes"], security=SECURITY)
async def create_note(
    request: Request[Any, Any, Any], conversation_id: int, data: NoteCreate, db: Database
) -> MessageOut:
    """content: 1–10,000 characters (422 invalid_message when empty, note_too_long past it). Works on
    resolved conversations too; changes no reply window, quota, unread count or activity time."""
    actor = current_actor(request)
    content = check_content(data.content)
    async with db.session() as session:
        conversation = await browse.get_conversation(session, conversation_id)
        note = await add_note(session, conversation, actor.ref(), content, operator_id=actor.operator_id)
        return render.message_out(note)
