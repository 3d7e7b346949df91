"""MP msgrecord rows as the gateway sees them: stable source ids, message fields, and conversations.

A msgrecord row has no MsgId, so an imported row's `source_id` is derived from the row itself:
`msgrecord:{openid}:{time}:{hash of opercode, worker, text}` plus `:{n}` for the n-th identical row of
the same second. Re-reading the same range yields the same ids, and the unique (inbox_id, source_id)
key stores each once. The `msgrecord:` prefix is how imported rows are told from live ones.

Conversations (`split`): where the account's records carry the legacy session codes (1000–1005), a
close (1004) ends a conversation; otherwise a silence longer than the gap does (docs/history-import.md).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.domain import ContentType, MessageType, SenderType
from gateway.wechat.mp_kefu_types import MsgRecord

PREFIX = "msgrecord:"
OPERCODE_KF_SENT = 2002  # kf (or the API) → user
INCOMING_OPERCODES = frozenset({2001, 2003})  # 2003 kf received; 2001 legacy "MP received"
# legacy session records, stored as activities with these contents
SESSION_OPERCODES = {
    1000: "session_waiting",
    1001: "session_accepted",
    1002: "session_started_by_kf",
    1003: "session_transferred",
    1004: "session_closed",
    1005: "session_grabbed",
}
OPERCODE_SESSION_CLOSED = 1004

# msgrecord shows non-text messages as "[type]" (docs/platforms.md §4.4).
MEDIA_TEXT = {
    "[image]": ContentType.IMAGE,
    "[voice]": ContentType.VOICE,
    "[video]": ContentType.VIDEO,
    "[shortvideo]": ContentType.VIDEO,
    "[file]": ContentType.FILE,
    "[location]": ContentType.LOCATION,
    "[link]": ContentType.LINK,
    "[news]": ContentType.NEWS,
    "[mpnews]": ContentType.NEWS,
    "[miniprogrampage]": ContentType.MINIPROGRAM,
    "[msgmenu]": ContentType.MENU,
}


@dataclass(slots=True)
class Row:
    """One record with what the gateway stores for it."""

    record: MsgRecord
    source_id: str
    message_type: MessageType
    sender_type: SenderType
    content_type: ContentType
    content: str | None
    attributes: dict[str, Any]
    agent: str | None

    @property
    def sent_at(self) -> datetime:
        return datetime.fromtimestamp(self.record.time, tz=UTC)

    @property
    def raw(self) -> dict[str, Any]:
        r = self.record
        return {"openid": r.openid, "opercode": r.opercode, "text": r.text, "time": r.time, "worker": r.worker}


def source_id(record: MsgRecord, occurrence: int = 0) -> str:
    """Deterministic per record; `occurrence` tells apart identical records of the same second."""
    digest = hashlib.sha1(f"{record.opercode}\x1f{record.worker}\x1f{record.text}".encode()).hexdigest()[:8]
    base = f"{PREFIX}{record.openid}:{record.time}:{digest}"
    return f"{base}:{occurrence}" if occurrence else base


def to_row(record: MsgRecord, occurrence: int = 0) -> Row:
    """One record as a message: incoming, outgoing with the kf as agent, or a session activity."""
    media = MEDIA_TEXT.get(record.text.strip())
    content_type = media or ContentType.TEXT
    attributes: dict[str, Any] = {"imported": True, "source": "msgrecord"}
    if record.worker:
        attributes["worker"] = record.worker
    agent: str | None = None
    if record.opercode == OPERCODE_KF_SENT:
        message_type = MessageType.OUTGOING
        sender = SenderType.AGENT if record.worker else SenderType.BOT  # no worker: sent through the API
        agent = record.worker or None
    elif record.opercode in INCOMING_OPERCODES:
        message_type, sender = MessageType.INCOMING, SenderType.CONTACT
    else:  # legacy session codes (1000 created … 1005 grabbed)
        message_type, sender, content_type = MessageType.ACTIVITY, SenderType.SYSTEM, ContentType.EVENT
        attributes["opercode"] = record.opercode
    content = None if media else record.text
    if message_type == MessageType.ACTIVITY:
        content = SESSION_OPERCODES.get(record.opercode, f"opercode_{record.opercode}")
    return Row(record, source_id(record, occurrence), message_type, sender, content_type, content, attributes, agent)


def to_rows(records: Iterable[MsgRecord]) -> list[Row]:
    """Rows in record order; identical records of one second get occurrences 0, 1, …"""
    seen: Counter[str] = Counter()
    rows = []
    for record in records:
        key = source_id(record)
        rows.append(to_row(record, seen[key]))
        seen[key] += 1
    return rows


def split(rows: list[Row], gap: float) -> list[list[Row]]:
    """One contact's rows (time order) cut into the conversations that happened.

    With session codes among them, a conversation ends after each close (1004); without, after a
    silence longer than `gap` seconds.
    """
    sessions = any(r.record.opercode in SESSION_OPERCODES for r in rows)
    groups: list[list[Row]] = []
    current: list[Row] = []
    for row in rows:
        if current and not sessions and row.record.time - current[-1].record.time > gap:
            groups.append(current)
            current = []
        current.append(row)
        if sessions and row.record.opercode == OPERCODE_SESSION_CLOSED:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def record_text(content_type: str, content: str | None) -> set[str]:
    """How msgrecord shows a message the gateway sent with this content: the text, or "[type]"."""
    if content_type == ContentType.TEXT:
        return {content or ""}
    return {text for text, kind in MEDIA_TEXT.items() if kind == content_type}
