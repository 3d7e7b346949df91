# Generated from the kefu-gateway OpenAPI document (/schema/openapi.json) by
# scripts/openapi_python.py. Do not edit: run `python scripts/openapi_python.py` instead.

"""KefuGatewayClient: one async method per operation of the kefu-gateway REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import httpx

from kefu_gateway_client import models
from kefu_gateway_client._runtime import BaseClient, FileTypes, form_value, segment

__all__ = ['KefuGatewayClient', 'datetime']


class KefuGatewayClient(BaseClient):
    """Errors raise ApiError (status, code, message); pages follow next_cursor with paginate()."""

    async def add_contact_labels(
        self,
        contact_id: int,
        *,
        body: models.LabelsAdd,
    ) -> models.Labels:
        """Add contact labels: 409 for a contact merged into another (label the surviving one)."""
        response = await self._request(
            'POST',
            f'/api/v1/contacts/{segment(contact_id)}/labels',
            json=body,
        )
        return self._decode(response, models.Labels)

    async def add_conversation_labels(
        self,
        conversation_id: int,
        *,
        body: models.LabelsAdd,
    ) -> models.Labels:
        """Add conversation labels: Answers every label the conversation carries afterwards."""
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/labels',
            json=body,
        )
        return self._decode(response, models.Labels)

    async def add_servicers(
        self,
        inbox_id: int,
        *,
        body: models.ServicersAdd,
    ) -> models.ServicerResults:
        """Add servicers: WeCom: servicer/add. Per-user results: errcode 0 added (or already there), else the
        platform's code (60111 unknown userid, 95014 not activated for kf, …).
        """
        response = await self._request(
            'POST',
            f'/api/v1/inboxes/{segment(inbox_id)}/agents',
            json=body,
        )
        return self._decode(response, models.ServicerResults)

    async def assign(
        self,
        conversation_id: int,
        *,
        body: models.Assign,
    ) -> models.ActionResult:
        """Assign: Assign to a gateway agent (no platform call), a WeCom servicer (state 3), an MP kf account
        (kfsession/create) or an operator (`{"operator_id": N}`: through the platform agent linked to
        them on this channel, else in the gateway only: `assigned_on_platform: false`); null unassigns.
        Answered without a platform call: 409 conversation_ended for a resolved conversation, 422
        agent_not_servicer for an agent the directory does not list in this inbox.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/assign',
            json=body,
        )
        return self._decode(response, models.ActionResult)

    async def callback_get(
        self,
        channel_id: int,
    ) -> Any:
        """Callback get: Platform callbacks (authenticated by their signatures, not API keys)."""
        response = await self._request(
            'GET',
            f'/callbacks/{segment(channel_id)}',
        )
        return self._decode(response, Any)

    async def callback_post(
        self,
        channel_id: int,
    ) -> Any:
        """Callback post: Platform callbacks (authenticated by their signatures, not API keys)."""
        response = await self._request(
            'POST',
            f'/callbacks/{segment(channel_id)}',
        )
        return self._decode(response, Any)

    async def contact_labels(
        self,
        contact_id: int,
    ) -> models.Labels:
        """Contact labels: The labels a contact carries."""
        response = await self._request(
            'GET',
            f'/api/v1/contacts/{segment(contact_id)}/labels',
        )
        return self._decode(response, models.Labels)

    async def conversation_labels(
        self,
        conversation_id: int,
    ) -> models.Labels:
        """Conversation labels: The labels a conversation carries."""
        response = await self._request(
            'GET',
            f'/api/v1/conversations/{segment(conversation_id)}/labels',
        )
        return self._decode(response, models.Labels)

    async def create_agent(
        self,
        *,
        body: models.MpAgentCreate,
    ) -> models.AgentOut:
        """Create agent: MP: kfaccount/add (at most 100 per account; 65400 kefu not enabled, 65403 bad nickname…)."""
        response = await self._request(
            'POST',
            '/api/v1/agents',
            json=body,
        )
        return self._decode(response, models.AgentOut)

    async def create_api_key(
        self,
        *,
        body: models.ApiKeyCreate,
    ) -> models.ApiKeyCreated:
        """Create api key: The answer's `key` is the only time the key is shown: store it now."""
        response = await self._request(
            'POST',
            '/api/v1/api-keys',
            json=body,
        )
        return self._decode(response, models.ApiKeyCreated)

    async def create_canned(
        self,
        *,
        body: models.CannedCreate,
    ) -> models.CannedOut:
        """Create canned: short_code: 1–64 letters, digits, _ or -, unique ignoring case; content: 1–4,000 characters."""
        response = await self._request(
            'POST',
            '/api/v1/canned_responses',
            json=body,
        )
        return self._decode(response, models.CannedOut)

    async def create_channel(
        self,
        *,
        body: models.ChannelCreate,
    ) -> models.ChannelOut:
        """Create channel: Add a channel. MP channels default to callback_mode "safe" and get their one inbox now."""
        response = await self._request(
            'POST',
            '/api/v1/channels',
            json=body,
        )
        return self._decode(response, models.ChannelOut)

    async def create_contact_way(
        self,
        inbox_id: int,
        *,
        body: models.ContactWayCreate,
    ) -> models.ContactWayOut:
        """Create contact way: WeCom: a 客服链接 for this kf account. enter_session reports `scene` (≤32 bytes of
        [0-9a-zA-Z_-]) and `scene_param` back, so a CRM can tell which link a customer used.
        """
        response = await self._request(
            'POST',
            f'/api/v1/inboxes/{segment(inbox_id)}/contact-ways',
            json=body,
        )
        return self._decode(response, models.ContactWayOut)

    async def create_inbox(
        self,
        *,
        body: models.InboxCreate,
    ) -> models.InboxOut:
        """Create inbox: WeCom: create a kf account (account/add, avatar uploaded as temporary media)."""
        response = await self._request(
            'POST',
            '/api/v1/inboxes',
            json=body,
        )
        return self._decode(response, models.InboxOut)

    async def create_label(
        self,
        *,
        body: models.LabelCreate,
    ) -> models.LabelOut:
        """Create label: name 1–64 characters, unique ignoring case (409 label_exists); color #rrggbb; description ≤ 256."""
        response = await self._request(
            'POST',
            '/api/v1/labels',
            json=body,
        )
        return self._decode(response, models.LabelOut)

    async def create_note(
        self,
        conversation_id: int,
        *,
        body: models.NoteCreate,
    ) -> models.MessageOut:
        """Create note: content: 1–10,000 characters (422 invalid_message when empty, note_too_long past it). Works on
        resolved conversations too; changes no reply window, quota, unread count or activity time.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/notes',
            json=body,
        )
        return self._decode(response, models.MessageOut)

    async def create_operator(
        self,
        *,
        body: models.OperatorCreate,
    ) -> models.OperatorOut:
        """Create operator: 422 validation_error (field email/name/role), 422 weak_password, 409 email_taken."""
        response = await self._request(
            'POST',
            '/api/v1/operators',
            json=body,
        )
        return self._decode(response, models.OperatorOut)

    async def create_webhook(
        self,
        *,
        body: models.WebhookCreate,
    ) -> models.WebhookCreated:
        """Create webhook: Subscribe `url` to `events`. The answer carries the secret, once. A URL that is not https
        (422 webhook_url_insecure) or whose host is or resolves to a loopback, link-local, private,
        multicast, reserved or unspecified address (422 webhook_target_forbidden) is refused.
        """
        response = await self._request(
            'POST',
            '/api/v1/webhooks',
            json=body,
        )
        return self._decode(response, models.WebhookCreated)

    async def delete_agent(
        self,
        agent_id: int,
    ) -> models.AgentOut:
        """Delete agent: MP: kfaccount/del. The row stays with status "deleted" so past messages keep their sender."""
        response = await self._request(
            'DELETE',
            f'/api/v1/agents/{segment(agent_id)}',
        )
        return self._decode(response, models.AgentOut)

    async def delete_canned(
        self,
        canned_id: int,
    ) -> httpx.Response:
        """Delete canned: Delete a canned response."""
        response = await self._request(
            'DELETE',
            f'/api/v1/canned_responses/{segment(canned_id)}',
        )
        return response

    async def delete_inbox(
        self,
        inbox_id: int,
    ) -> models.InboxOut:
        """Delete inbox: WeCom: account/del. The row stays, disabled, with its conversations and messages."""
        response = await self._request(
            'DELETE',
            f'/api/v1/inboxes/{segment(inbox_id)}',
        )
        return self._decode(response, models.InboxOut)

    async def delete_label(
        self,
        label_id: int,
    ) -> httpx.Response:
        """Delete label: Removes it from every conversation and contact too (each emits its update event)."""
        response = await self._request(
            'DELETE',
            f'/api/v1/labels/{segment(label_id)}',
        )
        return response

    async def delete_webhook(
        self,
        webhook_id: int,
    ) -> httpx.Response:
        """Delete webhook: Deletes the subscription and its delivery log."""
        response = await self._request(
            'DELETE',
            f'/api/v1/webhooks/{segment(webhook_id)}',
        )
        return response

    async def disable_channel(
        self,
        channel_id: int,
    ) -> models.ChannelOut:
        """Disable channel: Stop using the channel: callbacks answer 404, sync and sends skip it. Nothing is deleted."""
        response = await self._request(
            'POST',
            f'/api/v1/channels/{segment(channel_id)}/disable',
        )
        return self._decode(response, models.ChannelOut)

    async def enable_channel(
        self,
        channel_id: int,
    ) -> models.ChannelOut:
        """Enable channel: Enable a disabled channel: its callbacks are accepted and its kf accounts pulled again."""
        response = await self._request(
            'POST',
            f'/api/v1/channels/{segment(channel_id)}/enable',
        )
        return self._decode(response, models.ChannelOut)

    async def event_reply(
        self,
        conversation_id: int,
        *,
        body: models.EventReply,
    ) -> models.MessageOut:
        """Event reply: WeCom send_msg_on_event with the code the conversation holds (welcome / queue / taken /
        closing notice). 409 when there is no code; 95007 when it expired or was used.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/event-reply',
            json=body,
        )
        return self._decode(response, models.MessageOut)

    async def get_agent(
        self,
        agent_id: int,
    ) -> models.AgentOut:
        """Get agent: One platform agent with its inbox memberships."""
        response = await self._request(
            'GET',
            f'/api/v1/agents/{segment(agent_id)}',
        )
        return self._decode(response, models.AgentOut)

    async def get_canned(
        self,
        canned_id: int,
    ) -> models.CannedOut:
        """Get canned: One canned response."""
        response = await self._request(
            'GET',
            f'/api/v1/canned_responses/{segment(canned_id)}',
        )
        return self._decode(response, models.CannedOut)

    async def get_channel(
        self,
        channel_id: int,
    ) -> models.ChannelOut:
        """Get channel: One channel with its health; secrets are named, never shown."""
        response = await self._request(
            'GET',
            f'/api/v1/channels/{segment(channel_id)}',
        )
        return self._decode(response, models.ChannelOut)

    async def get_contact(
        self,
        contact_id: int,
    ) -> models.ContactOut:
        """Get contact: One contact with its identities on every channel (merged by unionid) and labels."""
        response = await self._request(
            'GET',
            f'/api/v1/contacts/{segment(contact_id)}',
        )
        return self._decode(response, models.ContactOut)

    async def get_conversation(
        self,
        conversation_id: int,
        *,
        operator_id: int | None = None,
    ) -> models.ConversationOut:
        """Get conversation: With contact, inbox and assignee summaries, its `labels`, the event code it holds and `reply_policy`:
        whether the platform would accept a send right now, and if not why (window_closed,
        quota_exhausted, state_forbids_api). A platform state older than GATEWAY_SESSION_STATE_TTL
        (`state_checked_at`) is read again in the background: a change follows as conversation.updated.
        """
        response = await self._request(
            'GET',
            f'/api/v1/conversations/{segment(conversation_id)}',
            params={'operator_id': operator_id},
        )
        return self._decode(response, models.ConversationOut)

    async def get_inbox(
        self,
        inbox_id: int,
    ) -> models.InboxOut:
        """Get inbox: One inbox with its contact-way links."""
        response = await self._request(
            'GET',
            f'/api/v1/inboxes/{segment(inbox_id)}',
        )
        return self._decode(response, models.InboxOut)

    async def get_label(
        self,
        label_id: int,
    ) -> models.LabelOut:
        """Get label: One label."""
        response = await self._request(
            'GET',
            f'/api/v1/labels/{segment(label_id)}',
        )
        return self._decode(response, models.LabelOut)

    async def get_media_file(
        self,
        media_id: int,
        *,
        variant: Literal['original', 'playable', 'thumb'] | None = None,
        download: bool | None = None,
        range: str | None = None,
        if_range: str | None = None,
        if_none_match: str | None = None,
    ) -> httpx.Response:
        """Get media file: The file, or 206 with the bytes of one `Range`. Errors: 404 media_not_found (no such media,
        no such variant of it, or no copy kept), 409 media_pending / media_failed / variant_failed,
        410 media_expired, 416 (with `Content-Range: bytes */size`).
        """
        response = await self._request(
            'GET',
            f'/api/v1/media/{segment(media_id)}',
            params={'variant': variant, 'download': download},
            headers={'Range': range, 'If-Range': if_range, 'If-None-Match': if_none_match},
        )
        return response

    async def get_message(
        self,
        conversation_id: int,
        message_id: int,
        *,
        include_raw: bool | None = None,
    ) -> models.MessageOut:
        """Get message: One message of the conversation as the thread lists it: what a client reads again on
        `message.updated` (404 for a message of another conversation).
        """
        response = await self._request(
            'GET',
            f'/api/v1/conversations/{segment(conversation_id)}/messages/{segment(message_id)}',
            params={'include_raw': include_raw},
        )
        return self._decode(response, models.MessageOut)

    async def get_operator(
        self,
        operator_id: int,
    ) -> models.OperatorOut:
        """Get operator: One operator with their linked platform agents."""
        response = await self._request(
            'GET',
            f'/api/v1/operators/{segment(operator_id)}',
        )
        return self._decode(response, models.OperatorOut)

    async def get_webhook(
        self,
        webhook_id: int,
    ) -> models.WebhookOut:
        """Get webhook: One webhook subscription."""
        response = await self._request(
            'GET',
            f'/api/v1/webhooks/{segment(webhook_id)}',
        )
        return self._decode(response, models.WebhookOut)

    async def handover(
        self,
        conversation_id: int,
        *,
        body: models.Handover,
    ) -> models.ActionResult:
        """Handover: Hand the conversation to the bot/API (WeCom state 1) or the queue (WeCom state 2)."""
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/handover',
            json=body,
        )
        return self._decode(response, models.ActionResult)

    async def healthz(
        self,
    ) -> dict[str, Any]:
        """Healthz: Liveness: the process answers and reaches its database (no authentication)."""
        response = await self._request(
            'GET',
            '/healthz',
        )
        return self._decode(response, dict[str, Any])

    async def invite_agent(
        self,
        agent_id: int,
        *,
        body: models.MpAgentInvite,
    ) -> models.AgentOut:
        """Invite agent: MP: kfaccount/inviteworker; the WeChat user accepts in the app (65407–65412 on refusal)."""
        response = await self._request(
            'POST',
            f'/api/v1/agents/{segment(agent_id)}/invite',
            json=body,
        )
        return self._decode(response, models.AgentOut)

    async def link_agent(
        self,
        operator_id: int,
        *,
        body: models.AgentLink,
    ) -> models.OperatorOut:
        """Link agent: Link a platform agent: 422 for an unknown or gateway agent, 409 agent_already_linked when it
        is another operator's or the operator has one on that channel already.
        """
        response = await self._request(
            'POST',
            f'/api/v1/operators/{segment(operator_id)}/agents',
            json=body,
        )
        return self._decode(response, models.OperatorOut)

    async def list_agents(
        self,
        *,
        channel_id: int | None = None,
        inbox_id: int | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.AgentList:
        """List agents: Platform agents (WeCom servicers, MP kf accounts) with their status per inbox, by id."""
        response = await self._request(
            'GET',
            '/api/v1/agents',
            params={'channel_id': channel_id, 'inbox_id': inbox_id, 'status': status, 'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.AgentList)

    async def list_api_keys(
        self,
        *,
        include_revoked: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.ApiKeyList:
        """List api keys: API keys with their prefix, scope and last use, by id; the keys themselves are never shown again."""
        response = await self._request(
            'GET',
            '/api/v1/api-keys',
            params={'include_revoked': include_revoked, 'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.ApiKeyList)

    async def list_canned(
        self,
        *,
        q: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.CannedPage:
        """List canned: Canned responses whose short code starts with `q` (or whose text contains it, from 2 characters)."""
        response = await self._request(
            'GET',
            '/api/v1/canned_responses',
            params={'q': q, 'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.CannedPage)

    async def list_channels(
        self,
        *,
        kind: Literal['wecom', 'mp'] | None = None,
        enabled: bool | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.ChannelList:
        """List channels: Each channel with its health (the last callback, the last successful pull and standing pull
        errors), by id.
        """
        response = await self._request(
            'GET',
            '/api/v1/channels',
            params={'kind': kind, 'enabled': enabled, 'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.ChannelList)

    async def list_contacts(
        self,
        *,
        q: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.ContactPage:
        """List contacts: Search contacts by name, identity or CRM id; pages by id."""
        response = await self._request(
            'GET',
            '/api/v1/contacts',
            params={'q': q, 'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.ContactPage)

    async def list_conversations(
        self,
        *,
        status: models.ConversationStatus | None = None,
        channel_id: int | None = None,
        inbox_id: int | None = None,
        assignee_id: int | None = None,
        contact_id: int | None = None,
        updated_after: datetime | None = None,
        q: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        assignee: str | None = None,
        operator_id: int | None = None,
        label: str | None = None,
        sort: Literal['last_activity', 'waiting'] | None = None,
    ) -> models.ConversationPage:
        """List conversations: Conversations across every channel, newest activity first; filters and keyset pages. Each row
        carries `unread_count` for the operator looking (a signed-in operator, or `operator_id` with an
        API key; null without one), `last_message` (newest incoming or outgoing message with a short
        preview), `operator_id`, `waiting_since` and `labels`.
        """
        response = await self._request(
            'GET',
            '/api/v1/conversations',
            params={'status': status, 'channel_id': channel_id, 'inbox_id': inbox_id, 'assignee_id': assignee_id, 'contact_id': contact_id, 'updated_after': updated_after, 'q': q, 'cursor': cursor, 'limit': limit, 'assignee': assignee, 'operator_id': operator_id, 'label': label, 'sort': sort},
        )
        return self._decode(response, models.ConversationPage)

    async def list_deliveries(
        self,
        webhook_id: int,
        *,
        status: Literal['pending', 'delivered', 'failed'] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.DeliveryPage:
        """List deliveries: A webhook's delivery log, newest first: status, attempts, the receiver's status and a short excerpt."""
        response = await self._request(
            'GET',
            f'/api/v1/webhooks/{segment(webhook_id)}/deliveries',
            params={'status': status, 'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.DeliveryPage)

    async def list_events(
        self,
        *,
        cursor: str | None = None,
        after: int | None = None,
        limit: int | None = None,
        types: list[str] | None = None,
    ) -> models.EventPage:
        """List events: Events after the cursor (without one: from the first event), oldest first. Keep the answer's
        `next_cursor` and ask with it next time; `has_more` says whether to ask again at once.
        """
        response = await self._request(
            'GET',
            '/api/v1/events',
            params={'cursor': cursor, 'after': after, 'limit': limit, 'types': types},
        )
        return self._decode(response, models.EventPage)

    async def list_inboxes(
        self,
        *,
        channel_id: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.InboxList:
        """List inboxes: Inboxes: WeCom kf accounts and MP accounts, with their contact-way links, by id."""
        response = await self._request(
            'GET',
            '/api/v1/inboxes',
            params={'channel_id': channel_id, 'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.InboxList)

    async def list_labels(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.LabelList:
        """List labels: Labels, by name."""
        response = await self._request(
            'GET',
            '/api/v1/labels',
            params={'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.LabelList)

    async def list_messages(
        self,
        conversation_id: int,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        direction: Literal['older', 'newer'] | None = None,
        include_raw: bool | None = None,
    ) -> models.MessagePage:
        """List messages: Oldest → newest within a page, whichever way the pages go. Without a cursor: the newest `limit`
        messages (`direction=newer`: the oldest). `next_cursor` continues the same way (older pages when
        scrolling back) and is null at the end; `newer_cursor` (never null) asks for what arrived after
        this page: poll it to catch up, and keep following the `newer_cursor` of each answer.
        """
        response = await self._request(
            'GET',
            f'/api/v1/conversations/{segment(conversation_id)}/messages',
            params={'cursor': cursor, 'limit': limit, 'direction': direction, 'include_raw': include_raw},
        )
        return self._decode(response, models.MessagePage)

    async def list_operators(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.OperatorList:
        """List operators: Operators (people who sign in), with their linked platform agents, by id; admin only."""
        response = await self._request(
            'GET',
            '/api/v1/operators',
            params={'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.OperatorList)

    async def list_webhooks(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> models.WebhookList:
        """List webhooks: Webhook subscriptions with their pending deliveries, by id; secrets are never shown again."""
        response = await self._request(
            'GET',
            '/api/v1/webhooks',
            params={'cursor': cursor, 'limit': limit},
        )
        return self._decode(response, models.WebhookList)

    async def mark_read(
        self,
        conversation_id: int,
        *,
        body: models.ReadIn | None,
    ) -> models.ReadOut:
        """Mark read: Mark read up to `message_id` (default: the last message) for the operator; answers the
        position and the unread count that remains.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/read',
            json=body,
        )
        return self._decode(response, models.ReadOut)

    async def me(
        self,
    ) -> models.Me:
        """Me: The signed-in operator and the session's CSRF token (the same one sign-in gave)."""
        response = await self._request(
            'GET',
            '/api/v1/auth/me',
        )
        return self._decode(response, models.Me)

    async def merge_contact(
        self,
        contact_id: int,
        *,
        body: models.ContactMerge,
    ) -> models.ContactOut:
        """Merge contact: Move this contact's identities and conversations into `into_contact_id`; answers the
        surviving contact. Emits contact.merged (reason "manual").
        """
        response = await self._request(
            'POST',
            f'/api/v1/contacts/{segment(contact_id)}/merge',
            json=body,
        )
        return self._decode(response, models.ContactOut)

    async def metrics(
        self,
    ) -> httpx.Response:
        """Metrics: Prometheus metrics in the text format (no authentication; bounded label values)."""
        response = await self._request(
            'GET',
            '/metrics',
        )
        return response

    async def migration_report(
        self,
        *,
        plan: str | None = None,
        format: str | None = None,
    ) -> Any:
        """Migration report: Who moved from MP kefu to WeCom kf: totals, by day, per MP kf account → servicer (JSON, CSV or
        an SVG chart). 404 when no cutover plan was applied (or none of that name).
        """
        response = await self._request(
            'GET',
            '/api/v1/migration/report',
            params={'plan': plan, 'format': format},
        )
        return self._decode(response, Any)

    async def readyz(
        self,
    ) -> dict[str, Any]:
        """Readyz: 200 when every check passes, else 503 with `failing`: the database answers, its schema is at
        the code's migration head, no enabled channel's credentials were refused at its last token
        fetch, no pull error stands past GATEWAY_READY_SYNC_LAG, the oldest runnable job has waited
        less than GATEWAY_READY_JOB_BACKLOG, no WeCom kf account is further behind its callbacks than
        GATEWAY_READY_SYNC_LAG (gateway.api.readiness). `checks` details each; `warnings` lists what an
        operator should fix but does not make the process unready (e.g. MP channels whose callback
        bodies are not signed).
        """
        response = await self._request(
            'GET',
            '/readyz',
        )
        return self._decode(response, dict[str, Any])

    async def redeliver(
        self,
        webhook_id: int,
        delivery_id: int,
    ) -> models.DeliveryOut:
        """Redeliver: Queue the delivery again with a fresh retry schedule. Being the oldest pending event of
        its webhook, it goes before the rest of the queue.
        """
        response = await self._request(
            'POST',
            f'/api/v1/webhooks/{segment(webhook_id)}/deliveries/{segment(delivery_id)}/redeliver',
        )
        return self._decode(response, models.DeliveryOut)

    async def remove_contact_label(
        self,
        contact_id: int,
        name: str,
    ) -> models.Labels:
        """Remove contact label: Take a label off a contact (a no-op when it was not there)."""
        response = await self._request(
            'DELETE',
            f'/api/v1/contacts/{segment(contact_id)}/labels/{segment(name)}',
        )
        return self._decode(response, models.Labels)

    async def remove_conversation_label(
        self,
        conversation_id: int,
        name: str,
    ) -> models.Labels:
        """Remove conversation label: A label the conversation does not carry changes nothing (200); an unknown name is 422."""
        response = await self._request(
            'DELETE',
            f'/api/v1/conversations/{segment(conversation_id)}/labels/{segment(name)}',
        )
        return self._decode(response, models.Labels)

    async def remove_servicer(
        self,
        inbox_id: int,
        agent_id: int,
    ) -> httpx.Response:
        """Remove servicer: WeCom: servicer/del for this agent's userid; the membership row goes."""
        response = await self._request(
            'DELETE',
            f'/api/v1/inboxes/{segment(inbox_id)}/agents/{segment(agent_id)}',
        )
        return response

    async def rename_inbox(
        self,
        inbox_id: int,
        *,
        body: models.InboxUpdate,
    ) -> models.InboxOut:
        """Rename inbox: WeCom: account/update with the new name."""
        response = await self._request(
            'PATCH',
            f'/api/v1/inboxes/{segment(inbox_id)}',
            json=body,
        )
        return self._decode(response, models.InboxOut)

    async def reopen_conversation(
        self,
        conversation_id: int,
    ) -> models.Reopened:
        """Reopen conversation: Reopen a resolved conversation (409 conversation_not_resolved otherwise; 409
        conversation_superseded, naming it, when a newer conversation of the same contact and inbox
        exists). `platform_reopened` says whether the platform session was created again; when not,
        `reason` says why and the customer's next message lands in this conversation.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/reopen',
        )
        return self._decode(response, models.Reopened)

    async def resolve(
        self,
        conversation_id: int,
    ) -> models.ActionResult:
        """Resolve: End the conversation on the platform (WeCom state 4, MP kfsession/close); 409
        conversation_ended when it is resolved already (no platform call) or the platform ended it.
        One reopened by the gateway alone (platform_state `reopened`: the platform holds no session)
        ends without a platform call.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/resolve',
        )
        return self._decode(response, models.ActionResult)

    async def revoke_api_key(
        self,
        key_id: int,
    ) -> models.ApiKeyOut:
        """Revoke api key: Revoke at once: the next request with this key answers 401. Idempotent."""
        response = await self._request(
            'DELETE',
            f'/api/v1/api-keys/{segment(key_id)}',
        )
        return self._decode(response, models.ApiKeyOut)

    async def send(
        self,
        conversation_id: int,
        *,
        body: models.SendMessage,
        idempotency_key: str | None = None,
    ) -> models.MessageOut:
        """Send: Queue a reply (202). 422 naming the field when the platform would refuse its shape (checked
        per type and platform before anything is written; docs/replies.md); 409 reply_not_allowed
        with `reason` when the platform would refuse a reply now. Replies of one conversation reach
        the customer in the order they were accepted.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/messages',
            headers={'Idempotency-Key': idempotency_key},
            json=body,
        )
        return self._decode(response, models.MessageOut)

    async def send_with_upload(
        self,
        conversation_id: int,
        *,
        message: models.SendMessage,
        media: FileTypes | None = None,
        thumb: FileTypes | None = None,
        idempotency_key: str | None = None,
    ) -> models.MessageOut:
        """Send with upload: A reply and its media in one request. Multipart form: `message` (the JSON body of
        `POST …/messages`, without the ids the files stand for), `media` (the file of an image, voice,
        video or file reply) and/or `thumb` (the thumbnail of a link, video, music or miniprogram
        reply). The files are uploaded to the platform (cached by content) and the reply is queued as
        `POST …/messages` would; the shape and the reply policy are checked before any upload.
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/messages/upload',
            headers={'Idempotency-Key': idempotency_key},
            data={'message': form_value(message)},
            files={'media': media, 'thumb': thumb},
        )
        return self._decode(response, models.MessageOut)

    async def sign_in(
        self,
        *,
        body: models.SignIn,
    ) -> models.Me:
        """Sign in: Sets the `kefu_session` cookie (HttpOnly, SameSite=Lax, Path=/, Secure over https) and
        answers the operator and the CSRF token. 401 invalid_credentials, 429 too_many_attempts.
        """
        response = await self._request(
            'POST',
            '/api/v1/auth/sign-in',
            json=body,
        )
        return self._decode(response, models.Me)

    async def sign_out(
        self,
    ) -> None:
        """Sign out: Ends the session at once (the cookie stops working on every replica) and clears the cookie."""
        await self._request(
            'POST',
            '/api/v1/auth/sign-out',
        )

    async def stream(
        self,
        *,
        cursor: str | None = None,
        after: int | None = None,
        types: list[str] | None = None,
        last_event_id: str | None = None,
    ) -> httpx.Response:
        """Stream: `id:` event id, `event:` type, `data:` the event JSON. Starts after `Last-Event-ID` when the
        client reconnects, else after `?cursor=` (a feed page's next_cursor) or `?after=`, else at the
        newest event (only new ones follow); the first frame is `id:` alone, the position it starts
        after (what a reconnect sends back).
        429 `too_many_streams` when this key or operator already holds its streams.
        """
        response = await self._request(
            'GET',
            '/api/v1/events/stream',
            params={'cursor': cursor, 'after': after, 'types': types},
            headers={'Last-Event-ID': last_event_id},
            stream=True,
        )
        return response  # streamed: iterate aiter_lines(), then aclose()

    async def sync_directory(
        self,
        *,
        body: models.DirectorySync,
    ) -> models.DirectorySynced:
        """Sync directory: Read the channel's inboxes and agents from the platform (WeCom account/list + servicer/list,
        MP getkflist + getonlinekflist) into the tables: new rows added, statuses and memberships
        replaced, inboxes the platform no longer lists disabled.
        """
        response = await self._request(
            'POST',
            '/api/v1/agents/sync',
            json=body,
        )
        return self._decode(response, models.DirectorySynced)

    async def typing(
        self,
        conversation_id: int,
        *,
        body: models.Typing,
    ) -> httpx.Response:
        """Typing: Typing indicator (MP only; WeCom answers 422 unsupported_by_channel)."""
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/typing',
            json=body,
        )
        return response

    async def unlink_agent(
        self,
        operator_id: int,
        agent_id: int,
    ) -> models.OperatorOut:
        """Unlink agent: Unlink a platform agent from an operator."""
        response = await self._request(
            'DELETE',
            f'/api/v1/operators/{segment(operator_id)}/agents/{segment(agent_id)}',
        )
        return self._decode(response, models.OperatorOut)

    async def unread_total(
        self,
        *,
        status: models.ConversationStatus | None = None,
        channel_id: int | None = None,
        inbox_id: int | None = None,
        assignee: str | None = None,
        operator_id: int | None = None,
        label: str | None = None,
        q: str | None = None,
    ) -> models.UnreadOut:
        """Unread total: The operator's unread conversations and messages under the list's filters; resolved
        conversations never count. An API key must pass `operator_id`.
        """
        response = await self._request(
            'GET',
            '/api/v1/conversations/unread',
            params={'status': status, 'channel_id': channel_id, 'inbox_id': inbox_id, 'assignee': assignee, 'operator_id': operator_id, 'label': label, 'q': q},
        )
        return self._decode(response, models.UnreadOut)

    async def update_agent(
        self,
        agent_id: int,
        *,
        body: models.MpAgentUpdate,
    ) -> models.AgentOut:
        """Update agent: MP: kfaccount/update (the nickname)."""
        response = await self._request(
            'PATCH',
            f'/api/v1/agents/{segment(agent_id)}',
            json=body,
        )
        return self._decode(response, models.AgentOut)

    async def update_canned(
        self,
        canned_id: int,
        *,
        body: models.CannedPatch,
    ) -> models.CannedOut:
        """Update canned: Change a canned response's short code or text."""
        response = await self._request(
            'PATCH',
            f'/api/v1/canned_responses/{segment(canned_id)}',
            json=body,
        )
        return self._decode(response, models.CannedOut)

    async def update_channel(
        self,
        channel_id: int,
        *,
        body: models.ChannelUpdate,
    ) -> models.ChannelOut:
        """Update channel: Partial update: settings and secrets merge into what is stored (a secret given as "" is removed).
        Changing `api_base` needs `secrets.secret` in the same request (422 secret_reentry_required).
        """
        response = await self._request(
            'PATCH',
            f'/api/v1/channels/{segment(channel_id)}',
            json=body,
        )
        return self._decode(response, models.ChannelOut)

    async def update_contact(
        self,
        contact_id: int,
        *,
        body: models.ContactPatch,
    ) -> models.ContactOut:
        """Update contact: name, external_id (the CRM's id: unique, 409 when another contact holds it; null clears it),
        attributes (merged; a key set to null is removed). Emits contact.updated when something changed.
        """
        response = await self._request(
            'PATCH',
            f'/api/v1/contacts/{segment(contact_id)}',
            json=body,
        )
        return self._decode(response, models.ContactOut)

    async def update_label(
        self,
        label_id: int,
        *,
        body: models.LabelPatch,
    ) -> models.LabelOut:
        """Update label: A rename emits conversation.updated / contact.updated for everything carrying the label."""
        response = await self._request(
            'PATCH',
            f'/api/v1/labels/{segment(label_id)}',
            json=body,
        )
        return self._decode(response, models.LabelOut)

    async def update_operator(
        self,
        operator_id: int,
        *,
        body: models.OperatorUpdate,
    ) -> models.OperatorOut:
        """Update operator: Change an operator's name, role, active flag or password; deactivating ends their sessions.
        409 last_admin: demoting or deactivating the last active admin.
        """
        response = await self._request(
            'PATCH',
            f'/api/v1/operators/{segment(operator_id)}',
            json=body,
        )
        return self._decode(response, models.OperatorOut)

    async def update_webhook(
        self,
        webhook_id: int,
        *,
        body: models.WebhookUpdate,
    ) -> models.WebhookOut:
        """Update webhook: Changes apply to events committed afterwards. Re-enabling resumes the pending queue at once
        (a head waiting in backoff is retried now). A new `url` is checked as on creation.
        """
        response = await self._request(
            'PATCH',
            f'/api/v1/webhooks/{segment(webhook_id)}',
            json=body,
        )
        return self._decode(response, models.WebhookOut)

    async def upgrade_service(
        self,
        conversation_id: int,
        *,
        body: models.UpgradeService,
    ) -> dict[str, Any]:
        """Upgrade service: WeCom: recommend a member (type member, userid) or a group chat (type groupchat, chat_id);
        422 upgrade_target_not_configured when 升级服务 does not list them (95021).
        """
        response = await self._request(
            'POST',
            f'/api/v1/conversations/{segment(conversation_id)}/upgrade-service',
            json=body,
        )
        return self._decode(response, dict[str, Any])

    async def upload_media(
        self,
        channel_id: int,
        *,
        type: Literal['image', 'voice', 'video', 'file', 'thumb'],
        file: FileTypes,
    ) -> models.MediaUploaded:
        """Upload media: Multipart form: `type` (image | voice | video | file | thumb) and `file`. Platform limits apply
        (WeCom: image ≤10 MB jpg/png, voice ≤2 MB amr, video ≤10 MB mp4, file ≤20 MB).
        """
        response = await self._request(
            'POST',
            f'/api/v1/channels/{segment(channel_id)}/media',
            data={'type': form_value(type)},
            files={'file': file},
        )
        return self._decode(response, models.MediaUploaded)

    async def verify_channel(
        self,
        channel_id: int,
    ) -> Any:
        """Verify channel: Fetch an access token with the stored credentials. A refusal answers as docs/errors.md maps
        its errcode, with the platform's errcode/errmsg: stored credentials the platform rejects
        (40001 bad secret, 40013 bad corpid / appid) are 424 `channel_misconfigured`, the caller's to
        fix; an outage is 502/503 with Retry-After.
        """
        response = await self._request(
            'POST',
            f'/api/v1/channels/{segment(channel_id)}/verify',
        )
        return self._decode(response, Any)
