"""The invitation campaign: MP followers whose reply window is open get a message with their
personal WeCom kf link, queued through the normal send path (policy, quota, pacing, lanes, retries).

Resumable: each follower is one transaction, and one invitation row per follower says whether it was
sent (a send that later failed is tried again on the next run), entered or opted out. Followers who
wrote an opt-out word (TD, 退订, …) on MP, or were opted out by hand, are never invited; neither are
followers already on WeCom (their contact has an identity on the plan's WeCom channel).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.cutover.invitations import OPT_OUT_WORDS, check_template, invitation_for, personal_link, render
from gateway.cutover.planfile import Plan, PlanError
from gateway.cutover.state import invite_url
from gateway.db.cutover import CutoverInvitation
from gateway.db.engine import Database
from gateway.db.models import Contact, ContactIdentity, Conversation, Inbox, Message
from gateway.db.types import utcnow
from gateway.domain import ChannelKind
from gateway.errors import ReplyNotAllowed
from gateway.outbound.replies import queue_message, reply_decision


@dataclass
class InviteSummary:
    in_scope: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # sent, would_send, window_closed, opted_out, …

    def line(self) -> str:
        parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.outcomes.items()))
        return f"{self.in_scope} followers in scope: {parts or 'nothing to do'}"


async def opted_out_ids(session: AsyncSession, channel_id: int, source_ids: Iterable[str] = ()) -> set[int]:
    """Identities that wrote an opt-out word on the MP channel, plus those named (openids)."""
    wrote = (
        select(Conversation.identity_id)
        .join(Message, Message.conversation_id == Conversation.id)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .where(
            Inbox.channel_id == channel_id,
            Message.message_type == "incoming",
            func.lower(func.trim(Message.content)).in_(OPT_OUT_WORDS),
        )
    )
    ids = set(await session.scalars(wrote))
    named = list(source_ids)
    if named:
        query = select(ContactIdentity.source_id, ContactIdentity.id).where(
            ContactIdentity.channel_id == channel_id, ContactIdentity.source_id.in_(named)
        )
        found = dict((await session.execute(query)).all())
        unknown = [s for s in named if s not in found]
        if unknown:
            raise PlanError(f"--opt-out: {', '.join(unknown)} is not a follower of MP channel {channel_id}")
        ids |= set(found.values())
    return ids


async def mark_opt_outs(db: Database, channel_id: int, plan: str, source_ids: Iterable[str] = ()) -> set[int]:
    """Record the opt-outs (opted_out_at) of `opted_out_ids`; returns every opted-out identity."""
    async with db.session() as session:
        ids = await opted_out_ids(session, channel_id, source_ids)
        for identity_id in sorted(ids):
            row = await invitation_for(session, channel_id, identity_id, plan, "campaign")
            if row.opted_out_at is None:
                row.opted_out_at = utcnow()
    return ids


async def run_campaign(
    db: Database,
    plan: Plan,
    *,
    template: str,
    dry_run: bool = False,
    limit: int | None = None,
    opt_out: Iterable[str] = (),
    notify: Callable[[], None] = lambda: None,
    on_follower: Callable[[str], None] = lambda outcome: None,
    on_scope: Callable[[int], None] = lambda total: None,
) -> InviteSummary:
    """Invite each follower in scope once; `on_scope` hears how many there are, `on_follower` each
    outcome (the CLI's progress bar)."""
    check_template(template)
    url = await invite_url(db, plan)
    if dry_run:
        async with db.sessions() as session:
            opted = await opted_out_ids(session, plan.mp_channel, opt_out)
    else:
        opted = await mark_opt_outs(db, plan.mp_channel, plan.name, opt_out)
    summary = InviteSummary()
    async with db.sessions() as session:
        followers = list(
            await session.scalars(
                select(ContactIdentity.id)
                .where(ContactIdentity.channel_id == plan.mp_channel)
                .order_by(ContactIdentity.id)
            )
        )
    summary.in_scope = len(followers)
    on_scope(summary.in_scope)
    for identity_id in followers:
        if limit is not None and summary.outcomes["sent"] + summary.outcomes["would_send"] >= limit:
            summary.outcomes["left_for_later"] += 1
            on_follower("left_for_later")
            continue
        if identity_id in opted:
            outcome = "opted_out"
        else:
            async with db.session() as session:
                outcome = await _invite_one(session, plan, identity_id, url, template, dry_run)
        summary.outcomes[outcome] += 1
        on_follower(outcome)
        if outcome == "sent":
            notify()
    return summary


async def _invite_one(
    session: AsyncSession, plan: Plan, identity_id: int, url: str, template: str, dry_run: bool
) -> str:
    invitation = await session.scalar(select(CutoverInvitation).where(CutoverInvitation.identity_id == identity_id))
    if invitation is not None:
        if invitation.opted_out_at is not None:
            return "opted_out"
        if invitation.entered_at is not None:
            return "entered"
        if invitation.sent_at is not None and not await _failed(session, invitation.message_id):
            return "already_invited"
    identity = await session.get(ContactIdentity, identity_id)
    assert identity is not None
    on_wecom = await session.scalar(
        select(ContactIdentity.id).where(
            ContactIdentity.contact_id == identity.contact_id, ContactIdentity.channel_id == plan.wecom_channel
        )
    )
    if on_wecom is not None:
        return "already_on_wecom"
    conversation = await session.scalar(
        select(Conversation).where(Conversation.identity_id == identity_id).order_by(Conversation.id.desc()).limit(1)
    )
    if conversation is None:
        return "window_closed"
    decision = await reply_decision(session, conversation, ChannelKind.MP)
    if not decision:
        return decision.reason or "window_closed"
    if dry_run:
        return "would_send"
    invitation = invitation or await invitation_for(session, plan.mp_channel, identity_id, plan.name, "campaign")
    contact = await session.get(Contact, identity.contact_id)
    text = render(template, personal_link(url, invitation.token), contact.name if contact else None)
    try:
        message = await queue_message(session, conversation.id, {"content_type": "text", "content": text})
    except ReplyNotAllowed as exc:
        return exc.reason
    invitation.message_id, invitation.sent_at = message.id, utcnow()
    return "sent"


async def _failed(session: AsyncSession, message_id: int | None) -> bool:
    if message_id is None:
        return True
    return await session.scalar(select(Message.status).where(Message.id == message_id)) in (None, "failed")
