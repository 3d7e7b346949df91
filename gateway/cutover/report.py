"""Proof of who moved: followers of the MP channel in scope, invited, entered WeCom (linked by their
personal link or merged on unionid), wrote on WeCom, still only on MP; by day and per MP kf account
(the agent of the follower's latest MP conversation) with the servicer it became.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.cutover.state import plan_record
from gateway.db.cutover import CutoverInvitation
from gateway.db.engine import Database
from gateway.db.models import Agent, ContactIdentity, Conversation, Inbox, Message

COLUMNS = ("in_scope", "invited", "entered_wecom", "wrote_wecom", "only_mp", "opted_out")
UNASSIGNED = "(no kf account)"


@dataclass
class Row:
    in_scope: int = 0
    invited: int = 0
    entered_wecom: int = 0
    wrote_wecom: int = 0
    only_mp: int = 0
    opted_out: int = 0


@dataclass
class Report:
    plan: str
    mp_channel: int
    wecom_channel: int
    totals: Row = field(default_factory=Row)
    days: dict[str, dict[str, int]] = field(default_factory=dict)  # YYYY-MM-DD → invited/entered/wrote
    agents: dict[str, tuple[str | None, Row]] = field(default_factory=dict)  # kf_account → (servicer, row)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "mp_channel": self.mp_channel,
            "wecom_channel": self.wecom_channel,
            "totals": asdict(self.totals),
            "by_day": [{"day": d, **v} for d, v in sorted(self.days.items())],
            "by_agent": [{"mp_kf_account": k, "servicer": s, **asdict(r)} for k, (s, r) in sorted(self.agents.items())],
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["section", "key", "servicer", *COLUMNS])
        writer.writerow(["total", "", "", *asdict(self.totals).values()])
        for kf, (servicer, row) in sorted(self.agents.items()):
            writer.writerow(["agent", kf, servicer or "", *asdict(row).values()])
        for day, counts in sorted(self.days.items()):
            writer.writerow(
                ["day", day, "", "", counts["invited"], counts["entered_wecom"], counts["wrote_wecom"], "", ""]
            )
        return out.getvalue()


async def _rows(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).all())


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment is not None else None


async def build_report(db: Database, plan: str | None = None) -> Report:
    name, record = await plan_record(db, plan)
    mp, wecom = int(record["mp_channel"]), int(record["wecom_channel"])
    servicers: dict[str, str | None] = dict(record.get("servicers") or {})
    async with db.sessions() as session:
        followers = await _rows(
            session, select(ContactIdentity.id, ContactIdentity.contact_id).where(ContactIdentity.channel_id == mp)
        )
        latest = await _rows(
            session,
            select(Conversation.identity_id, Agent.source_id)
            .join(Inbox, Inbox.id == Conversation.inbox_id)
            .outerjoin(Agent, Agent.id == Conversation.assignee_id)
            .where(Inbox.channel_id == mp)
            .order_by(Conversation.id),
        )
        on_wecom = dict(
            await _rows(
                session,
                select(ContactIdentity.contact_id, func.min(ContactIdentity.created_at))
                .where(ContactIdentity.channel_id == wecom)
                .group_by(ContactIdentity.contact_id),
            )
        )
        wrote = dict(
            await _rows(
                session,
                select(Conversation.contact_id, func.min(Message.created_at))
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Inbox, Inbox.id == Message.inbox_id)
                .where(Inbox.channel_id == wecom, Message.message_type == "incoming")
                .group_by(Conversation.contact_id),
            )
        )
        invitations = {
            row.identity_id: row
            for row in await session.scalars(select(CutoverInvitation).where(CutoverInvitation.channel_id == mp))
        }
    agent_of = {identity: kf for identity, kf in latest}  # ordered by id: the latest conversation wins
    report = Report(plan=name, mp_channel=mp, wecom_channel=wecom)
    for kf, servicer in servicers.items():
        report.agents[kf] = (servicer, Row())
    days: dict[str, dict[str, int]] = defaultdict(lambda: {"invited": 0, "entered_wecom": 0, "wrote_wecom": 0})
    for identity_id, contact_id in followers:
        kf = agent_of.get(identity_id) or UNASSIGNED
        rows = [report.totals, report.agents.setdefault(kf, (servicers.get(kf), Row()))[1]]
        invitation = invitations.get(identity_id)
        entered = invitation.entered_at if invitation and invitation.entered_at else on_wecom.get(contact_id)
        facts = {
            "in_scope": True,
            "invited": bool(invitation and invitation.sent_at),
            "entered_wecom": entered is not None,
            "wrote_wecom": contact_id in wrote,
            "only_mp": entered is None,
            "opted_out": bool(invitation and invitation.opted_out_at),
        }
        for row in rows:
            for column, fact in facts.items():
                setattr(row, column, getattr(row, column) + int(fact))
        for column, moment in (
            ("invited", invitation.sent_at if invitation else None),
            ("entered_wecom", entered),
            ("wrote_wecom", wrote.get(contact_id)),
        ):
            day = _day(moment)
            if day is not None:
                days[day][column] += 1
    report.days = dict(days)
    return report
