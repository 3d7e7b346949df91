"""Where imported history meets live traffic: the channel's live mark and the gateway's own replies.

Live mark: the time of the earliest customer message or event the channel's callbacks stored (any
non-imported incoming or activity row of the MP inbox). From then on every user message reached the
gateway with its MsgId, so msgrecord rows at or after the mark are skipped as live. One mark per
channel rather than per contact: a contact who has not written since live capture began would
otherwise be imported up to "now" and race its own next callback, and a contact whose first live
message came late would get the messages of the hours before it twice. Rows younger than
`settle` seconds are skipped too, so an import started before the first callback cannot store a
message whose callback is still on its way.

The gateway's own replies: an outgoing, non-imported message of the same contact, not failed, whose
time is within TOLERANCE of the record's and whose content msgrecord would show as the record's text
(text itself, or "[image]" …). Each message is matched once, nearest in time first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import Conversation, Message
from gateway.migrate.records import PREFIX, Row, record_text

TOLERANCE = timedelta(minutes=5)  # the gateway's clock after custom/send vs the platform's record time


async def live_mark(session: AsyncSession, inbox_id: int) -> datetime | None:
    """The sent_at of the first live-captured customer message or event of the inbox (None: none yet)."""
    value: datetime | None = await session.scalar(
        select(func.min(Message.sent_at)).where(
            Message.inbox_id == inbox_id,
            Message.message_type.in_(("incoming", "activity")),
            Message.source_id.not_like(f"{PREFIX}%"),
        )
    )
    return value


class SentByGateway:
    """The gateway's outgoing messages to the contacts of a set of records, matched to 2002 rows."""

    def __init__(self, candidates: dict[int, list[tuple[int, datetime, set[str]]]]) -> None:
        self._candidates = candidates  # identity id → [(message id, sent_at, record texts)]
        self._used: set[int] = set()

    @classmethod
    async def load(
        cls, session: AsyncSession, inbox_id: int, identities: dict[str, int], start: datetime, end: datetime
    ) -> SentByGateway:
        """Candidates for records of `identities` (openid → identity id) with time in [start, end]."""
        candidates: dict[int, list[tuple[int, datetime, set[str]]]] = {}
        if not identities:
            return cls(candidates)
        at = func.coalesce(Message.sent_at, Message.created_at)
        rows = await session.execute(
            select(Message.id, Conversation.identity_id, at, Message.content_type, Message.content)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.inbox_id == inbox_id,
                Message.message_type == "outgoing",
                Message.status != "failed",
                Message.source_id.not_like(f"{PREFIX}%"),
                Conversation.identity_id.in_(sorted(set(identities.values()))),
                at >= start - TOLERANCE,
                at <= end + TOLERANCE,
            )
            .order_by(Message.id)
        )
        for message_id, identity_id, sent_at, content_type, content in rows:
            candidates.setdefault(identity_id, []).append((message_id, sent_at, record_text(content_type, content)))
        return cls(candidates)

    def match(self, row: Row, identity_id: int) -> int | None:
        """The id of the gateway message this 2002 row records, if any (each message matches once)."""
        best: tuple[float, int] | None = None
        for message_id, sent_at, texts in self._candidates.get(identity_id, ()):
            if message_id in self._used or row.record.text not in texts:
                continue
            distance = abs(sent_at.timestamp() - row.record.time)
            if distance <= TOLERANCE.total_seconds() and (best is None or distance < best[0]):
                best = (distance, message_id)
        if best is None:
            return None
        self._used.add(best[1])
        return best[1]
