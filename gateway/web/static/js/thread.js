// The thread of the open conversation: every content type rendered as a person expects it,
// older messages loaded on scroll, new ones appended live.

import { get } from "./api.js";
import { $, h, humanSize, richText } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { state } from "./state.js";

const PAGE = 50;
let olderCursor = null; // the next page back (null: the first message is shown)
let newerCursor = null; // what arrived after the newest page loaded
let loadingOlder = false;
const seen = new Set();

export function initThread() {
  $("#thread").addEventListener("scroll", (event) => {
    if (event.target.scrollTop < 60 && olderCursor && !loadingOlder) loadOlder();
  });
}

export async function loadThread(conversationId) {
  const list = $("#thread");
  list.replaceChildren();
  seen.clear();
  olderCursor = null;
  newerCursor = null;
  const page = await get(`/conversations/${conversationId}/messages`, { limit: PAGE });
  if (!state.current || state.current.id !== conversationId) return;
  olderCursor = page.next_cursor;
  newerCursor = page.newer_cursor;
  append(page.data);
  list.scrollTop = list.scrollHeight;
}

async function loadOlder() {
  if (!state.current || !olderCursor) return;
  loadingOlder = true;
  const id = state.current.id;
  try {
    const page = await get(`/conversations/${id}/messages`, { cursor: olderCursor, limit: PAGE });
    if (!state.current || state.current.id !== id) return;
    olderCursor = page.next_cursor;
    const list = $("#thread");
    const height = list.scrollHeight;
    const fresh = page.data.filter((m) => !seen.has(m.id));
    fresh.forEach((m) => seen.add(m.id));
    list.prepend(...fresh.map(messageElement));
    list.scrollTop += list.scrollHeight - height;
  } finally {
    loadingOlder = false;
  }
}

/** Messages after the newest shown (live updates); returns the new incoming ones. */
export async function loadNewer() {
  if (!state.current || !newerCursor) return [];
  const id = state.current.id;
  const fresh = [];
  let cursor = newerCursor;
  while (cursor) {
    const page = await get(`/conversations/${id}/messages`, { cursor, limit: PAGE });
    if (!state.current || state.current.id !== id) return [];
    fresh.push(...append(page.data));
    newerCursor = page.newer_cursor;
    cursor = page.next_cursor;
  }
  return fresh.filter((m) => m.message_type === "incoming");
}

/** Replace a message already shown (its status changed), or append it. */
export function upsertMessage(message) {
  const existing = $(`#thread [data-message-id="${message.id}"]`);
  if (existing) existing.replaceWith(messageElement(message));
  else append([message]);
}

function append(messages) {
  const list = $("#thread");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
  const fresh = messages.filter((m) => !seen.has(m.id));
  for (const message of fresh) seen.add(message.id);
  list.append(...fresh.map(messageElement));
  if (atBottom || fresh.some((m) => m.message_type !== "incoming")) list.scrollTop = list.scrollHeight;
  return fresh;
}

function direction(message) {
  if (message.message_type === "note") return "note";
  if (message.message_type === "activity" || message.content_type === "event") return "activity";
  return message.message_type === "outgoing" ? "outgoing" : "incoming";
}

function messageElement(message) {
  const dir = direction(message);
  const attrs = { class: `message ${dir}`, dataset: { messageId: String(message.id), direction: dir } };
  if (dir === "activity") return h("li", attrs, h("span", { class: "activity-line" }, activityText(message), " · ", formatTime(message.created_at)));
  const footer = h("div", { class: "message-meta" }, formatTime(message.sent_at || message.created_at));
  if (dir === "outgoing") footer.append(" · ", statusElement(message));
  if (message.recalled_at) footer.append(" · ", t("message.recalled"));
  const author = dir === "note" ? h("div", { class: "note-author" }, t("message.note", { name: (message.author && message.author.name) || "?" })) : null;
  return h("li", attrs, h("div", { class: "bubble" }, author, body(message)), footer);
}

function statusElement(message) {
  const status = message.status || "queued";
  const el = h("span", { class: `delivery ${status}` }, t("message." + status) || status);
  if (status === "failed" && (message.error_message || message.error_code)) el.append(`: ${failureText(message)}`);
  return el;
}

/** Why a reply failed: the policy reason in the agent's words when the platform's refusal maps to one, with its code and message. */
function failureText(message) {
  const detail = [message.error_code, message.error_message].filter(Boolean).join(" ");
  const reason = (message.content_attributes || {}).policy_reason;
  const key = "policy." + reason;
  const text = reason ? t(key, { detail }) : key;
  return reason && text !== key ? text : detail;
}

function activityText(message) {
  const a = message.content_attributes || {};
  return message.content || a.event_type || a.event || message.content_type;
}

function body(message) {
  const a = message.content_attributes || {};
  const file = message.attachment;
  switch (message.content_type) {
    case "image":
      return mediaOr(file, () => {
        const img = h("img", { class: "inline-image", src: file.thumb_url || file.url, alt: file.filename || "", loading: "lazy", tabindex: "0", role: "button" });
        img.addEventListener("click", () => openViewer(file.url));
        img.addEventListener("keydown", (event) => event.key === "Enter" && openViewer(file.url));
        return img;
      });
    case "voice":
      return mediaOr(file, () => h("div", { class: "voice" }, h("span", {}, t("message.voice")), h("audio", { controls: true, preload: "none", src: file.playable_url || file.url, "aria-label": t("message.voice") })));
    case "video":
      return mediaOr(file, () => h("video", { controls: true, preload: "metadata", src: file.url, class: "inline-video" }));
    case "file":
      return mediaOr(file, () => h("a", { class: "file", href: file.url, download: file.filename || "" }, `📄 ${file.filename || t("message.download")}`, h("span", { class: "muted" }, ` ${humanSize(file.size)}`)));
    case "location": // WeCom names a place and its address; MP gives one label
      return h("div", { class: "card" }, h("strong", {}, `📍 ${a.name || a.label || t("message.location")}`), h("div", {}, a.address || ""), h("div", { class: "muted" }, a.latitude != null ? `${a.latitude}, ${a.longitude}` : ""));
    case "link":
    case "news":
      return linkCard(message, a);
    case "miniprogram":
      return h("div", { class: "card" }, h("strong", {}, `▣ ${a.title || t("message.miniprogram")}`), h("div", { class: "muted" }, [a.appid, a.pagepath].filter(Boolean).join(" · ")));
    case "menu":
      return h("div", { class: "card menu" }, a.head_content ? h("div", {}, a.head_content) : null, h("ul", {}, ...(a.items || []).map((item) => h("li", {}, item.content || item.id || ""))), a.tail_content ? h("div", {}, a.tail_content) : null);
    default:
      return h("div", { class: "text" }, richText(message.content || (message.content_type !== "text" ? `[${message.content_type}]` : "")));
  }
}

/** A link or news card: title, description and where it leads. MP news may carry its one article
 * as `articles` [{title, description, url, picurl}] instead of flat fields. */
function linkCard(message, a) {
  const article = Array.isArray(a.articles) && a.articles[0] && typeof a.articles[0] === "object" ? a.articles[0] : a;
  const url = article.url || "";
  const safe = /^https?:\/\//i.test(url) ? url : "#";
  return h(
    "a",
    { class: "card link-card", href: safe, target: "_blank", rel: "noopener noreferrer" },
    h("strong", {}, article.title || message.content || url),
    h("div", { class: "muted" }, article.description || article.desc || ""),
    url ? h("div", { class: "card-url muted" }, url) : null,
  );
}

function mediaOr(file, render) {
  if (!file || !file.url) return h("div", { class: "muted" }, t("message.pending"));
  if (file.status && file.status !== "stored") return h("div", { class: "muted" }, t("message.pending"));
  return render();
}

function openViewer(url) {
  $("#viewer-img").src = url;
  $("#viewer").showModal();
}
