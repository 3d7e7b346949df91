"""Contact search without scans: exact ids through their indexes, name substrings through contact_grams.

A name matches `q` when `name ILIKE '%q%'` (wildcards in q taken literally), as before.
`contact_grams` holds every 1- and 2-character substring of each lower-cased name (kept by
triggers, see models.ContactGram). Both databases define ILIKE as LIKE over lower() of both sides,
and their lower() maps character for character, so a q of one or two characters matches exactly
the names holding lower(q) as a gram. A longer q needs all of its 2-character grams: the rarest one
drives the scan (in contact id order, which is also the keyset order), a few others filter it, and
ILIKE checks what is left. Grams of q are lower-cased by the database, with the lower() the
triggers use.

Message text (conversation `q=`) matches by the same ILIKE. On PostgreSQL the pg_trgm index serves
it directly; on SQLite a q of 3+ characters first takes its candidates from `message_fts` (an FTS5
trigram index, migration 0005), whose case folding is wider than lower()'s, so the candidates hold
every ILIKE match and ILIKE keeps exactly the scan's answers; a q found in many messages is checked
conversation by conversation in page order instead (plan_text).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, Integer, Text, column, exists, func, literal, select, table, text, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from gateway.db.models import Contact, ContactGram, ContactIdentity, Conversation, Message

COUNT_CAP = 500  # gram frequencies are compared up to this many rows each (a cheap, capped count)
FILTER_GRAMS = 3  # besides the driving gram, this many of the rarest others narrow the candidates
SAMPLE_GRAMS = 6  # a long q (an openid, a sentence) is looked up by this many of its bigrams
TRIGRAM = 3  # the shortest q the message text index can answer
WALK_AFTER = 10_000  # SQLite: messages matching q past which conversation search walks the page order

MESSAGE_FTS = table("message_fts", column("rowid", Integer), column("content", Text))  # SQLite only


def like_pattern(text: str) -> str:
    """`%text%` with LIKE wildcards in `text` escaped (escape character backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def query_grams(q: str) -> list[str]:
    """Grams a name containing `q` must have: q itself when short, else up to SAMPLE_GRAMS of its
    distinct bigrams, spread over q (any subset is correct: ILIKE checks the candidates)."""
    if len(q) <= 2:
        return [q]
    bigrams = list(dict.fromkeys(q[i : i + 2] for i in range(len(q) - 1)))
    if len(bigrams) <= SAMPLE_GRAMS:
        return bigrams
    step = (len(bigrams) - 1) / (SAMPLE_GRAMS - 1)
    return [bigrams[round(k * step)] for k in range(SAMPLE_GRAMS)]


async def plan_grams(session: AsyncSession, q: str) -> list[str] | None:
    """The grams to look up, rarest first; None when some gram occurs in no name (nothing can match)."""
    grams = query_grams(q)
    if len(grams) == 1:
        return grams
    capped = [
        select(func.count())
        .select_from(select(literal(1)).where(ContactGram.gram == func.lower(g)).limit(COUNT_CAP).subquery())
        .scalar_subquery()
        for g in grams
    ]
    counts = (await session.execute(select(*capped))).one()
    if min(counts) == 0:
        return None
    ranked = sorted(range(len(grams)), key=lambda i: counts[i])
    return [grams[i] for i in ranked[: 1 + FILTER_GRAMS]]


def name_match(grams: list[str], q: str) -> tuple[type[ContactGram], ColumnElement[bool]]:
    """(driving gram alias, condition) for contacts whose name contains q; join Contact on the alias."""
    lead = aliased(ContactGram)
    condition = lead.gram == func.lower(grams[0])
    for gram in grams[1:]:
        other = aliased(ContactGram)
        condition &= exists().where(other.gram == func.lower(gram), other.contact_id == lead.contact_id)
    if len(q) > 2:  # a short q is a gram itself: the lookup is already the exact answer
        condition &= Contact.name.ilike(like_pattern(q), escape="\\")
    return lead, condition


async def message_index(session: AsyncSession) -> bool:
    """Whether this is SQLite with `message_fts` (FTS5 trigram builds only); remembered per connection."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return False
    known = connection.info.get("message_fts")  # the DBAPI connection's own dict: checked once per connection
    if known is None:
        found = await connection.scalar(text("SELECT 1 FROM sqlite_master WHERE name = 'message_fts'"))
        known = connection.info["message_fts"] = found is not None
    return bool(known)


class TextPlan(StrEnum):
    """How conversation `q=` finds messages holding q (see plan_text)."""

    SCAN = "scan"  # ILIKE over messages: PostgreSQL's pg_trgm index serves it; on SQLite a scan
    CANDIDATES = "candidates"  # SQLite, a rare q: the messages message_fts finds, checked by ILIKE
    WALK = "walk"  # SQLite, a common q: conversations in page order, each checked; stops at the LIMIT


async def plan_text(session: AsyncSession, q: str) -> TextPlan:
    """CANDIDATES while message_fts finds fewer than WALK_AFTER messages, else WALK (a common q
    matches in many conversations: walking the page order finds a page sooner than collecting every
    match); SCAN without the index or for fewer than 3 characters."""
    if len(q) < TRIGRAM or not await message_index(session):
        return TextPlan.SCAN
    capped = select(literal(1)).where(MESSAGE_FTS.c.content.match(_fts_string(q))).limit(WALK_AFTER).subquery()
    hits = await session.scalar(select(func.count()).select_from(capped))
    return TextPlan.WALK if (hits or 0) >= WALK_AFTER else TextPlan.CANDIDATES


def conversations_with_text(q: str, plan: TextPlan) -> ColumnElement[bool]:
    """Conversations with a message whose content contains q (ILIKE, wildcards in q literal)."""
    condition: ColumnElement[bool] = Message.content.ilike(like_pattern(q), escape="\\")
    if plan is TextPlan.WALK:
        return exists().where(Message.conversation_id == Conversation.id, condition)
    if plan is TextPlan.CANDIDATES and len(q) >= TRIGRAM:  # shorter: no trigram to look up
        candidates = select(MESSAGE_FTS.c.rowid).where(MESSAGE_FTS.c.content.match(_fts_string(q)))
        condition = Message.id.in_(candidates) & condition
    return Conversation.id.in_(select(Message.conversation_id).where(condition))


def _fts_string(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'  # an FTS5 string: q's trigrams, in order


def contacts_named(grams: list[str], q: str) -> Select[int]:
    """Ids of contacts (merged ones too) whose name contains q: for conversation search."""
    lead, condition = name_match(grams, q)
    return select(lead.contact_id).join(Contact, Contact.id == lead.contact_id).where(condition)


async def search_contacts(session: AsyncSession, *, q: str | None, after_id: int | None, limit: int) -> list[Contact]:
    """Contacts not merged away, keyset by id: all of them, or those whose name contains q
    (case-insensitive) or whose external_id, unionid or an identity's source id (openid,
    external_userid) is exactly q."""
    live = Contact.merged_into_id.is_(None)
    if not q:
        query = select(Contact).where(live)
        if after_id is not None:
            query = query.where(Contact.id > after_id)
        return list(await session.scalars(query.order_by(Contact.id).limit(limit)))
    exact_ids = union(
        select(Contact.id).where(Contact.external_id == q),
        select(Contact.id).where(Contact.unionid == q),
        select(ContactIdentity.contact_id).where(ContactIdentity.source_id == q),
    )
    exact = select(Contact.id).where(live, Contact.id.in_(exact_ids))
    if after_id is not None:
        exact = exact.where(Contact.id > after_id)
    pages = [exact.order_by(Contact.id).limit(limit).subquery()]
    grams = await plan_grams(session, q)
    if grams is not None:
        named = contacts_named(grams, q).where(live)
        contact_id = named.selected_columns[0]
        if after_id is not None:
            named = named.where(contact_id > after_id)
        pages.append(named.order_by(contact_id).limit(limit).subquery())
    # each half is its own keyset page (an index walk that stops at the LIMIT); their union is
    # at most 2 × limit ids, merged here in one statement
    ids = union(*(page.select() for page in pages)) if len(pages) > 1 else pages[0].select()
    query = select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id).limit(limit)
    return list(await session.scalars(query))
