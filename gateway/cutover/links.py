"""Ingest follow-ups of the cutover, run in the ingest transaction (FollowUps `also` hook):

* a WeCom `enter_session` whose `scene_param` is an invitation token links the entering identity to
  the MP follower at once: the two contacts are merged (reason `cutover`), unionid or not. Only the
  first identity to enter with a token is linked, so a forwarded link cannot pull a stranger in.
* on an MP channel in cutover mode (`settings.cutover`, set by `kefu-gateway migrate cutover`), a
  conversation in which the follower writes for the first time gets an automatic reply with their personal link,
  when the reply policy allows it; the send goes through the normal queue (pacing, lanes, retries).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.cutover.invitations import TOKEN_PREFIX, invitation_for, personal_link, render
from gateway.db.cutover import CutoverInvitation
from gateway.db.models import Channel, Contact, ContactIdentity, Conversation, Message
from gateway.db.repositories.contacts import merge_contacts
from gateway.db.types import utcnow
from gateway.domain import Batch, ChannelKind
from gateway.errors import GatewayError
from gateway.inbound.ingest import IngestResult
from gateway.outbound.replies import queue_message

log = logging.getLogger(__name__)


class CutoverLinks:
    """`after_ingest` for FollowUps; `notify` wakes the job runner when an auto-reply was queued."""

    def __init__(self, notify: Callable[[], None]) -> None:
        self.notify = notify

    async def after_ingest(self, session: AsyncSession, batch: Batch, result: IngestResult) -> None:
        tokens = {
            key: str(entry["scene_param"])
            for key, entry in result.entries.items()
            if str(entry.get("scene_param") or "").startswith(TOKEN_PREFIX)
        }
        if tokens:
            await link_entries(session, tokens)
        if result.incoming:
            channel = await session.get(Channel, batch.channel_id)
            cutover = (channel.settings or {}).get("cutover") if channel is not None else None
            if channel is not None and channel.kind == ChannelKind.MP and isinstance(cutover, dict):
                first = await first_contacts(session, result.incoming)
                if first and await auto_reply(session, channel.id, cutover, first):
                    self.notify()


async def first_contacts(session: AsyncSession, incoming: dict[int, int]) -> list[int]:
    """Conversations whose first customer message arrived in this batch (a subscribe may have opened
    the conversation before: what counts is the follower's first word in it)."""
    earlier = set(
        await session.scalars(
            select(Message.conversation_id).where(
                Message.conversation_id.in_(list(incoming)),
                Message.message_type == "incoming",
                or_(*(and_(Message.conversation_id == c, Message.id < m) for c, m in incoming.items())),
            )
        )
    )
    return sorted(c for c in incoming if c not in earlier)


async def link_entries(session: AsyncSession, tokens: dict[tuple[int, int], str]) -> int:
    """Link each (inbox, WeCom identity) that entered with a known token; returns how many were linked."""
    rows = {
        row.token: row
        for row in await session.scalars(
            select(CutoverInvitation).where(CutoverInvitation.token.in_(set(tokens.values())))
        )
    }
    linked = 0
    for (_, identity_id), token in sorted(tokens.items()):
        invitation = rows.get(token)
        if invitation is None:
            continue
        if invitation.wecom_identity_id not in (None, identity_id):
            log.warning("invitation %s entered again by another WeCom identity: not linked", invitation.id)
            continue
        try:
            async with session.begin_nested():  # a link that cannot be made must not undo the ingest
                if not await _link(session, invitation, identity_id):
                    continue
        except GatewayError as exc:
            log.warning("invitation %s not linked: %s", invitation.id, exc)
            continue
        linked += 1
    await session.flush()
    return linked


async def _link(session: AsyncSession, invitation: CutoverInvitation, identity_id: int) -> bool:
    wecom = await session.get(ContactIdentity, identity_id)
    follower = await session.get(ContactIdentity, invitation.identity_id)
    if wecom is None or follower is None:
        return False
    if invitation.entered_at is None:
        invitation.entered_at = utcnow()
    invitation.wecom_identity_id = identity_id
    if wecom.contact_id != follower.contact_id:
        source = await session.get(Contact, wecom.contact_id)
        target = await session.get(Contact, follower.contact_id)
        assert source is not None and target is not None
        await merge_contacts(session, source=source, target=target, reason="cutover")
        await session.refresh(wecom)
    return True


async def auto_reply(session: AsyncSession, channel_id: int, cutover: dict[str, Any], conversations: list[int]) -> int:
    """Queue the personal link in each new conversation the policy lets us answer; returns how many."""
    url, template, plan = cutover.get("url"), cutover.get("template"), str(cutover.get("plan") or "")
    if not url or not template:
        return 0
    queued = 0
    for conversation_id in conversations:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            continue
        try:
            async with session.begin_nested():  # a refusal or a race leaves the ingest untouched
                invitation = await invitation_for(session, channel_id, conversation.identity_id, plan, "auto_reply")
                if invitation.opted_out_at is not None or invitation.entered_at is not None:
                    continue
                identity = await session.get(ContactIdentity, conversation.identity_id)
                contact = await session.get(Contact, identity.contact_id) if identity else None
                text = render(
                    str(template), personal_link(str(url), invitation.token), contact.name if contact else None
                )
                message = await queue_message(session, conversation_id, {"content_type": "text", "content": text})
                invitation.message_id, invitation.sent_at = message.id, utcnow()
                queued += 1
        except (GatewayError, IntegrityError) as exc:
            log.info("cutover auto-reply in conversation %s not queued: %s", conversation_id, exc)
    return queued
