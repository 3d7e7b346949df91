// The conversation list: tabs and filters, rows with preview, time and unread badge, paging, the
// unread total in the title.

import { get } from "./api.js";
import { $, $$, h, initials } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { assigneeName, emit, kindOf, on, state } from "./state.js";

const PAGE = 50; // the API's default page; a laptop screen shows ~12 rows, a phone ~8
let loading = null;
let searchTimer = null;

export function initList() {
  for (const tab of $$("#tabs [data-assignee]")) {
    tab.addEventListener("click", () => setFilter("assignee", tab.dataset.assignee));
  }
  const bind = (id, key) => $(id).addEventListener("change", (event) => setFilter(key, event.target.value));
  bind("#f-status", "status");
  bind("#f-channel", "channel_id");
  bind("#f-inbox", "inbox_id");
  bind("#f-label", "label");
  bind("#f-sort", "sort");
  $("#search").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter("q", event.target.value.trim()), 300);
  });
  $("#conversations").addEventListener("scroll", (event) => {
    const el = event.target;
    if (state.nextCursor && el.scrollTop + el.clientHeight > el.scrollHeight - 80) loadMore();
  });
  on("conversation-changed", (row) => upsertRow(row));
  on("language", () => renderList());
}

function setFilter(key, value) {
  state.filters[key] = value;
  localStorage.setItem("kefu.filters", JSON.stringify(state.filters));
  reloadList();
}

export function restoreFilters() {
  try {
    Object.assign(state.filters, JSON.parse(localStorage.getItem("kefu.filters") || "{}"));
  } catch {
    /* a broken saved value: keep the defaults */
  }
  $("#f-status").value = state.filters.status;
  $("#f-sort").value = state.filters.sort;
  $("#search").value = state.filters.q;
}

export function fillFilterOptions() {
  const options = (select, first, items, value, label) => {
    select.replaceChildren(h("option", { value: "" }, first), ...items.map((item) => h("option", { value: value(item) }, label(item))));
  };
  options($("#f-channel"), t("list.anyChannel"), [...state.channels.values()], (c) => c.id, (c) => `${t("kind." + c.kind)} · ${c.name}`);
  options($("#f-inbox"), t("list.anyInbox"), [...state.inboxes.values()], (i) => i.id, (i) => i.name || i.source_id);
  options($("#f-label"), t("list.anyLabel"), state.labels, (l) => l.name, (l) => l.name);
  $("#f-channel").value = state.filters.channel_id;
  $("#f-inbox").value = state.filters.inbox_id;
  $("#f-label").value = state.filters.label;
}

function query(extra = {}) {
  const f = state.filters;
  return { assignee: f.assignee, status: f.status, channel_id: f.channel_id, inbox_id: f.inbox_id, label: f.label, sort: f.sort, q: f.q, ...extra };
}

/** The list's first page for the current filters; rendered once `ready` (e.g. the directory) settled too. */
export async function reloadList(ready = null) {
  for (const tab of $$("#tabs [data-assignee]")) tab.setAttribute("aria-selected", String(tab.dataset.assignee === state.filters.assignee));
  const request = get("/conversations", query({ limit: PAGE }));
  loading = request;
  const [page] = await Promise.all([request, ready]);
  if (loading !== request) return; // a newer filter won
  state.rows = new Map(page.data.map((row) => [row.id, row]));
  state.order = page.data.map((row) => row.id);
  state.nextCursor = page.next_cursor;
  renderList();
  refreshUnread();
}

async function loadMore() {
  if (loading || !state.nextCursor) return;
  loading = get("/conversations", query({ limit: PAGE, cursor: state.nextCursor }));
  try {
    const page = await loading;
    for (const row of page.data) {
      if (!state.rows.has(row.id)) state.order.push(row.id);
      state.rows.set(row.id, row);
    }
    state.nextCursor = page.next_cursor;
    renderList();
  } finally {
    loading = null;
  }
}

export async function refreshUnread() {
  try {
    const total = await get("/conversations/unread", query());
    const count = total.conversations || 0;
    $("#unread-total").textContent = count ? String(count) : "";
    document.title = (count ? `(${count}) ` : "") + t("app.title");
  } catch {
    /* the badge is a nicety: the list itself still works */
  }
}

function upsertRow(row) {
  if (!row) return;
  state.rows.set(row.id, { ...(state.rows.get(row.id) || {}), ...row });
  renderList();
}

export function renderList() {
  const list = $("#conversations");
  const rows = state.order.map((id) => state.rows.get(id)).filter(Boolean);
  list.replaceChildren(...rows.map(rowElement));
  if (state.nextCursor) list.append(h("li", { class: "more" }, h("button", { onclick: loadMore }, t("list.more"))));
  $("#list-empty").hidden = rows.length > 0;
}

function rowElement(row) {
  const kind = kindOf(row);
  const contact = row.contact || {};
  const last = row.last_message;
  const selected = state.current && state.current.id === row.id;
  const unread = row.unread_count || 0;
  const assignee = assigneeName(row);
  return h(
    "li",
    {
      class: "row" + (selected ? " selected" : "") + (unread ? " unread" : ""),
      dataset: { conversationId: String(row.id), channelKind: kind },
      tabindex: "0",
      role: "button",
      "aria-label": `${contact.name || "?"} ${unread ? "(" + unread + ")" : ""}`,
      onclick: () => emit("open", row.id),
      onkeydown: (event) => event.key === "Enter" && emit("open", row.id),
    },
    avatar(contact),
    h(
      "div",
      { class: "row-main" },
      h("div", { class: "row-top" }, h("span", { class: `mark ${kind}`, title: t("kind." + kind) }, kind === "mp" ? "公" : "企"), h("strong", { class: "name" }, contact.name || "?"), h("time", {}, formatTime(last ? last.created_at : row.last_activity_at))),
      h("div", { class: "row-bottom" }, h("span", { class: "preview" }, last ? last.preview || "" : ""), unread ? h("span", { class: "badge" }, String(unread)) : null),
      h("div", { class: "row-meta muted" }, h("span", { class: `status ${row.status}` }, t("status." + row.status)), row.inbox ? ` · ${row.inbox.name || row.inbox.source_id}` : "", ` · ${assignee || t("list.unassignedShort")}`, row.inbox && row.inbox.migrating ? h("span", { class: "chip migrating" }, t("list.migrating")) : "", ...(row.labels || []).map((name) => h("span", { class: "chip" }, name))),
    ),
  );
}

export function avatar(contact) {
  if (contact && contact.avatar_url) return h("img", { class: "avatar", src: contact.avatar_url, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
  return h("span", { class: "avatar", "aria-hidden": "true" }, initials(contact && contact.name));
}

/** The row after/before the open one, for j/k. */
export function neighbour(step) {
  const index = state.current ? state.order.indexOf(state.current.id) : -1;
  const next = state.order[Math.min(Math.max(index + step, 0), state.order.length - 1)];
  return next === undefined ? null : next;
}
