// What the page knows, shared by its parts, and a tiny event bus between them.

export const state = {
  me: null, // the signed-in operator
  filters: { assignee: "all", status: "", channel_id: "", inbox_id: "", label: "", sort: "last_activity", q: "" },
  rows: new Map(), // conversation id → list row (as the API answered it)
  order: [], // conversation ids in list order
  nextCursor: null,
  current: null, // the open conversation (GET /conversations/{id})
  channels: new Map(), // id → channel
  inboxes: new Map(), // id → inbox
  labels: [],
  operators: [],
};

const bus = new EventTarget();

export function on(type, fn) {
  bus.addEventListener(type, (event) => fn(event.detail));
}

export function emit(type, detail) {
  bus.dispatchEvent(new CustomEvent(type, { detail }));
}

/** "wecom" or "mp" for a conversation row (its inbox's channel kind). */
export function kindOf(conversation) {
  if (conversation.inbox && conversation.inbox.kind) return conversation.inbox.kind;
  const inbox = state.inboxes.get(conversation.inbox_id);
  const channel = inbox && state.channels.get(inbox.channel_id);
  return channel ? channel.kind : "wecom";
}

/** The name of who holds a conversation: its operator (agents see only their own: no /operators), else the platform's assignee. */
export function assigneeName(conversation) {
  const id = conversation.operator_id;
  const operator = id == null ? null : state.operators.find((o) => o.id === id) || (state.me && state.me.id === id ? state.me : null);
  if (operator) return operator.name || operator.email;
  return conversation.assignee ? conversation.assignee.name : "";
}
