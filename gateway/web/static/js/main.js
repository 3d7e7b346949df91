// The web inbox: sign-in, then one list across every channel, the thread, the composer and the
// contact panel, kept live by the event stream.

import { ApiError, get, getAll, onSignedOut, post, setCsrf } from "./api.js";
import { $, $$, h } from "./dom.js";
import { initComposer, showPolicy } from "./composer.js";
import { formatTime, language, pickLanguage, setLanguage, t } from "./i18n.js";
import { fillFilterOptions, initList, neighbour, refreshUnread, reloadList, restoreFilters } from "./list.js";
import { announce, askToNotify, startLive, stopLive } from "./live.js";
import { loadPanel } from "./panel.js";
import { assigneeName, emit, kindOf, on, state } from "./state.js";
import { initThread, loadNewer, loadThread, upsertMessage } from "./thread.js";

let listTimer = null;

async function boot() {
  setLanguage(pickLanguage());
  $("#language").value = language();
  $("#language").addEventListener("change", (event) => {
    setLanguage(event.target.value, { remember: true });
    fillFilterOptions();
    fillAssignees();
    emit("language");
    if (state.current) renderHead();
    showPolicy();
  });
  $("#signin-form").addEventListener("submit", signIn);
  document.addEventListener("click", askToNotify, { once: true }); // a gesture: the browser may ask
  $("#signout").addEventListener("click", signOut);
  $("#back").addEventListener("click", () => document.body.classList.remove("reading"));
  onSignedOut(showSignIn);
  initList();
  initThread();
  initComposer();
  initActions();
  initKeys();
  on("open", openConversation);
  on("sent", (message) => {
    if (message && state.current && message.conversation_id === state.current.id) upsertMessage(message);
    refreshCurrent();
  });
  on("refresh-current", refreshCurrent);
  on("refresh-list", scheduleList);
  // a live update that fails (the gateway went away mid-way) is logged; the catch-up on reconnect covers it
  on("live", (detail) => onLive(detail).catch((error) => console.warn("live update", error.message)));
  on("live-reconnected", catchUp);
  if (document.body.dataset.session !== "1") {
    showSignIn(); // no session cookie came with the page: nothing to ask the API
    return;
  }
  try {
    const me = await get("/auth/me");
    await enter(me);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) console.warn("auth/me", error.message);
    showSignIn();
  }
}

function showSignIn() {
  stopLive();
  state.me = null;
  $("#app").hidden = true;
  $("#signin").hidden = false;
  $("#signin-form").elements.email.focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  $("#signin-error").textContent = "";
  try {
    const answer = await post("/auth/sign-in", { email: form.elements.email.value.trim(), password: form.elements.password.value });
    form.elements.password.value = "";
    await enter(answer);
  } catch (error) {
    const retry = error.body && error.body.error && error.body.error.retry_after;
    $("#signin-error").textContent = error.status === 429 ? t("signin.limited", { seconds: retry || 60 }) : t("signin.failed");
  }
}

async function signOut() {
  try {
    await post("/auth/sign-out", {});
  } finally {
    setCsrf(null);
    showSignIn();
  }
}

async function enter(session) {
  state.me = session.operator;
  setCsrf(session.csrf_token);
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#me").textContent = state.me.name || state.me.email;
  restoreFilters();
  // the list's first page is asked for with the directory, not after it; its rows render once both
  // are in (row names and kinds come from the directory)
  await reloadList(loadDirectory());
  startLive();
}

async function loadDirectory() {
  const settle = (promise) => promise.catch(() => []);
  const admin = state.me.role === "admin"; // channels and operators are admin resources: agents skip them
  const none = Promise.resolve([]);
  const [channels, inboxes, labels, operators] = await Promise.all([
    admin ? settle(getAll("/channels")) : none,
    settle(getAll("/inboxes")),
    settle(getAll("/labels")),
    admin ? settle(getAll("/operators")) : none,
  ]);
  state.channels = new Map(channels.map((c) => [c.id, c]));
  state.inboxes = new Map(inboxes.map((i) => [i.id, i]));
  state.labels = labels;
  state.operators = operators.filter((o) => o.active !== false);
  fillFilterOptions();
  fillAssignees();
}

/** The "assign to" picker: nobody, then every active operator (admins only: agents read no /operators). */
function fillAssignees() {
  const select = $("#assign-to");
  select.replaceChildren(h("option", { value: "" }, t("action.assignNobody")), ...state.operators.map((o) => h("option", { value: String(o.id) }, o.name || o.email)));
  select.hidden = state.operators.length === 0;
  select.value = state.current && state.current.operator_id ? String(state.current.operator_id) : "";
}

async function openConversation(id) {
  // the list's row until the full conversation arrives: what it knows (its channel kind) holds meanwhile
  state.current = { ...(state.rows.get(id) || {}), id };
  document.body.classList.add("reading");
  $("#placeholder").hidden = true;
  $("#thread-view").hidden = false;
  $("#note-mode").checked = false;
  $$("#conversations .row").forEach((row) => row.classList.toggle("selected", row.dataset.conversationId === String(id)));
  await refreshCurrent();
  await loadThread(id);
  // j/k pressed quickly opens another before this one loaded: that one is current, not this
  if (state.current && state.current.id === id) markRead();
}

let refreshes = 0; // reads of the open conversation started: an older answer arriving last is dropped

async function refreshCurrent() {
  if (!state.current) return;
  const id = state.current.id;
  const mine = ++refreshes;
  const conversation = await get(`/conversations/${id}`);
  if (mine !== refreshes || !state.current || state.current.id !== id) return;
  state.current = conversation;
  renderHead();
  showPolicy();
  loadPanel(conversation).catch(() => {});
  emit("conversation-changed", { ...(state.rows.get(id) || {}), ...conversation, unread_count: state.rows.get(id)?.unread_count });
}

function renderHead() {
  const c = state.current;
  const kind = kindOf(c);
  $("#thread-title").replaceChildren(h("span", { class: `mark ${kind}` }, kind === "mp" ? "公" : "企"), " ", (c.contact && c.contact.name) || "?");
  const who = assigneeName(c);
  const parts = [t("kind." + kind), c.inbox ? c.inbox.name || c.inbox.source_id : "", t("status." + c.status), who ? t("thread.assignee", { name: who }) : t("thread.noAssignee")];
  if (c.waiting_since) parts.push(t("thread.waiting", { time: formatTime(c.waiting_since) }));
  if (c.inbox && c.inbox.migrating) parts.push(t("thread.migrating"));
  $("#thread-sub").textContent = parts.filter(Boolean).join(" · ");
  const resolved = c.status === "resolved";
  $('[data-action="resolve"]').hidden = resolved;
  const refusal = resolveRefusal(c, kind);
  $('[data-action="resolve"]').disabled = Boolean(refusal);
  $("#action-hint").textContent = refusal;
  $("#action-hint").hidden = !refusal;
  $('[data-action="reopen"]').hidden = !resolved;
  for (const target of ["queue", "bot"]) {
    const button = $(`[data-action="${target}"]`);
    const refused = handoverRefusal(c, kind, target);
    button.hidden = resolved || kind !== "wecom";
    button.disabled = Boolean(refused);
    button.title = refused;
  }
  $("#assign-to").value = c.operator_id ? String(c.operator_id) : "";
}

/**
 * Why the platform would refuse to end this conversation now, or "" when it may. WeCom ends only a
 * session a servicer holds (service_state 3 → 4; from 0, 1 or 2 it answers 95016, docs/platforms.md
 * §2.3), so the page says so before the click instead of showing the refusal after it. A session
 * reopened by the gateway alone ("reopened") ends without a platform call.
 */
function resolveRefusal(c, kind) {
  if (kind !== "wecom" || c.status === "resolved" || !["0", "1", "2"].includes(c.platform_state)) return "";
  return t("action.resolveNotYet", { state: t("wecomState." + c.platform_state) });
}

/**
 * Why WeCom would refuse handing this session to the queue or the bot now, or "" when it may: it
 * moves a session 0→1, 0→2 and 1→2 only (a servicer's session, state 3, neither; docs/platforms.md
 * §2.3), so the page does not offer a move that can only answer 95016. An unknown state is tried.
 */
function handoverRefusal(c, kind, target) {
  const from = c.platform_state;
  if (kind !== "wecom" || !["0", "1", "2", "3", "4"].includes(from)) return "";
  const allowed = target === "bot" ? ["0"] : ["0", "1"];
  return allowed.includes(from) ? "" : t("action.handoverNotNow", { state: t("wecomState." + from) });
}

async function markRead() {
  const c = state.current;
  if (!c || document.hidden) return;
  try {
    await post(`/conversations/${c.id}/read`, {});
    const row = state.rows.get(c.id);
    if (row) emit("conversation-changed", { ...row, unread_count: 0 });
    refreshUnread();
  } catch {
    /* read state is best effort from the page's side */
  }
}

function initActions() {
  const act = async (path, body) => {
    const c = state.current;
    if (!c) return;
    try {
      const result = await post(`/conversations/${c.id}/${path}`, body);
      const here = result && result.assigned_on_platform === false && result.operator_id !== null;
      // a reopen the platform could not follow says why (WeCom: the next message starts a session)
      const alone = result && result.platform_reopened === false;
      $("#composer-status").textContent = here ? t("action.assignedHere") : alone ? t("action.reopenedHere", { detail: result.detail }) : t("action.done");
    } catch (error) {
      $("#composer-status").textContent = t("error.generic", { message: error.message });
    }
    await refreshCurrent();
    scheduleList();
  };
  $('[data-action="assign-me"]').addEventListener("click", () => act("assign", { operator_id: state.me.id }));
  $("#assign-to").addEventListener("change", (event) => act("assign", { operator_id: event.target.value ? Number(event.target.value) : null }));
  $('[data-action="queue"]').addEventListener("click", () => act("handover", { target: "queue" }));
  $('[data-action="bot"]').addEventListener("click", () => act("handover", { target: "bot" }));
  $('[data-action="resolve"]').addEventListener("click", () => act("resolve", {}));
  $('[data-action="reopen"]').addEventListener("click", () => act("reopen", {}));
}

function scheduleList() {
  clearTimeout(listTimer);
  listTimer = setTimeout(() => reloadList().catch(() => {}), 400);
}

async function onLive({ type, event }) {
  const data = event.data || {};
  const here = state.current && data.conversation_id === state.current.id;
  if (type === "message.created" || type === "note.created") {
    if (here) {
      const incoming = await loadNewer();
      if (incoming.length) markRead();
      if (incoming.length && document.hidden) notifyAbout(data);
    } else if (data.message_type === "incoming") {
      notifyAbout(data);
    }
    scheduleList();
  } else if (type === "message.updated" && here) {
    const message = await get(`/conversations/${state.current.id}/messages/${data.message_id}`);
    if (state.current && message.conversation_id === state.current.id) upsertMessage(message);
    // a reply that failed gave its quota back: the policy above the composer must say so
    if (data.changes && data.changes.status) await refreshCurrent();
  } else if (type.startsWith("conversation.")) {
    if (here) await refreshCurrent();
    scheduleList();
  }
}

function notifyAbout(data) {
  const row = state.rows.get(data.conversation_id);
  const name = row && row.contact && row.contact.name;
  const body = data.content || `[${data.content_type}]`;
  announce(name ? t("notify.from", { name }) : t("notify.new"), body, () => emit("open", data.conversation_id));
}

/** After the stream came back: what a failed update may have missed (the stream itself resumes). */
async function catchUp() {
  scheduleList();
  if (!state.current) return;
  try {
    await refreshCurrent();
    if ((await loadNewer()).length) markRead();
  } catch (error) {
    console.warn("catch-up", error.message);
  }
}

function initKeys() {
  const keys = [
    ["j", "help.next", () => go(1)],
    ["k", "help.prev", () => go(-1)],
    ["r", "help.reply", () => $("#composer").elements.content.focus()],
    ["e", "help.resolve", () => press('[data-action="resolve"]')],
    ["a", "help.assign", () => press('[data-action="assign-me"]')],
    ["/", "help.search", () => $("#search").focus()],
    ["?", "help.help", () => showHelp(keys)],
  ];
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || $("#app").hidden) return;
    // a closed dialog can keep the focus for a moment after Escape: only an open one takes the keys
    if (target.closest && target.closest("input, textarea, select, dialog[open]")) return;
    const entry = keys.find(([key]) => key === event.key);
    if (!entry) return;
    event.preventDefault();
    entry[2]();
  });
  document.addEventListener("visibilitychange", () => !document.hidden && markRead());
}

/** A shortcut's button, clicked only where a person could click it: shown, enabled, with a conversation open. */
function press(selector) {
  const button = $(selector);
  if (state.current && !button.hidden && !button.disabled && !$("#thread-view").hidden) button.click();
}

function go(step) {
  const id = neighbour(step);
  if (id !== null) emit("open", id);
}

function showHelp(keys) {
  $("#help-list").replaceChildren(...keys.flatMap(([key, label]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, t(label))]));
  $("#help").showModal();
}

boot();
