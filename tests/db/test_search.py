"""Contact search through contact_grams: same answers as an ILIKE scan, exact ids, keyset pages, grams kept in step."""

from __future__ import annotations

import random

from sqlalchemy import delete, func, select, update

from gateway.db.engine import Database
from gateway.db.models import Contact, ContactGram, ContactIdentity, Conversation, Inbox
from gateway.db.repositories import browse, search
from gateway.db.repositories.channels import ChannelRepository
from gateway.db.repositories.contacts import merge_contacts, update_contact
from gateway.sealing import SecretBox

AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
NAMES = ["王小明", "王芳", "李明", "欧阳明月", "明", "Alice Zhang", "ALICE", "bob li", "100% real", "a_b", ""]
NAMES += ["cdefghijklmnop"]


async def add_contacts(db: Database, names: list[str], box: SecretBox) -> tuple[int, dict[str, int]]:
    """A channel and one contact per name, each with an identity `src-<n>`; returns (channel id, name → id)."""
    async with db.session() as session:
        channel = await ChannelRepository(session, box).create(
            kind="wecom", name="corp", app_id="ww1", secrets={"secret": "s", "encoding_aes_key": AES_KEY}
        )
        ids = {}
        for n, name in enumerate(names):
            contact = Contact(name=name, attributes={}, unionid=f"union-{n}")
            session.add(contact)
            await session.flush()
            session.add(ContactIdentity(contact_id=contact.id, channel_id=channel.id, source_id=f"src-{n}", profile={}))
            ids[name] = contact.id
        return channel.id, ids


async def found(db: Database, q: str | None, *, after: int | None = None, limit: int = 100) -> list[str]:
    async with db.sessions() as session:
        return [c.name for c in await search.search_contacts(session, q=q, after_id=after, limit=limit)]


async def scanned(db: Database, q: str) -> list[str]:
    """The reference: the unindexed ILIKE scan the search replaces."""
    pattern = search.like_pattern(q)
    query = select(Contact.name).where(Contact.merged_into_id.is_(None), Contact.name.ilike(pattern, escape="\\"))
    async with db.sessions() as session:
        return list(await session.scalars(query.order_by(Contact.id)))


async def test_name_substrings_of_any_length(db: Database, box: SecretBox) -> None:
    await add_contacts(db, NAMES, box)
    assert await found(db, "王") == ["王小明", "王芳"]
    assert await found(db, "明") == ["王小明", "李明", "欧阳明月", "明"]
    assert await found(db, "小明") == ["王小明"]
    assert await found(db, "王小明") == ["王小明"]
    assert await found(db, "欧阳明月") == ["欧阳明月"] and await found(db, "阳明月") == ["欧阳明月"]
    assert await found(db, "明王") == [] and await found(db, "王明") == []
    assert await found(db, "alice") == ["Alice Zhang", "ALICE"]  # case-insensitive
    assert await found(db, "E zH") == ["Alice Zhang"]
    assert await found(db, "b") == ["bob li", "a_b"]
    # LIKE wildcards are literal
    assert await found(db, "%") == ["100% real"] and await found(db, "_") == ["a_b"] and await found(db, "a%") == []
    assert await found(db, "无此人123") == []
    # a long q is looked up by a sample of its bigrams, then checked whole
    assert await found(db, "DEFGHIJKLMN") == ["cdefghijklmnop"]
    assert await found(db, "defghijklmX") == [] and await found(db, "defgXijklmn") == []


async def test_same_answers_as_the_ilike_scan(db: Database, box: SecretBox) -> None:
    rng = random.Random(7)
    alphabet = "王李张明小芳欧阳abcAB _%"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(150)]
    await add_contacts(db, names, box)
    queries = {name[i : i + k] for name in names[:60] for k in (1, 2, 3, 4) for i in range(max(len(name) - k, 0) + 1)}
    queries |= {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(60)}
    for q in sorted(q for q in queries if q):
        expected = await scanned(db, q)
        assert await found(db, q, limit=1000) == expected, q


async def test_exact_ids(db: Database, box: SecretBox) -> None:
    _, ids = await add_contacts(db, NAMES, box)
    assert await found(db, "src-0") == ["王小明"]  # identity source id (openid / external_userid)
    assert await found(db, "union-2") == ["李明"]  # unionid
    async with db.session() as session:
        await update_contact(session, await session.get(Contact, ids["bob li"]), external_id="crm-9")
    assert await found(db, "crm-9") == ["bob li"]  # the CRM's external_id
    assert await found(db, "src-") == [] and await found(db, "crm") == []  # ids match whole, not by substring


async def test_keyset_pages_merge_exact_and_name_hits(db: Database, box: SecretBox) -> None:
    names = [f"明{n}" for n in range(7)] + ["other"]
    _, ids = await add_contacts(db, names, box)
    async with db.session() as session:  # a contact found by id, among the name hits
        await update_contact(session, await session.get(Contact, ids["other"]), external_id="明")
    seen: list[str] = []
    after = None
    while True:
        async with db.sessions() as session:
            page = await search.search_contacts(session, q="明", after_id=after, limit=3)
        seen += [c.name for c in page]
        if len(page) < 3:
            break
        after = page[-1].id
    assert seen == names
    assert await found(db, None, limit=4) == names[:4]
    assert await found(db, None, after=ids["明5"]) == ["明6", "other"]


async def test_grams_follow_renames_merges_and_deletes(db: Database, box: SecretBox) -> None:
    _, ids = await add_contacts(db, ["王小明", "李明"], box)
    async with db.session() as session:
        await update_contact(session, await session.get(Contact, ids["王小明"]), name="张伟")
    assert await found(db, "王") == [] and await found(db, "小明") == [] and await found(db, "张伟") == ["张伟"]
    assert await found(db, "明") == ["李明"]
    async with db.session() as session:  # merged away: no longer listed; its identity now finds the target
        await merge_contacts(
            session,
            source=await session.get(Contact, ids["李明"]),
            target=await session.get(Contact, ids["王小明"]),
            reason="manual",
        )
    assert await found(db, "明") == [] and await found(db, "src-1") == ["张伟"]
    async with db.session() as session:
        await session.execute(update(Contact).where(Contact.id == ids["李明"]).values(name="李四"))
        await session.execute(delete(ContactIdentity).where(ContactIdentity.contact_id == ids["李明"]))
        await session.execute(delete(Contact).where(Contact.id == ids["李明"]))
    async with db.sessions() as session:
        grams = dict((await session.execute(select(ContactGram.contact_id, func.count()).group_by("contact_id"))).all())
    assert grams == {ids["王小明"]: 3}  # 张, 伟, 张伟: the old name's and the deleted contact's grams are gone


async def test_conversation_q_finds_contacts_by_short_names(db: Database, box: SecretBox) -> None:
    channel, ids = await add_contacts(db, ["王小明", "李明"], box)
    async with db.session() as session:
        inbox = Inbox(channel_id=channel, source_id="kf1", settings={})
        session.add(inbox)
        await session.flush()
        for identity in await session.scalars(select(ContactIdentity)):
            session.add(Conversation(inbox_id=inbox.id, contact_id=identity.contact_id, identity_id=identity.id))
        await session.flush()
    async with db.sessions() as session:
        for q, expected in (
            ("王", {ids["王小明"]}),
            ("明", set(ids.values())),
            ("小明", {ids["王小明"]}),
            ("赵", set()),
        ):
            rows = await browse.list_conversations(session, browse.ConversationFilter(q=q), after=None, limit=10)
            assert {c.contact_id for c in rows} == expected, q
