"""Benchmark 3: inbox reads at scale — 100,000 conversations, 1,000,000 messages; p50/p95 of the read paths.

The database is built with `alembic upgrade head` (the real tables and indexes) and seeded with
bulk Core inserts, not through ingest: 2 channels, 10 inboxes (9 WeCom kf accounts + 1 MP
account), 50 agents, 80,000 contacts with one identity each, 100,000 conversations (20,000
contacts have a resolved older one; statuses ≈ 70 % resolved, 12 % pending, 6 % queued, 12 %
open, last activity spread over 90 days) and 1,000,000 messages spread over them at random
(≈10 per conversation).

Each case is timed `--repeat` times with varying parameters (inboxes, statuses, deep cursors
sampled between 30 % and 95 % of the filtered list, random conversations and names), two ways:

- repo: the repository calls the endpoint makes (gateway/db/repositories/browse.py,
  search.search_contacts), each in its own session, as the controller does;
- http: GET through the ASGI app (create_app, httpx.ASGITransport, a read API key), so
  auth middleware, validation and rendering are included.

SQLite is measured as the gateway leaves it (no ANALYZE ever runs) and again after ANALYZE;
PostgreSQL after VACUUM ANALYZE. Target: p95 < 10 ms.

    .venv/bin/python -m tests.bench.inbox_reads [--db sqlite|postgresql|both] [--conversations 100000]
        [--messages 1000000] [--repeat 200] [--only "operator list,unread total"]

The people cases (the operator's list with unread_count / last_message / labels, the unread
total) are in tests/bench/inbox_people.py; their targets are p95 < 10 ms and < 20 ms.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from tests.bench.common import (
    CpuWatch,
    add_api_key,
    add_channel,
    database_kinds,
    fresh_database,
    heading,
    percentiles,
    run,
    save,
    settings_for,
)
from tests.bench.inbox_people import people_cases, seed_people, target_ms

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "小龙",
    "建华",
    "文",
    "华",
    "红",
    "玉兰",
    "晓",
    "婷",
    "雪",
    "慧",
    "宇",
    "浩",
    "欣",
]
PHRASES = [
    "你好，我的订单还没发货",
    "请问什么时候能到",
    "可以开发票吗",
    "这个颜色还有货吗",
    "退款多久到账",
    "谢谢！",
    "好的，收到",
    "地址写错了，能改吗",
    "优惠券用不了",
    "客服在吗",
    "想咨询一下会员权益",
    "发个链接给我",
    "已经签收了，质量很好",
    "尺码偏大还是偏小",
    "能便宜一点吗",
]
STATUSES = (["resolved"] * 70) + (["pending"] * 12) + (["queued"] * 6) + (["open"] * 12)
BATCH = 10_000


async def seed(url: str, *, conversations: int, messages: int, contacts: int) -> dict[str, Any]:
    """Bulk-insert the data set; returns ids the cases sample from."""
    from gateway.db.engine import Database
    from gateway.db.models import Agent, Contact, ContactIdentity, Conversation, Inbox, Message

    rng = random.Random(3)
    now = datetime.now(UTC)
    wecom = await add_channel(url, "wecom", app_id="wwreadsbench0001", token="t", name="wecom")
    mp = await add_channel(url, "mp", app_id="wxreadsbench0001", token="t", name="mp", callback_mode="safe")
    db = Database(url)
    started = time.perf_counter()

    async def insert(table: Any, rows: list[dict[str, Any]]) -> None:
        for offset in range(0, len(rows), BATCH):
            async with db.engine.begin() as connection:
                await connection.execute(table.__table__.insert(), rows[offset : offset + BATCH])

    try:
        inbox_rows = [
            {
                "id": n + 1,
                "channel_id": wecom,
                "source_id": f"wkReadsBench{n:018d}",
                "name": f"客服{n + 1}",
                "settings": {},
                "enabled": True,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(9)
        ]
        inbox_rows.append(
            {
                "id": 10,
                "channel_id": mp,
                "source_id": "wxreadsbench0001",
                "name": "公众号",
                "settings": {},
                "enabled": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        await insert(Inbox, inbox_rows)
        agent_rows = [
            {
                "id": n + 1,
                "channel_id": wecom if n < 40 else mp,
                "source_id": f"agent{n:03d}",
                "name": f"坐席{n}",
                "status": "online",
                "raw": {},
                "created_at": now,
                "updated_at": now,
            }
            for n in range(50)
        ]
        await insert(Agent, agent_rows)

        contact_rows, identity_rows, names, source_ids = [], [], [], []
        channel_of = []
        for n in range(contacts):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            names.append(name)
            on_wecom = rng.random() < 0.75
            channel_of.append(wecom if on_wecom else mp)
            source = f"wm{n:08d}ReadsBenchExternalUser" if on_wecom else f"o{n:08d}ReadsBenchOpenid"
            source_ids.append(source)
            created = now - timedelta(days=120 * rng.random() + 90)
            contact_rows.append(
                {
                    "id": n + 1,
                    "name": name,
                    "unionid": f"U-reads-{n:08d}",
                    "attributes": {},
                    "created_at": created,
                    "updated_at": created,
                }
            )
            identity_rows.append(
                {
                    "id": n + 1,
                    "contact_id": n + 1,
                    "channel_id": channel_of[-1],
                    "source_id": source,
                    "unionid": f"U-reads-{n:08d}",
                    "profile": {"name": name},
                    "created_at": created,
                    "updated_at": created,
                }
            )
        await insert(Contact, contact_rows)
        await insert(ContactIdentity, identity_rows)

        conversation_rows = []
        for n in range(conversations):
            contact = n % contacts
            older = n < contacts and contact < conversations - contacts  # this contact has a later conversation
            status = "resolved" if older else rng.choice(STATUSES)
            channel = channel_of[contact]
            inbox = rng.randint(1, 9) if channel == wecom else 10
            last = now - timedelta(seconds=rng.random() * 90 * 86_400)
            if older:
                last -= timedelta(days=90)
            agents = range(1, 41) if channel == wecom else range(41, 51)
            conversation_rows.append(
                {
                    "id": n + 1,
                    "inbox_id": inbox,
                    "contact_id": contact + 1,
                    "identity_id": contact + 1,
                    "active_key": None if status == "resolved" else f"{inbox}:{contact + 1}",
                    "status": status,
                    "platform_state": {"pending": "0", "queued": "2", "open": "3", "resolved": "4"}[status],
                    "assignee_id": rng.choice(agents) if status == "open" else None,
                    "replies_since_incoming": 0,
                    "replies_since_event": 0,
                    "last_incoming_at": last,
                    "last_activity_at": last,
                    "created_at": last - timedelta(hours=2),
                    "updated_at": last,
                    "resolved_at": last if status == "resolved" else None,
                }
            )
        await insert(Conversation, conversation_rows)
        print(f"  parents seeded in {time.perf_counter() - started:.1f} s")

        conv_meta = [(r["inbox_id"], r["last_activity_at"]) for r in conversation_rows]
        rows: list[dict[str, Any]] = []
        for n in range(messages):
            conversation = rng.randrange(conversations)
            inbox, last = conv_meta[conversation]
            outgoing = rng.random() < 0.35
            content = f"{rng.choice(PHRASES)} #{n}"
            at = last - timedelta(seconds=rng.random() * 7200)
            msgid = f"msg{n:010d}"
            rows.append(
                {
                    "conversation_id": conversation + 1,
                    "inbox_id": inbox,
                    "source_id": msgid,
                    "message_type": "outgoing" if outgoing else "incoming",
                    "sender_type": "agent" if outgoing else "contact",
                    "content_type": "text",
                    "content": content,
                    "content_attributes": {},
                    "raw": {"msgid": msgid, "msgtype": "text", "text": {"content": content}},
                    "status": "sent" if outgoing else "received",
                    "sent_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if len(rows) == 100_000:
                await insert(Message, rows)
                rows = []
                print(f"  {n + 1} messages ({time.perf_counter() - started:.0f} s)")
        if rows:
            await insert(Message, rows)
        seconds = time.perf_counter() - started
        print(f"  seeded in {seconds:.1f} s")
        return {"names": names, "source_ids": source_ids, "conversations": conversations, "seed_seconds": seconds}
    finally:
        await db.dispose()


async def analyze(url: str) -> None:
    from gateway.db.engine import Database

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            if db.is_sqlite:
                await connection.execute(text("ANALYZE"))
                await connection.commit()
            else:
                # VACUUM as autovacuum would after a bulk load: it sets the visibility map, without
                # which PostgreSQL cannot answer from an index alone (ANALYZE only gathers statistics).
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await db.dispose()


async def deep_cursors(db: Any, where: str, rng: random.Random, count: int = 20) -> list[tuple[datetime, int]]:
    """Keyset positions between 30 % and 95 % of the rows matching `where`."""
    from gateway.db.types import UTCDateTime

    out = []
    async with db.engine.connect() as connection:
        total = await connection.scalar(text(f"SELECT count(*) FROM conversations WHERE {where}"))
        for _ in range(count):
            offset = int(total * rng.uniform(0.30, 0.95))
            row = (
                await connection.execute(
                    text(
                        f"SELECT last_activity_at, id FROM conversations WHERE {where} "
                        f"ORDER BY last_activity_at DESC, id DESC LIMIT 1 OFFSET {offset}"
                    )
                )
            ).one()
            at = UTCDateTime().process_result_value(row[0], db.engine.dialect)
            out.append((at, row[1]))
    return out


async def measure_all(url: str, data: dict[str, Any], repeat: int, label: str, only: str = "") -> dict[str, Any]:
    from gateway.api.app import create_app
    from gateway.api.listing import conversation_cursor, encode
    from gateway.db.engine import Database
    from gateway.db.repositories import browse, search
    from gateway.db.repositories import contacts as contact_repo

    def older_page(conversation_id: int, message_id: int) -> str:
        cursor = encode(f"messages:{conversation_id}:older", (message_id,))
        return f"/api/v1/conversations/{conversation_id}/messages?cursor={cursor}"

    rng = random.Random(4)
    db = Database(url)
    key = await add_api_key(url, "read")
    app = create_app(settings_for(url), background=False)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://gateway", headers={"Authorization": f"Bearer {key}"}
    )
    results: dict[str, Any] = {}
    try:
        async with db.sessions() as session:
            rich = list(
                await session.scalars(
                    text(
                        "SELECT conversation_id FROM messages GROUP BY conversation_id ORDER BY count(*) DESC LIMIT 50"
                    )
                )
            )
            sample_message_ids = {}
            for cid in rich:
                ids = list(
                    await session.scalars(text(f"SELECT id FROM messages WHERE conversation_id = {cid} ORDER BY id"))
                )
                sample_message_ids[cid] = ids[len(ids) // 2]
        deep = {
            "all": await deep_cursors(db, "1=1", rng),
            "open": await deep_cursors(db, "status = 'open'", rng),
            "pending": await deep_cursors(db, "status = 'pending'", rng),
            "inbox": await deep_cursors(db, "inbox_id = 3", rng),
        }

        async def page(filters: browse.ConversationFilter, after: tuple[datetime, int] | None) -> None:
            async with db.sessions() as session:
                await browse.conversation_page(session, filters, after=after, limit=51)

        async def thread(conversation_id: int, before: int | None) -> None:
            async with db.sessions() as session:
                await browse.get_conversation(session, conversation_id)
                await browse.list_messages(session, conversation_id, before=before, after=None, limit=50)

        async def contacts(q: str) -> None:
            async with db.sessions() as session:
                rows = await search.search_contacts(session, q=q, after_id=None, limit=51)
                await contact_repo.list_identities(session, [c.id for c in rows[:50]])

        def q_name() -> str:
            return rng.choice(data["names"])

        F = browse.ConversationFilter
        n_conv = data["conversations"]
        cases: dict[str, tuple[Callable[[], Awaitable[Any]], Callable[[], str], int]] = {
            "list: all, first page": (lambda: page(F(), None), lambda: "/api/v1/conversations", repeat),
            "list: all, deep page": (
                lambda: page(F(), rng.choice(deep["all"])),
                lambda: f"/api/v1/conversations?cursor={conversation_cursor(*rng.choice(deep['all']))}",
                repeat,
            ),
            "list: status=open, first page": (
                lambda: page(F(status="open"), None),
                lambda: "/api/v1/conversations?status=open",
                repeat,
            ),
            "list: status=open, deep page": (
                lambda: page(F(status="open"), rng.choice(deep["open"])),
                lambda: f"/api/v1/conversations?status=open&cursor={conversation_cursor(*rng.choice(deep['open']))}",
                repeat,
            ),
            "list: status=pending, deep page": (
                lambda: page(F(status="pending"), rng.choice(deep["pending"])),
                lambda: (
                    f"/api/v1/conversations?status=pending&cursor={conversation_cursor(*rng.choice(deep['pending']))}"
                ),
                repeat,
            ),
            "list: inbox, first page": (
                lambda: page(F(inbox_id=rng.randint(1, 10)), None),
                lambda: f"/api/v1/conversations?inbox_id={rng.randint(1, 10)}",
                repeat,
            ),
            "list: inbox, deep page": (
                lambda: page(F(inbox_id=3), rng.choice(deep["inbox"])),
                lambda: f"/api/v1/conversations?inbox_id=3&cursor={conversation_cursor(*rng.choice(deep['inbox']))}",
                repeat,
            ),
            "list: inbox + status=pending, first page": (
                lambda: page(F(inbox_id=rng.randint(1, 10), status="pending"), None),
                lambda: f"/api/v1/conversations?inbox_id={rng.randint(1, 10)}&status=pending",
                repeat,
            ),
            "list: assignee + status=open, first page": (
                lambda: page(F(assignee_id=rng.randint(1, 50), status="open"), None),
                lambda: f"/api/v1/conversations?assignee_id={rng.randint(1, 50)}&status=open",
                repeat,
            ),
            "thread: newest 50 messages": (
                lambda: thread(rng.randint(1, n_conv), None),
                lambda: f"/api/v1/conversations/{rng.randint(1, n_conv)}/messages",
                repeat,
            ),
            "thread: older page (before=)": (  # the name results were recorded under; now an older cursor
                lambda: thread(*rng.choice(list(sample_message_ids.items()))),
                lambda: older_page(*rng.choice(list(sample_message_ids.items()))),
                repeat,
            ),
            "contacts: search by name": (lambda: contacts(q_name()), lambda: f"/api/v1/contacts?q={q_name()}", repeat),
            "contacts: search by surname (many hits)": (
                lambda: contacts(rng.choice(SURNAMES)),
                lambda: f"/api/v1/contacts?q={rng.choice(SURNAMES)}",
                repeat,
            ),
            "contacts: exact external_userid/openid": (
                lambda: contacts(rng.choice(data["source_ids"])),
                lambda: f"/api/v1/contacts?q={rng.choice(data['source_ids'])}",
                repeat,
            ),
            "contacts: search, no match": (
                lambda: contacts(f"无此人{rng.randint(0, 10**6)}"),
                lambda: f"/api/v1/contacts?q=无此人{rng.randint(0, 10**6)}",
                repeat,
            ),
            "list: text search q= (messages LIKE)": (
                lambda: page(F(q=f"#{rng.randint(0, 10**6)}x"), None),
                lambda: f"/api/v1/conversations?q=%23{rng.randint(0, 10**6)}x",
                max(5, repeat // 20),
            ),
            "list: text search q= (an order number: one message)": (
                lambda: page(F(q=f"#{rng.randint(0, 10**6 - 1)}"), None),
                lambda: f"/api/v1/conversations?q=%23{rng.randint(0, 10**6 - 1)}",
                max(5, repeat // 20),
            ),
            "list: text search q= (a common phrase: ~7% of messages)": (
                lambda: page(F(q=rng.choice(PHRASES)[:4]), None),
                lambda: f"/api/v1/conversations?q={rng.choice(PHRASES)[:4]}",
                max(5, repeat // 20),
            ),
            "list: text search q= (a 2-character name)": (
                lambda: page(F(q=q_name()[:2]), None),
                lambda: f"/api/v1/conversations?q={q_name()[:2]}",
                max(5, repeat // 20),
            ),
        }
        cases.update(await people_cases(db, rng, repeat))
        heading(f"{label}: p50 / p95 / p99 ms (repo | http), machine_busy_cores")
        for name, (repo_call, http_path, times) in cases.items():
            if only and not any(part in name for part in only.split(",")):
                continue
            watch = CpuWatch()
            repo_samples = await _timed(repo_call, times)

            async def http_call(path_fn: Callable[[], str] = http_path) -> None:
                response = await client.get(path_fn())
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text[:200]}")

            http_samples = await _timed(http_call, times)
            busy = watch.busy_cores()
            results[name] = {
                "repo": percentiles(repo_samples),
                "http": percentiles(http_samples),
                "machine_busy_cores": busy,
                "plans": await explain(db, repo_call),
            }
            r, h = results[name]["repo"], results[name]["http"]
            target = target_ms(name)
            flag = "" if max(r["p95_ms"], h["p95_ms"]) < target else f"   ✗ over {target:g} ms"
            print(
                f"{name:<42} {r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} {r['p99_ms']:>7.2f} | "
                f"{h['p50_ms']:>7.2f} {h['p95_ms']:>7.2f} {h['p99_ms']:>7.2f}  busy {busy:.2f}{flag}"
            )
    finally:
        await client.aclose()
        await db.dispose()
    return results


async def _timed(fn: Callable[[], Awaitable[Any]], times: int) -> list[float]:
    for _ in range(min(5, times)):
        await fn()
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


async def explain(db: Any, call: Callable[[], Awaitable[Any]]) -> list[str]:
    """The query plan of every SELECT `call()` sends (captured at the cursor, explained with its parameters)."""
    from sqlalchemy import event

    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await call()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    out = []
    async with db.engine.connect() as connection:
        for statement, params in captured:
            if "api_keys" in statement:
                continue
            prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
            rows = (await connection.exec_driver_sql(prefix + statement, params)).all()
            found = re.search(r"\bFROM\s+(\w+)", statement)
            table = found.group(1) if found else "?"
            out.append(f"{table}: " + " | ".join(str(r[-1]).strip() for r in rows))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=80_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--only", default="", help="comma-separated parts of case names to run (default: all)")
    args = parser.parse_args()
    figures: dict[str, Any] = {"settings": vars(args), "target_p95_ms": 10, "databases": {}}
    for kind in database_kinds(args.db):
        heading(f"{kind}: seeding {args.conversations} conversations, {args.messages} messages")
        db = run(fresh_database(kind))
        try:
            data = run(seed(db.url, conversations=args.conversations, messages=args.messages, contacts=args.contacts))
            found: dict[str, Any] = {"seed_seconds": round(data["seed_seconds"], 1)}
            found["people"] = run(seed_people(db.url))
            if kind == "sqlite":
                found["no_analyze"] = run(measure_all(db.url, data, args.repeat, f"{kind}, never analyzed", args.only))
            run(analyze(db.url))
            found["analyzed"] = run(measure_all(db.url, data, args.repeat, f"{kind}, after ANALYZE", args.only))
            figures["databases"][kind] = found
        finally:
            run(db.drop())
    save("inbox_reads", figures)


if __name__ == "__main__":
    main()
