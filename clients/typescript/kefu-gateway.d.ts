// Generated from the kefu-gateway OpenAPI document (/schema/openapi.json) by
// scripts/openapi_typescript.py. Do not edit: run `python scripts/openapi_typescript.py` instead.

export interface ActionResult {
  conversation_id: number;
  status: "pending" | "queued" | "open" | "resolved";
  platform_state: string | null;
  assignee_id: number | null;
  operator_id?: number | null;
  assigned_on_platform?: boolean | null;
}

export interface AgentLink {
  agent_id: number;
}

export interface AgentList {
  data: AgentOut[];
  next_cursor: string | null;
}

export interface AgentOut {
  id: number;
  channel_id: number | null;
  source_id: string;
  name: string;
  email: string | null;
  status: "online" | "offline" | "suspended" | "deleted";
  inboxes: InboxMembership[];
  created_at: string;
  updated_at: string;
}

export interface AgentSummary {
  id: number;
  source_id: string;
  name: string;
  status: "online" | "offline" | "suspended" | "deleted";
}

export interface ApiKeyCreate {
  name: string;
  scope: "read" | "write" | "admin";
}

export interface ApiKeyCreated {
  id: number;
  name: string;
  prefix: string;
  scope: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  key: string;
}

export interface ApiKeyList {
  data: ApiKeyOut[];
  next_cursor: string | null;
}

export interface ApiKeyOut {
  id: number;
  name: string;
  prefix: string;
  scope: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface Assign {
  agent_id?: number | null;
  operator_id?: number | null;
}

export interface AttachmentOut {
  media_id: number | null;
  kind: "file" | "image" | "video" | "voice";
  mime: string | null;
  size: number | null;
  filename: string | null;
  status: "pending" | "stored" | "failed" | "expired" | "unavailable";
  url: string | null;
  playable_url?: string | null;
  thumb_url?: string | null;
}

export interface CannedCreate {
  short_code: string;
  content: string;
}

export interface CannedOut {
  id: number;
  short_code: string;
  content: string;
  created_at: string;
  updated_at: string;
}

export interface CannedPage {
  data: CannedOut[];
  next_cursor: string | null;
}

export interface CannedPatch {
  short_code?: string;
  content?: string;
}

export interface ChannelCreate {
  kind: "wecom" | "mp";
  name: string;
  app_id: string;
  secrets: ChannelSecrets;
  settings?: ChannelSettings;
}

export interface ChannelHealthOut {
  last_callback_at: string | null;
  last_pull_at: string | null;
  errors: Record<string, string>;
}

export interface ChannelList {
  data: ChannelOut[];
  next_cursor: string | null;
}

export interface ChannelOut {
  id: number;
  kind: "wecom" | "mp";
  name: string;
  app_id: string;
  enabled: boolean;
  settings: Record<string, unknown>;
  secrets_set: string[];
  callback_url: string;
  created_at: string;
  updated_at: string;
  warnings?: string[];
  health?: ChannelHealthOut | null;
}

export interface ChannelSecrets {
  secret?: string;
  token?: string;
  encoding_aes_key?: string;
}

export interface ChannelSettings {
  api_base?: string;
  callback_mode?: "plain" | "compat" | "safe";
  welcome_message?: string;
  receive_ids?: string[];
  voice_format?: 0 | 1;
  token_kind?: "mp" | "mp-token";
}

export interface ChannelUpdate {
  name?: string;
  settings?: ChannelSettings;
  secrets?: ChannelSecrets;
  enabled?: boolean;
}

export interface ContactMerge {
  into_contact_id: number;
}

export interface ContactOut {
  id: number;
  name: string;
  avatar_url: string | null;
  gender: number | null;
  unionid: string | null;
  external_id: string | null;
  attributes: Record<string, unknown>;
  merged_into_id: number | null;
  identities: IdentityOut[];
  labels?: string[];
  created_at: string;
  updated_at: string;
}

export interface ContactPage {
  data: ContactOut[];
  next_cursor: string | null;
}

export interface ContactPatch {
  name?: string;
  external_id?: string | null;
  attributes?: Record<string, unknown>;
}

export interface ContactSummary {
  id: number;
  name: string;
  avatar_url: string | null;
  external_id: string | null;
}

export interface ContactWayCreate {
  scene?: string | null;
  scene_param?: string | null;
}

export interface ContactWayOut {
  url: string;
  scene: string | null;
  scene_param: string | null;
  created_at: string;
}

export interface ConversationOut {
  id: number;
  status: "pending" | "queued" | "open" | "resolved";
  platform_state: string | null;
  state_checked_at: string | null;
  inbox_id: number;
  contact_id: number;
  assignee_id: number | null;
  last_activity_at: string;
  last_incoming_at: string | null;
  first_reply_at: string | null;
  resolved_at: string | null;
  created_at: string;
  updated_at: string;
  contact: ContactSummary | null;
  inbox: InboxSummary | null;
  assignee: AgentSummary | null;
  event_code?: EventCodeOut | null;
  reply_policy?: ReplyPolicy | null;
  operator_id?: number | null;
  waiting_since?: string | null;
  unread_count?: number | null;
  last_message?: LastMessageOut | null;
  labels?: string[];
}

export interface ConversationPage {
  data: ConversationOut[];
  next_cursor: string | null;
}

export type ConversationStatus = "pending" | "queued" | "open" | "resolved";

export interface DeliveryOut {
  id: number;
  webhook_id: number;
  event_id: number;
  event_type: string;
  status: string;
  attempts: number;
  response_status: number | null;
  response_excerpt: string | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveryPage {
  data: DeliveryOut[];
  next_cursor: string | null;
}

export interface DirectorySync {
  channel_id: number;
}

export interface DirectorySynced {
  inboxes: number;
  agents: number;
}

export interface ErrorBody {
  error: ErrorDetail;
}

export interface ErrorDetail {
  code: string;
  message: string;
  field?: string | null;
  reason?: string | null;
  errcode?: number | null;
  errmsg?: string | null;
  path?: string | null;
}

export interface EventCodeOut {
  code: string;
  kind: string | null;
  issued_at: string | null;
  expires_at: string | null;
  expired: boolean;
}

export interface EventOut {
  id: number;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

export interface EventPage {
  data: EventOut[];
  next_cursor: string;
  has_more: boolean;
  next_after: number;
}

export interface EventReply {
  content_type?: string;
  content?: string | null;
  head_content?: string | null;
  items?: Record<string, unknown>[] | null;
  tail_content?: string | null;
}

export interface Handover {
  target: string;
}

export interface IdentityOut {
  id: number;
  channel_id: number;
  source_id: string;
  unionid: string | null;
  profile: Record<string, unknown>;
  created_at: string;
}

export interface InboxCreate {
  channel_id: number;
  name: string;
  avatar_base64?: string | null;
}

export interface InboxList {
  data: InboxOut[];
  next_cursor: string | null;
}

export interface InboxMembership {
  inbox_id: number;
  status: string;
}

export interface InboxOut {
  id: number;
  channel_id: number;
  source_id: string;
  name: string;
  avatar_url: string | null;
  enabled: boolean;
  contact_ways: ContactWayOut[];
  created_at: string;
  updated_at: string;
}

export interface InboxSummary {
  id: number;
  channel_id: number;
  kind: string;
  source_id: string;
  name: string;
  migrating?: boolean;
}

export interface InboxUpdate {
  name: string;
}

export interface LabelCreate {
  name: string;
  color?: string;
  description?: string;
}

export interface LabelList {
  data: LabelOut[];
  next_cursor: string | null;
}

export interface LabelOut {
  id: number;
  name: string;
  color: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface LabelPatch {
  name?: string;
  color?: string;
  description?: string;
}

export interface Labels {
  labels: string[];
}

export interface LabelsAdd {
  labels: string[];
}

export interface LastMessageOut {
  id: number;
  message_type: "incoming" | "outgoing" | "activity" | "note";
  content_type: "text" | "image" | "voice" | "video" | "file" | "location" | "link" | "business_card" | "miniprogram" | "menu" | "news" | "channels" | "event" | "unknown";
  preview: string;
  created_at: string;
}

export interface LinkedAgent {
  id: number;
  channel_id: number | null;
  source_id: string;
  name: string;
}

export interface Me {
  operator: OperatorOut;
  csrf_token: string;
}

export interface MediaUploaded {
  media_id: string;
  type: string;
  sha256: string;
  size: number;
  expires_at: string;
  reused: boolean;
}

export interface MessageOut {
  id: number;
  conversation_id: number;
  inbox_id: number;
  source_id: string | null;
  message_type: "incoming" | "outgoing" | "activity" | "note";
  sender_type: "contact" | "agent" | "bot" | "system" | "operator" | "api_key";
  sender_agent_id: number | null;
  content_type: "text" | "image" | "voice" | "video" | "file" | "location" | "link" | "business_card" | "miniprogram" | "menu" | "news" | "channels" | "event" | "unknown";
  content: string | null;
  content_attributes: Record<string, unknown>;
  status: "queued" | "sent" | "failed" | "received";
  error_code: string | null;
  error_message: string | null;
  recalled_at: string | null;
  sent_at: string | null;
  created_at: string;
  raw?: Record<string, unknown> | null;
  author?: Record<string, unknown> | null;
  attachment?: AttachmentOut | null;
}

export interface MessagePage {
  data: MessageOut[];
  next_cursor: string | null;
  newer_cursor: string;
}

export interface MpAgentCreate {
  channel_id: number;
  kf_account: string;
  nickname: string;
}

export interface MpAgentInvite {
  invite_wx: string;
}

export interface MpAgentUpdate {
  nickname: string;
}

export interface NoteCreate {
  content?: string | null;
}

export interface OperatorCreate {
  email: string;
  name: string;
  password: string;
  role?: string;
}

export interface OperatorList {
  data: OperatorOut[];
  next_cursor: string | null;
}

export interface OperatorOut {
  id: number;
  email: string;
  name: string;
  role: string;
  active: boolean;
  agents: LinkedAgent[];
  last_sign_in_at: string | null;
  created_at: string;
}

export interface OperatorUpdate {
  name?: string;
  role?: string;
  active?: boolean;
  password?: string;
}

export interface ReadIn {
  message_id?: number | null;
  operator_id?: number | null;
}

export interface ReadOut {
  conversation_id: number;
  operator_id: number;
  last_read_message_id: number;
  unread_count: number;
}

export interface Reopened {
  conversation_id: number;
  status: "pending" | "queued" | "open" | "resolved";
  platform_state: string | null;
  assignee_id: number | null;
  platform_reopened: boolean;
  reason: string | null;
  detail: string;
}

export interface ReplyPolicy {
  can_reply: boolean;
  reason: string | null;
  detail: string;
  grant: string | null;
  window_closes_at?: string | null;
  replies_left?: number | null;
}

export interface SendMessage {
  content_type?: "business_card" | "ca_link" | "file" | "image" | "link" | "location" | "menu" | "miniprogram" | "miniprogrampage" | "mpnews" | "mpnewsarticle" | "msgmenu" | "music" | "news" | "text" | "video" | "voice" | "wxcard";
  content?: string | null;
  media_id?: string | null;
  thumb_media_id?: string | null;
  title?: string | null;
  description?: string | null;
  url?: string | null;
  picurl?: string | null;
  musicurl?: string | null;
  hqmusicurl?: string | null;
  articles?: Record<string, unknown>[] | null;
  article_id?: string | null;
  card_id?: string | null;
  link_url?: string | null;
  appid?: string | null;
  pagepath?: string | null;
  head_content?: string | null;
  items?: Record<string, unknown>[] | null;
  tail_content?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  name?: string | null;
  address?: string | null;
  userid?: string | null;
  kf_account?: string | null;
  agent_id?: number | null;
}

export interface ServicerResult {
  userid: string;
  errcode: number;
  agent_id?: number | null;
}

export interface ServicerResults {
  data: ServicerResult[];
}

export interface ServicersAdd {
  userids: string[];
}

export interface SignIn {
  email: string;
  password: string;
}

export interface Typing {
  on?: boolean;
}

export interface UnreadOut {
  conversations: number;
  messages: number;
}

export interface UpgradeService {
  type: string;
  userid?: string | null;
  chat_id?: string | null;
  wording?: string | null;
}

export interface WebhookCreate {
  url: string;
  /** event types (message.created, message.updated, conversation.created, conversation.updated, contact.created, contact.updated, contact.merged, note.created); empty = all */
  events?: string[];
  secret?: string | null;
  description?: string;
  enabled?: boolean;
}

export interface WebhookCreated {
  id: number;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  pending_deliveries: number;
  created_at: string;
  updated_at: string;
  secret: string;
}

export interface WebhookList {
  data: WebhookOut[];
  next_cursor: string | null;
}

export interface WebhookOut {
  id: number;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  pending_deliveries: number;
  created_at: string;
  updated_at: string;
}

export interface WebhookUpdate {
  url?: string;
  /** event types (message.created, message.updated, conversation.created, conversation.updated, contact.created, contact.updated, contact.merged, note.created); empty = all */
  events?: string[];
  secret?: string;
  description?: string;
  enabled?: boolean;
}

/** Every `error.code` an operation documents (ErrorBody). */
export type ErrorCode =
  | "agent_already_linked"
  | "agent_not_servicer"
  | "agent_unavailable"
  | "already_exists"
  | "api_base_not_allowed"
  | "bad_request"
  | "callback_bad_aes_key"
  | "callback_bad_base64"
  | "callback_bad_buffer"
  | "callback_bad_receive_id"
  | "callback_bad_signature"
  | "callback_bad_xml"
  | "callback_base64_encode_failed"
  | "callback_decrypt_failed"
  | "callback_encrypt_failed"
  | "callback_reply_xml_failed"
  | "callback_sha_error"
  | "callback_stale"
  | "channel_misconfigured"
  | "channel_not_found"
  | "conflict"
  | "contact_unreachable"
  | "conversation_ended"
  | "conversation_not_resolved"
  | "conversation_superseded"
  | "csrf_failed"
  | "email_taken"
  | "event_code_expired"
  | "forbidden"
  | "idempotency_key_busy"
  | "idempotency_key_reused"
  | "internal_error"
  | "invalid_credentials"
  | "invalid_event_code"
  | "invalid_media"
  | "invalid_message"
  | "invalid_plan"
  | "invalid_wechat_id"
  | "invitation_conflict"
  | "label_exists"
  | "last_admin"
  | "media_expired"
  | "media_failed"
  | "media_not_found"
  | "media_pending"
  | "message_not_in_conversation"
  | "no_platform_session"
  | "not_found"
  | "note_too_long"
  | "operator_required"
  | "overloaded"
  | "payload_too_large"
  | "platform_busy"
  | "platform_conflict"
  | "platform_error"
  | "platform_forbids"
  | "platform_holds_session"
  | "platform_invalid_argument"
  | "platform_limit_reached"
  | "platform_not_found"
  | "platform_rate_limited"
  | "platform_unreachable"
  | "quota_exhausted"
  | "range_not_satisfiable"
  | "reply_not_allowed"
  | "secret_reentry_required"
  | "served_by_another_agent"
  | "short_code_taken"
  | "state_forbids_api"
  | "state_transition_refused"
  | "too_many_attempts"
  | "too_many_streams"
  | "typing_not_allowed"
  | "unauthorized"
  | "unknown_label"
  | "unknown_operator"
  | "unsupported_by_channel"
  | "upgrade_target_not_configured"
  | "validation_error"
  | "variant_failed"
  | "weak_password"
  | "webhook_target_forbidden"
  | "webhook_target_unresolvable"
  | "webhook_url_insecure"
  | "window_closed";

/** Every operation by its operationId: method, path, parameters, body and responses. */
export interface Operations {
  /** Add contact labels */
  addContactLabels: {
    method: "POST";
    path: "/api/v1/contacts/{contact_id}/labels";
    pathParams: {
      contact_id: number;
    };
    body: LabelsAdd;
    responses: {
      200: Labels;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Add conversation labels */
  addConversationLabels: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/labels";
    pathParams: {
      conversation_id: number;
    };
    body: LabelsAdd;
    responses: {
      200: Labels;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Add servicers */
  addServicers: {
    method: "POST";
    path: "/api/v1/inboxes/{inbox_id}/agents";
    pathParams: {
      inbox_id: number;
    };
    body: ServicersAdd;
    responses: {
      200: ServicerResults;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Assign */
  assign: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/assign";
    pathParams: {
      conversation_id: number;
    };
    body: Assign;
    responses: {
      200: ActionResult;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Callback get */
  callbackGet: {
    method: "GET";
    path: "/callbacks/{channel_id}";
    pathParams: {
      channel_id: number;
    };
    responses: {
      201: unknown;
      400: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
    };
  };
  /** Callback post */
  callbackPost: {
    method: "POST";
    path: "/callbacks/{channel_id}";
    pathParams: {
      channel_id: number;
    };
    responses: {
      201: unknown;
      400: ErrorBody;
      404: ErrorBody;
      413: ErrorBody;
      500: ErrorBody;
    };
  };
  /** Contact labels */
  contactLabels: {
    method: "GET";
    path: "/api/v1/contacts/{contact_id}/labels";
    pathParams: {
      contact_id: number;
    };
    responses: {
      200: Labels;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Conversation labels */
  conversationLabels: {
    method: "GET";
    path: "/api/v1/conversations/{conversation_id}/labels";
    pathParams: {
      conversation_id: number;
    };
    responses: {
      200: Labels;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create agent */
  createAgent: {
    method: "POST";
    path: "/api/v1/agents";
    body: MpAgentCreate;
    responses: {
      201: AgentOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create api key */
  createApiKey: {
    method: "POST";
    path: "/api/v1/api-keys";
    body: ApiKeyCreate;
    responses: {
      201: ApiKeyCreated;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create canned */
  createCanned: {
    method: "POST";
    path: "/api/v1/canned_responses";
    body: CannedCreate;
    responses: {
      201: CannedOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create channel */
  createChannel: {
    method: "POST";
    path: "/api/v1/channels";
    body: ChannelCreate;
    responses: {
      201: ChannelOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create contact way */
  createContactWay: {
    method: "POST";
    path: "/api/v1/inboxes/{inbox_id}/contact-ways";
    pathParams: {
      inbox_id: number;
    };
    body: ContactWayCreate;
    responses: {
      201: ContactWayOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create inbox */
  createInbox: {
    method: "POST";
    path: "/api/v1/inboxes";
    body: InboxCreate;
    responses: {
      201: InboxOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create label */
  createLabel: {
    method: "POST";
    path: "/api/v1/labels";
    body: LabelCreate;
    responses: {
      201: LabelOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create note */
  createNote: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/notes";
    pathParams: {
      conversation_id: number;
    };
    body: NoteCreate;
    responses: {
      201: MessageOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create operator */
  createOperator: {
    method: "POST";
    path: "/api/v1/operators";
    body: OperatorCreate;
    responses: {
      201: OperatorOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Create webhook */
  createWebhook: {
    method: "POST";
    path: "/api/v1/webhooks";
    body: WebhookCreate;
    responses: {
      201: WebhookCreated;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Delete agent */
  deleteAgent: {
    method: "DELETE";
    path: "/api/v1/agents/{agent_id}";
    pathParams: {
      agent_id: number;
    };
    responses: {
      200: AgentOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Delete canned */
  deleteCanned: {
    method: "DELETE";
    path: "/api/v1/canned_responses/{canned_id}";
    pathParams: {
      canned_id: number;
    };
    responses: {
      204: void;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Delete inbox */
  deleteInbox: {
    method: "DELETE";
    path: "/api/v1/inboxes/{inbox_id}";
    pathParams: {
      inbox_id: number;
    };
    responses: {
      200: InboxOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Delete label */
  deleteLabel: {
    method: "DELETE";
    path: "/api/v1/labels/{label_id}";
    pathParams: {
      label_id: number;
    };
    responses: {
      204: void;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Delete webhook */
  deleteWebhook: {
    method: "DELETE";
    path: "/api/v1/webhooks/{webhook_id}";
    pathParams: {
      webhook_id: number;
    };
    responses: {
      204: void;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Disable channel */
  disableChannel: {
    method: "POST";
    path: "/api/v1/channels/{channel_id}/disable";
    pathParams: {
      channel_id: number;
    };
    responses: {
      200: ChannelOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Enable channel */
  enableChannel: {
    method: "POST";
    path: "/api/v1/channels/{channel_id}/enable";
    pathParams: {
      channel_id: number;
    };
    responses: {
      200: ChannelOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Event reply */
  eventReply: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/event-reply";
    pathParams: {
      conversation_id: number;
    };
    body: EventReply;
    responses: {
      200: MessageOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get agent */
  getAgent: {
    method: "GET";
    path: "/api/v1/agents/{agent_id}";
    pathParams: {
      agent_id: number;
    };
    responses: {
      200: AgentOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get canned */
  getCanned: {
    method: "GET";
    path: "/api/v1/canned_responses/{canned_id}";
    pathParams: {
      canned_id: number;
    };
    responses: {
      200: CannedOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get channel */
  getChannel: {
    method: "GET";
    path: "/api/v1/channels/{channel_id}";
    pathParams: {
      channel_id: number;
    };
    responses: {
      200: ChannelOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get contact */
  getContact: {
    method: "GET";
    path: "/api/v1/contacts/{contact_id}";
    pathParams: {
      contact_id: number;
    };
    responses: {
      200: ContactOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get conversation */
  getConversation: {
    method: "GET";
    path: "/api/v1/conversations/{conversation_id}";
    pathParams: {
      conversation_id: number;
    };
    query: {
      operator_id?: number | null;
    };
    responses: {
      200: ConversationOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get inbox */
  getInbox: {
    method: "GET";
    path: "/api/v1/inboxes/{inbox_id}";
    pathParams: {
      inbox_id: number;
    };
    responses: {
      200: InboxOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get label */
  getLabel: {
    method: "GET";
    path: "/api/v1/labels/{label_id}";
    pathParams: {
      label_id: number;
    };
    responses: {
      200: LabelOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get media file */
  getMediaFile: {
    method: "GET";
    path: "/api/v1/media/{media_id}";
    pathParams: {
      media_id: number;
    };
    query: {
      variant?: "original" | "playable" | "thumb";
      download?: boolean;
    };
    headers: {
      Range?: string;
      "If-Range"?: string;
      "If-None-Match"?: string;
    };
    responses: {
      200: Blob;
      206: Blob;
      304: void;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      410: ErrorBody;
      416: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get message */
  getMessage: {
    method: "GET";
    path: "/api/v1/conversations/{conversation_id}/messages/{message_id}";
    pathParams: {
      conversation_id: number;
      message_id: number;
    };
    query: {
      include_raw?: boolean;
    };
    responses: {
      200: MessageOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get operator */
  getOperator: {
    method: "GET";
    path: "/api/v1/operators/{operator_id}";
    pathParams: {
      operator_id: number;
    };
    responses: {
      200: OperatorOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Get webhook */
  getWebhook: {
    method: "GET";
    path: "/api/v1/webhooks/{webhook_id}";
    pathParams: {
      webhook_id: number;
    };
    responses: {
      200: WebhookOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Handover */
  handover: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/handover";
    pathParams: {
      conversation_id: number;
    };
    body: Handover;
    responses: {
      200: ActionResult;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Healthz */
  healthz: {
    method: "GET";
    path: "/healthz";
    responses: {
      200: Record<string, unknown>;
      503: Record<string, unknown>;
      500: ErrorBody;
    };
  };
  /** Invite agent */
  inviteAgent: {
    method: "POST";
    path: "/api/v1/agents/{agent_id}/invite";
    pathParams: {
      agent_id: number;
    };
    body: MpAgentInvite;
    responses: {
      200: AgentOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Link agent */
  linkAgent: {
    method: "POST";
    path: "/api/v1/operators/{operator_id}/agents";
    pathParams: {
      operator_id: number;
    };
    body: AgentLink;
    responses: {
      200: OperatorOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List agents */
  listAgents: {
    method: "GET";
    path: "/api/v1/agents";
    query: {
      channel_id?: number | null;
      inbox_id?: number | null;
      status?: string | null;
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: AgentList;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List api keys */
  listApiKeys: {
    method: "GET";
    path: "/api/v1/api-keys";
    query: {
      include_revoked?: boolean;
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: ApiKeyList;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List canned */
  listCanned: {
    method: "GET";
    path: "/api/v1/canned_responses";
    query: {
      q?: string | null;
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: CannedPage;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List channels */
  listChannels: {
    method: "GET";
    path: "/api/v1/channels";
    query: {
      kind?: "wecom" | "mp" | null;
      enabled?: boolean | null;
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: ChannelList;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List contacts */
  listContacts: {
    method: "GET";
    path: "/api/v1/contacts";
    query: {
      q?: string | null;
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: ContactPage;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List conversations */
  listConversations: {
    method: "GET";
    path: "/api/v1/conversations";
    query: {
      status?: ConversationStatus | null;
      channel_id?: number | null;
      inbox_id?: number | null;
      assignee_id?: number | null;
      contact_id?: number | null;
      updated_after?: string | null;
      q?: string | null;
      cursor?: string | null;
      limit?: number;
      assignee?: string | null;
      operator_id?: number | null;
      label?: string | null;
      sort?: "last_activity" | "waiting";
    };
    responses: {
      200: ConversationPage;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List deliveries */
  listDeliveries: {
    method: "GET";
    path: "/api/v1/webhooks/{webhook_id}/deliveries";
    pathParams: {
      webhook_id: number;
    };
    query: {
      status?: "pending" | "delivered" | "failed" | null;
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: DeliveryPage;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List events */
  listEvents: {
    method: "GET";
    path: "/api/v1/events";
    query: {
      cursor?: string | null;
      after?: number | null;
      limit?: number;
      types?: string[] | null;
    };
    responses: {
      200: EventPage;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List inboxes */
  listInboxes: {
    method: "GET";
    path: "/api/v1/inboxes";
    query: {
      channel_id?: number | null;
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: InboxList;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List labels */
  listLabels: {
    method: "GET";
    path: "/api/v1/labels";
    query: {
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: LabelList;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List messages */
  listMessages: {
    method: "GET";
    path: "/api/v1/conversations/{conversation_id}/messages";
    pathParams: {
      conversation_id: number;
    };
    query: {
      cursor?: string | null;
      limit?: number;
      direction?: "older" | "newer" | null;
      include_raw?: boolean;
    };
    responses: {
      200: MessagePage;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List operators */
  listOperators: {
    method: "GET";
    path: "/api/v1/operators";
    query: {
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: OperatorList;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** List webhooks */
  listWebhooks: {
    method: "GET";
    path: "/api/v1/webhooks";
    query: {
      cursor?: string | null;
      limit?: number;
    };
    responses: {
      200: WebhookList;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Mark read */
  markRead: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/read";
    pathParams: {
      conversation_id: number;
    };
    body: ReadIn | null;
    responses: {
      200: ReadOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Me */
  me: {
    method: "GET";
    path: "/api/v1/auth/me";
    responses: {
      200: Me;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Merge contact */
  mergeContact: {
    method: "POST";
    path: "/api/v1/contacts/{contact_id}/merge";
    pathParams: {
      contact_id: number;
    };
    body: ContactMerge;
    responses: {
      200: ContactOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Metrics */
  metrics: {
    method: "GET";
    path: "/metrics";
    responses: {
      200: string;
      500: ErrorBody;
    };
  };
  /** Migration report */
  migrationReport: {
    method: "GET";
    path: "/api/v1/migration/report";
    query: {
      plan?: string | null;
      format?: string;
    };
    responses: {
      200: unknown;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Readyz */
  readyz: {
    method: "GET";
    path: "/readyz";
    responses: {
      200: Record<string, unknown>;
      503: Record<string, unknown>;
      500: ErrorBody;
    };
  };
  /** Redeliver */
  redeliver: {
    method: "POST";
    path: "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver";
    pathParams: {
      webhook_id: number;
      delivery_id: number;
    };
    responses: {
      202: DeliveryOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Remove contact label */
  removeContactLabel: {
    method: "DELETE";
    path: "/api/v1/contacts/{contact_id}/labels/{name}";
    pathParams: {
      contact_id: number;
      name: string;
    };
    responses: {
      200: Labels;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Remove conversation label */
  removeConversationLabel: {
    method: "DELETE";
    path: "/api/v1/conversations/{conversation_id}/labels/{name}";
    pathParams: {
      conversation_id: number;
      name: string;
    };
    responses: {
      200: Labels;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Remove servicer */
  removeServicer: {
    method: "DELETE";
    path: "/api/v1/inboxes/{inbox_id}/agents/{agent_id}";
    pathParams: {
      inbox_id: number;
      agent_id: number;
    };
    responses: {
      204: void;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Rename inbox */
  renameInbox: {
    method: "PATCH";
    path: "/api/v1/inboxes/{inbox_id}";
    pathParams: {
      inbox_id: number;
    };
    body: InboxUpdate;
    responses: {
      200: InboxOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Reopen conversation */
  reopenConversation: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/reopen";
    pathParams: {
      conversation_id: number;
    };
    responses: {
      200: Reopened;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Resolve */
  resolve: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/resolve";
    pathParams: {
      conversation_id: number;
    };
    responses: {
      200: ActionResult;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Revoke api key */
  revokeApiKey: {
    method: "DELETE";
    path: "/api/v1/api-keys/{key_id}";
    pathParams: {
      key_id: number;
    };
    responses: {
      200: ApiKeyOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Send */
  send: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/messages";
    pathParams: {
      conversation_id: number;
    };
    headers: {
      "Idempotency-Key"?: string;
    };
    body: SendMessage;
    responses: {
      202: MessageOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Send with upload */
  sendWithUpload: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/messages/upload";
    pathParams: {
      conversation_id: number;
    };
    headers: {
      "Idempotency-Key"?: string;
    };
    body: FormData;
    responses: {
      202: MessageOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Sign in */
  signIn: {
    method: "POST";
    path: "/api/v1/auth/sign-in";
    body: SignIn;
    responses: {
      200: Me;
      400: ErrorBody;
      401: ErrorBody;
      404: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      429: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Sign out */
  signOut: {
    method: "POST";
    path: "/api/v1/auth/sign-out";
    responses: {
      204: null;
      401: ErrorBody;
      403: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Stream */
  stream: {
    method: "GET";
    path: "/api/v1/events/stream";
    query: {
      cursor?: string | null;
      after?: number | null;
      types?: string[] | null;
    };
    headers: {
      "Last-Event-ID"?: string;
    };
    responses: {
      200: string;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      429: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Sync directory */
  syncDirectory: {
    method: "POST";
    path: "/api/v1/agents/sync";
    body: DirectorySync;
    responses: {
      200: DirectorySynced;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Typing */
  typing: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/typing";
    pathParams: {
      conversation_id: number;
    };
    body: Typing;
    responses: {
      204: void;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Unlink agent */
  unlinkAgent: {
    method: "DELETE";
    path: "/api/v1/operators/{operator_id}/agents/{agent_id}";
    pathParams: {
      operator_id: number;
      agent_id: number;
    };
    responses: {
      200: OperatorOut;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Unread total */
  unreadTotal: {
    method: "GET";
    path: "/api/v1/conversations/unread";
    query: {
      status?: ConversationStatus | null;
      channel_id?: number | null;
      inbox_id?: number | null;
      assignee?: string | null;
      operator_id?: number | null;
      label?: string | null;
      q?: string | null;
    };
    responses: {
      200: UnreadOut;
      401: ErrorBody;
      403: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Update agent */
  updateAgent: {
    method: "PATCH";
    path: "/api/v1/agents/{agent_id}";
    pathParams: {
      agent_id: number;
    };
    body: MpAgentUpdate;
    responses: {
      200: AgentOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Update canned */
  updateCanned: {
    method: "PATCH";
    path: "/api/v1/canned_responses/{canned_id}";
    pathParams: {
      canned_id: number;
    };
    body: CannedPatch;
    responses: {
      200: CannedOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Update channel */
  updateChannel: {
    method: "PATCH";
    path: "/api/v1/channels/{channel_id}";
    pathParams: {
      channel_id: number;
    };
    body: ChannelUpdate;
    responses: {
      200: ChannelOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Update contact */
  updateContact: {
    method: "PATCH";
    path: "/api/v1/contacts/{contact_id}";
    pathParams: {
      contact_id: number;
    };
    body: ContactPatch;
    responses: {
      200: ContactOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Update label */
  updateLabel: {
    method: "PATCH";
    path: "/api/v1/labels/{label_id}";
    pathParams: {
      label_id: number;
    };
    body: LabelPatch;
    responses: {
      200: LabelOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Update operator */
  updateOperator: {
    method: "PATCH";
    path: "/api/v1/operators/{operator_id}";
    pathParams: {
      operator_id: number;
    };
    body: OperatorUpdate;
    responses: {
      200: OperatorOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Update webhook */
  updateWebhook: {
    method: "PATCH";
    path: "/api/v1/webhooks/{webhook_id}";
    pathParams: {
      webhook_id: number;
    };
    body: WebhookUpdate;
    responses: {
      200: WebhookOut;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      500: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Upgrade service */
  upgradeService: {
    method: "POST";
    path: "/api/v1/conversations/{conversation_id}/upgrade-service";
    pathParams: {
      conversation_id: number;
    };
    body: UpgradeService;
    responses: {
      200: Record<string, unknown>;
      400: ErrorBody;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Upload media */
  uploadMedia: {
    method: "POST";
    path: "/api/v1/channels/{channel_id}/media";
    pathParams: {
      channel_id: number;
    };
    body: FormData;
    responses: {
      201: MediaUploaded;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      413: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
  /** Verify channel */
  verifyChannel: {
    method: "POST";
    path: "/api/v1/channels/{channel_id}/verify";
    pathParams: {
      channel_id: number;
    };
    responses: {
      200: unknown;
      401: ErrorBody;
      403: ErrorBody;
      404: ErrorBody;
      409: ErrorBody;
      422: ErrorBody;
      424: ErrorBody;
      500: ErrorBody;
      502: ErrorBody;
      503: ErrorBody;
    };
  };
}
