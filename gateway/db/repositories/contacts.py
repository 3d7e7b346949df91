"""Contacts and their identities: lookup, creation, unionid merge (with an audit trail)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Contact, ContactIdentity, Conversation
from gateway.db.people import ContactLabel
from gateway.db.repositories.conversations import where_in
from gateway.db.repositories.feed import NewEvent, append_event, append_events
from gateway.db.repositories.util import insert_for, is_postgres
from gateway.db.types import utcnow
from gateway.domain import ContactProfile
from gateway.errors import Conflict, InvalidRequest, NotFound


async def identities_by_source(
    session: AsyncSession, channel_id: int, source_ids: Iterable[str]
) -> dict[str, ContactIdentity]:
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    rows = await session.scalars(
        select(ContactIdentity).where(ContactIdentity.channel_id == channel_id, ContactIdentity.source_id.in_(ids))
    )
    return {row.source_id: row for row in rows}


class IdentityRef(NamedTuple):
    """An identity's keys without an ORM object (a sync page looks up a thousand at a time)."""

    id: int
    contact_id: int
    source_id: str


async def identity_refs_by_source(
    session: AsyncSession, channel_id: int, source_ids: Iterable[str]
) -> dict[str, IdentityRef]:
    """`identities_by_source` as plain rows: what ingest needs to file messages (no profile, no ORM)."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    c = ContactIdentity.__table__.c  # table columns: a plain Core SELECT, no ORM pass over the rows
    query = select(c.id, c.contact_id, c.source_id).where(c.channel_id == channel_id)
    rows = await session.execute(where_in(session, query, c.source_id, ids))
    return {row.source_id: IdentityRef(row.id, row.contact_id, row.source_id) for row in rows}


async def contact_by_unionid(session: AsyncSession, unionid: str) -> Contact | None:
    return await session.scalar(select(Contact).where(Contact.unionid == unionid, Contact.merged_into_id.is_(None)))


async def create_identity(
    session: AsyncSession, channel_id: int, source_id: str, profile: ContactProfile | None
) -> tuple[ContactIdentity, bool]:
    """A new identity; joins the contact holding the same unionid, else a new contact.

    Returns (identity, contact_created).
    """
    contact = await contact_by_unionid(session, profile.unionid) if profile and profile.unionid else None
    created = contact is None
    if contact is None:
        contact = Contact(
            name=(profile.name if profile and profile.name else ""),
            avatar_url=profile.avatar_url if profile else None,
            gender=profile.gender if profile else None,
            unionid=profile.unionid if profile else None,
            attributes={},
        )
        session.add(contact)
        await session.flush()
        await append_event(
            session, "contact.created", {"contact_id": contact.id, "name": contact.name}, contact_id=contact.id
        )
    identity = ContactIdentity(
        contact_id=contact.id,
        channel_id=channel_id,
        source_id=source_id,
        unionid=profile.unionid if profile else None,
        profile=_profile_dict(profile),
        profile_fetched_at=utcnow() if profile else None,
    )
    session.add(identity)
    await session.flush()
    return identity, created


async def create_identities(
    session: AsyncSession, channel_id: int, wanted: list[tuple[str, ContactProfile | None]]
) -> dict[str, IdentityRef]:
    """Many new identities at once: contacts found by unionid or created, then the identities, each
    kind in one executemany. Raises IntegrityError when a concurrent writer got one first (the caller
    runs this in a savepoint and falls back to `create_identity` one by one)."""
    unionids = sorted({p.unionid for _, p in wanted if p is not None and p.unionid})
    owners: dict[str, int] = {}
    if unionids:
        rows = await session.execute(
            select(Contact.unionid, Contact.id).where(Contact.unionid.in_(unionids), Contact.merged_into_id.is_(None))
        )
        owners = {unionid: contact_id for unionid, contact_id in rows if unionid is not None}
    now = utcnow()
    new_contacts: list[dict[str, Any]] = []
    claimed: dict[str, int] = {}  # unionid → index in new_contacts (one person, two new identities)
    plan: list[tuple[str, ContactProfile | None, int | None, int | None]] = []  # source, profile, id, new index
    for source_id, profile in wanted:
        unionid = profile.unionid if profile is not None else None
        if unionid and unionid in owners:
            plan.append((source_id, profile, owners[unionid], None))
            continue
        if unionid and unionid in claimed:
            plan.append((source_id, profile, None, claimed[unionid]))
            continue
        if unionid:
            claimed[unionid] = len(new_contacts)
        plan.append((source_id, profile, None, len(new_contacts)))
        new_contacts.append(
            {
                "name": (profile.name if profile and profile.name else ""),
                "avatar_url": profile.avatar_url if profile else None,
                "gender": profile.gender if profile else None,
                "unionid": unionid,
                "external_id": None,
                "merged_into_id": None,
                "attributes": {},
                "created_at": now,
                "updated_at": now,
            }
        )
    new_ids: list[int] = []
    if new_contacts:
        new_ids = await _insert_contacts(session, new_contacts)
        await append_events(
            session,
            (
                NewEvent("contact.created", {"contact_id": contact_id, "name": row["name"]}, contact_id=contact_id)
                for contact_id, row in zip(new_ids, new_contacts, strict=True)
            ),
        )
    identity_rows = [
        {
            "contact_id": contact_id if contact_id is not None else new_ids[index],  # type: ignore[index]
            "channel_id": channel_id,
            "source_id": source_id,
            "unionid": profile.unionid if profile else None,
            "profile": _profile_dict(profile),
            "profile_fetched_at": now if profile else None,
            "created_at": now,
            "updated_at": now,
        }
        for source_id, profile, contact_id, index in plan
    ]
    table = ContactIdentity.__table__
    created = await session.execute(
        insert(table).returning(table.c.id, table.c.contact_id, table.c.source_id), identity_rows
    )
    return {row.source_id: IdentityRef(row.id, row.contact_id, row.source_id) for row in created}


async def _insert_contacts(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert new contacts in one statement; their ids in the order of `rows`."""
    table = Contact.__table__
    if is_postgres(session):
        result = await session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        return [row[0] for row in result]
    # SQLite cannot tell which RETURNING row belongs to which VALUES row, so SQLAlchemy would send one
    # INSERT per contact. Number them as SQLite would (max(id) + 1, + 2, …): SQLite has one writer, and
    # should another commit between the two statements the INSERT fails on the primary key (the
    # caller's savepoint then goes one by one), it never misnumbers.
    first = int(await session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    await session.execute(insert(table), [{**row, "id": new_id} for new_id, row in zip(ids, rows, strict=True)])
    return ids


async def apply_profile(session: AsyncSession, identity: ContactIdentity, profile: ContactProfile) -> None:
    """Refresh an identity's profile; a newly learnt unionid may merge two contacts."""
    identity.profile = _profile_dict(profile)
    identity.profile_fetched_at = utcnow()
    contact = await session.get(Contact, identity.contact_id)
    assert contact is not None
    changed: dict[str, Any] = {}
    if profile.name and not contact.name:
        contact.name = changed["name"] = profile.name
    if profile.avatar_url and not contact.avatar_url:
        contact.avatar_url = changed["avatar_url"] = profile.avatar_url
    if profile.unionid and identity.unionid != profile.unionid:
        identity.unionid = profile.unionid
        for _ in range(3):
            owner = await contact_by_unionid(session, profile.unionid)
            if owner is not None:
                if owner.id != contact.id:
                    await merge_contacts(session, source=contact, target=owner, reason="unionid")
                    return
                break
            try:  # a concurrent writer may claim this unionid first: then merge into theirs
                async with session.begin_nested():
                    contact.unionid = profile.unionid
                    await session.flush()
                changed["unionid"] = profile.unionid
                break
            except IntegrityError:
                await session.refresh(contact)
                await session.refresh(identity)
                identity.unionid = profile.unionid
    if changed:
        await session.flush()
        await append_event(
            session, "contact.updated", {"contact_id": contact.id, "changes": changed}, contact_id=contact.id
        )


async def merge_contacts(session: AsyncSession, *, source: Contact, target: Contact, reason: str) -> Contact:
    """Move every identity and conversation of `source` to `target`; `source` points at it."""
    if source.id == target.id:
        raise InvalidRequest("cannot merge a contact into itself", field="contact_id")
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise InvalidRequest("contact was already merged", field="contact_id")
    await session.execute(
        update(ContactIdentity).where(ContactIdentity.contact_id == source.id).values(contact_id=target.id)
    )
    await session.execute(update(Conversation).where(Conversation.contact_id == source.id).values(contact_id=target.id))
    await _move_labels(session, source.id, target.id)
    if target.unionid is None and source.unionid is not None:
        unionid, source.unionid = source.unionid, None
        await session.flush()
        target.unionid = unionid
    else:
        source.unionid = None
    if not target.name and source.name:
        target.name = source.name
    if target.external_id is None and source.external_id is not None:
        external_id, source.external_id = source.external_id, None
        await session.flush()
        target.external_id = external_id
    target.attributes = {**source.attributes, **target.attributes}
    source.merged_into_id = target.id
    await session.flush()
    await append_event(
        session,
        "contact.merged",
        {"contact_id": target.id, "merged_contact_id": source.id, "reason": reason},
        contact_id=target.id,
    )
    return target


async def get_contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    return contact


async def list_identities(session: AsyncSession, contact_ids: Iterable[int]) -> list[ContactIdentity]:
    ids = list(set(contact_ids))
    if not ids:
        return []
    return list(
        await session.scalars(
            select(ContactIdentity).where(ContactIdentity.contact_id.in_(ids)).order_by(ContactIdentity.id)
        )
    )


def _profile_dict(profile: ContactProfile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    out: dict[str, Any] = {"name": profile.name, "avatar_url": profile.avatar_url, "gender": profile.gender}
    if profile.raw:
        out["raw"] = profile.raw
    return {k: v for k, v in out.items() if v is not None}


async def update_contact(
    session: AsyncSession,
    contact: Contact,
    *,
    name: str | None = None,
    external_id: str | None = None,
    clear_external_id: bool = False,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """CRM edit: name, the CRM's external_id (unique: Conflict), attributes merged (None removes a key).

    Emits contact.updated with what changed; returns the changes (empty when nothing did).
    """
    if contact.merged_into_id is not None:
        raise Conflict(f"contact {contact.id} was merged into {contact.merged_into_id}; edit that one")
    changes: dict[str, Any] = {}
    if name is not None and name != contact.name:
        contact.name = changes["name"] = name
    if clear_external_id and contact.external_id is not None:
        contact.external_id = changes["external_id"] = None
    elif external_id is not None and external_id != contact.external_id:
        owner = await session.scalar(select(Contact.id).where(Contact.external_id == external_id))
        if owner is not None:
            raise Conflict(f"external_id {external_id!r} belongs to contact {owner}", field="external_id")
        contact.external_id = changes["external_id"] = external_id
    if attributes:
        merged = {**contact.attributes, **attributes}
        merged = {k: v for k, v in merged.items() if v is not None}
        if merged != contact.attributes:
            contact.attributes = changes["attributes"] = merged
    if changes:
        contact.updated_at = utcnow()
        try:
            await session.flush()
        except IntegrityError:  # a concurrent writer took the external_id between check and flush
            raise Conflict("external_id is taken", field="external_id") from None
        await append_event(
            session, "contact.updated", {"contact_id": contact.id, "changes": changes}, contact_id=contact.id
        )
    return changes


async def _move_labels(session: AsyncSession, source_id: int, target_id: int) -> None:
    """A merged contact's labels go to the contact it is merged into (those it carries already stay)."""
    labels = select(literal(target_id), ContactLabel.label_id, ContactLabel.created_at).where(
        ContactLabel.contact_id == source_id
    )
    await session.execute(
        insert_for(session, ContactLabel)
        .from_select(["contact_id", "label_id", "created_at"], labels)
        .on_conflict_do_nothing()
    )
    await session.execute(delete(ContactLabel).where(ContactLabel.contact_id == source_id))
