"""Labels and what carries them: the label catalogue, labels on conversations and on contacts.

Names are unique without regard to case ("VIP" and "vip" are one label): the check compares
`str.casefold()` in Python over the catalogue (a few hundred rows at most), so it holds for every
script, where SQL `lower()` on SQLite only folds ASCII; the unique index on `name` backs it for
exact duplicates written concurrently. A name given to attach or detach is matched the same way.

Every change of the labels a conversation or contact carries emits `conversation.updated` /
`contact.updated` with `changes: {"labels": [<all its labels now>]}` and the actor, in the
writer's transaction; renaming or deleting a label emits them for every conversation and contact
that carried it. `labels_of_conversations` / `labels_of_contacts` batch-read the names for renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gateway.db.models import Contact, Conversation
from gateway.db.people import ContactLabel, ConversationLabel, Label
from gateway.db.repositories import audit
from gateway.db.repositories.feed import NewEvent, append_events
from gateway.db.repositories.util import insert_for
from gateway.db.types import utcnow
from gateway.errors import Conflict, InvalidRequest, NotFound

COLOR = re.compile(r"#[0-9a-fA-F]{6}")
NAME_MAX, DESCRIPTION_MAX = 64, 256


class UnknownLabel(InvalidRequest):
    """A label name that is not in the catalogue (create it first: POST /api/v1/labels)."""

    code = "unknown_label"


class LabelExists(Conflict):
    code = "label_exists"


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidRequest(f"a label name is 1–{NAME_MAX} characters (spaces around it are dropped)", field="name")
    return name


def check_color(color: str) -> str:
    if not COLOR.fullmatch(color):
        raise InvalidRequest("color is #rrggbb (six hex digits)", field="color")
    return color.lower()


async def list_labels(
    session: AsyncSession, *, after: tuple[str, int] | None = None, limit: int | None = None
) -> list[Label]:
    """By name (then id); `after` is the (name, id) of the last label of the previous page."""
    query = select(Label).order_by(Label.name, Label.id).limit(limit)
    if after is not None:
        name, ident = after
        query = query.where(or_(Label.name > name, and_(Label.name == name, Label.id > ident)))
    return list(await session.scalars(query))


async def get_label(session: AsyncSession, label_id: int) -> Label:
    label = await session.get(Label, label_id)
    if label is None:
        raise NotFound(f"label {label_id} not found")
    return label


async def by_names(session: AsyncSession, names: Iterable[str]) -> list[Label]:
    """The labels `names` name (case-insensitively, in the order given, without repeats); 422
    unknown_label naming the first name the catalogue lacks (and all of them in `labels`)."""
    catalogue = {label.name.casefold(): label for label in await list_labels(session)}
    found: dict[int, Label] = {}
    unknown: list[str] = []
    for name in names:
        label = catalogue.get(name.strip().casefold())
        if label is None:
            unknown.append(name)
        else:
            found.setdefault(label.id, label)
    if unknown:
        raise UnknownLabel(
            f"unknown label {unknown[0]!r}: create it first (POST /api/v1/labels)",
            field="labels",
            label=unknown[0],
            labels=unknown,
        )
    return list(found.values())


async def _check_unique(session: AsyncSession, name: str, *, other_than: int | None = None) -> None:
    for label in await list_labels(session):
        if label.id != other_than and label.name.casefold() == name.casefold():
            raise LabelExists(f"label {label.name!r} exists already (names ignore case)", field="name", id=label.id)


async def create_label(
    session: AsyncSession, actor: Mapping[str, Any], *, name: str, color: str, description: str
) -> Label:
    name = check_name(name)
    await _check_unique(session, name)
    label = Label(name=name, color=check_color(color), description=description)
    session.add(label)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent writer created it between the check and the flush
        raise LabelExists(f"label {name!r} exists already", field="name") from None
    await audit.record(session, actor, "label.create", subject_type="label", subject_id=label.id, detail={"name": name})
    return label


async def update_label(
    session: AsyncSession,
    actor: Mapping[str, Any],
    label: Label,
    *,
    name: str | None = None,
    color: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Change what is given; a rename re-announces the labels of everything carrying the label."""
    changes: dict[str, Any] = {}
    if name is not None and check_name(name) != label.name:
        name = check_name(name)
        await _check_unique(session, name, other_than=label.id)
        label.name = changes["name"] = name
    if color is not None and check_color(color) != label.color:
        label.color = changes["color"] = check_color(color)
    if description is not None and description != label.description:
        label.description = changes["description"] = description
    if not changes:
        return changes
    label.updated_at = utcnow()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise LabelExists(f"label {name!r} exists already", field="name") from None
    await audit.record(session, actor, "label.update", subject_type="label", subject_id=label.id, detail=changes)
    if "name" in changes:
        conversations, contacts = await _carriers(session, label.id)
        await announce(session, actor, conversations=conversations, contacts=contacts)
    return changes


async def delete_label(session: AsyncSession, actor: Mapping[str, Any], label: Label) -> None:
    """Remove the label from the catalogue and from everything that carries it."""
    conversations, contacts = await _carriers(session, label.id)
    await session.execute(delete(ConversationLabel).where(ConversationLabel.label_id == label.id))
    await session.execute(delete(ContactLabel).where(ContactLabel.label_id == label.id))
    await audit.record(
        session, actor, "label.delete", subject_type="label", subject_id=label.id, detail={"name": label.name}
    )
    await session.delete(label)
    await session.flush()
    await announce(session, actor, conversations=conversations, contacts=contacts)


async def _carriers(session: AsyncSession, label_id: int) -> tuple[list[int], list[int]]:
    conversations = await session.scalars(
        select(ConversationLabel.conversation_id).where(ConversationLabel.label_id == label_id)
    )
    contacts = await session.scalars(select(ContactLabel.contact_id).where(ContactLabel.label_id == label_id))
    return sorted(conversations), sorted(contacts)


# --------------------------------------------------------------------------- labels on things


async def labels_of_conversations(session: AsyncSession, ids: Iterable[int]) -> dict[int, list[str]]:
    """conversation id → its label names, sorted (every id given is a key; [] when none)."""
    return await _labels_of(session, ConversationLabel.conversation_id, ConversationLabel.label_id, ids)


async def labels_of_contacts(session: AsyncSession, ids: Iterable[int]) -> dict[int, list[str]]:
    """contact id → its label names, sorted (every id given is a key; [] when none)."""
    return await _labels_of(session, ContactLabel.contact_id, ContactLabel.label_id, ids)


async def _labels_of(
    session: AsyncSession, owner: InstrumentedAttribute[int], label: InstrumentedAttribute[int], ids: Iterable[int]
) -> dict[int, list[str]]:
    """One query for a page: owner id → label names, sorted, through a link table (`owner`, `label`)."""
    wanted = sorted(set(ids))
    out: dict[int, list[str]] = {i: [] for i in wanted}
    if wanted:
        rows = await session.execute(
            select(owner, Label.name)
            .join(Label, Label.id == label)
            .where(owner.in_(wanted))
            .order_by(owner, Label.name)
        )
        for owner_id, name in rows:
            out[owner_id].append(name)
    return out


async def attach(
    session: AsyncSession,
    actor: Mapping[str, Any],
    *,
    conversation: Conversation | None = None,
    contact: Contact | None = None,
    labels: Sequence[Label],
) -> bool:
    """Add `labels` to one conversation or contact (those it carries already are skipped); emits
    the update event when something was added. Returns whether anything was."""
    model, key, owner_id = _target(conversation, contact)
    rows = [{key: owner_id, "label_id": label.id, "created_at": utcnow()} for label in labels]
    stmt = insert_for(session, model).values(rows).on_conflict_do_nothing()
    stmt = stmt.returning(model.label_id)
    try:
        async with session.begin_nested():
            added = list(await session.scalars(stmt))
    except IntegrityError:  # a label deleted by a concurrent writer since by_names read it
        raise UnknownLabel("a label was deleted meanwhile: read the labels again", field="labels") from None
    if added:
        await _changed(session, actor, "add", conversation, contact, [lb.name for lb in labels if lb.id in added])
    return bool(added)


async def detach(
    session: AsyncSession,
    actor: Mapping[str, Any],
    *,
    conversation: Conversation | None = None,
    contact: Contact | None = None,
    label: Label,
) -> bool:
    """Remove one label; a label the target does not carry changes nothing (no event)."""
    model, key, owner_id = _target(conversation, contact)
    result = await session.execute(
        delete(model).where(getattr(model, key) == owner_id, model.label_id == label.id).returning(model.label_id)
    )
    removed = bool(result.first())
    if removed:
        await _changed(session, actor, "remove", conversation, contact, [label.name])
    return removed


def _target(conversation: Conversation | None, contact: Contact | None) -> tuple[Any, str, int]:
    if conversation is not None:
        return ConversationLabel, "conversation_id", conversation.id
    if contact is None:
        raise ValueError("a conversation or a contact")
    return ContactLabel, "contact_id", contact.id


async def _changed(
    session: AsyncSession,
    actor: Mapping[str, Any],
    verb: str,
    conversation: Conversation | None,
    contact: Contact | None,
    names: list[str],
) -> None:
    subject = "conversation" if conversation is not None else "contact"
    subject_id = conversation.id if conversation is not None else contact.id if contact is not None else None
    action = f"{subject}.labels.{verb}"
    await audit.record(session, actor, action, subject_type=subject, subject_id=subject_id, detail={"labels": names})
    await announce(
        session,
        actor,
        conversations=[conversation.id] if conversation is not None else [],
        contacts=[contact.id] if contact is not None else [],
    )


async def announce(
    session: AsyncSession, actor: Mapping[str, Any], *, conversations: Sequence[int], contacts: Sequence[int]
) -> None:
    """`conversation.updated` / `contact.updated` with the labels each now carries (after flush)."""
    await session.flush()
    events: list[NewEvent] = []
    if conversations:
        names = await labels_of_conversations(session, conversations)
        rows = await session.execute(
            select(
                Conversation.id,
                Conversation.contact_id,
                Conversation.status,
                Conversation.assignee_id,
                Conversation.platform_state,
            )
            .where(Conversation.id.in_(sorted(set(conversations))))
            .order_by(Conversation.id)
        )
        for cid, contact_id, status, assignee_id, platform_state in rows:
            payload = {
                "conversation_id": cid,
                "changes": {"labels": names[cid]},
                "status": status,
                "assignee_id": assignee_id,
                "platform_state": platform_state,
                "labels": names[cid],
                "actor": dict(actor),
            }
            events.append(NewEvent("conversation.updated", payload, cid, contact_id))
    if contacts:
        names = await labels_of_contacts(session, contacts)
        for contact_id in sorted(names):
            payload = {"contact_id": contact_id, "changes": {"labels": names[contact_id]}, "actor": dict(actor)}
            events.append(NewEvent("contact.updated", payload, None, contact_id))
    await append_events(session, events)
