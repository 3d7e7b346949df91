// The contact panel: who this is across WeCom and MP (merged by unionid), CRM fields, labels of
// the conversation and the contact, and their earlier conversations.

import { api, get, post } from "./api.js";
import { $, h } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { emit, state } from "./state.js";
import { avatar } from "./list.js";

export async function loadPanel(conversation) {
  const box = $("#contact");
  box.replaceChildren();
  if (!conversation || !conversation.contact_id) return;
  const [contact, previous] = await Promise.all([
    get(`/contacts/${conversation.contact_id}`),
    get("/conversations", { contact_id: conversation.contact_id, assignee: "all", limit: 10 }).catch(() => ({ data: [] })),
  ]);
  if (!state.current || state.current.id !== conversation.id) return;
  box.replaceChildren(
    h("div", { class: "contact-head" }, avatar(contact), h("strong", {}, contact.name || "?")),
    section(t("contact.identities"), list(contact.identities || [], (identity) => {
      const channel = state.channels.get(identity.channel_id);
      return [h("span", { class: `mark ${channel ? channel.kind : ""}` }, channel && channel.kind === "mp" ? "公" : "企"), ` ${channel ? channel.name : identity.channel_id} · `, h("code", {}, identity.source_id)];
    })),
    section(t("contact.fields"), fields(contact.attributes || {})),
    section(t("contact.labels"), labelEditor(conversation)),
    section(t("contact.previous"), list((previous.data || []).filter((c) => c.id !== conversation.id), (c) => h("a", { href: "#", onclick: (event) => { event.preventDefault(); emit("open", c.id); } }, `${t("status." + c.status)} · ${formatTime(c.last_activity_at)}`))),
  );
}

function section(title, body) {
  return h("section", { class: "panel-section" }, h("h3", {}, title), body);
}

function list(items, render) {
  if (!items.length) return h("p", { class: "muted" }, t("contact.none"));
  return h("ul", { class: "plain" }, ...items.map((item) => h("li", {}, render(item))));
}

function fields(attributes) {
  const entries = Object.entries(attributes);
  if (!entries.length) return h("p", { class: "muted" }, t("contact.none"));
  return h("dl", { class: "fields" }, ...entries.flatMap(([key, value]) => [h("dt", {}, key), h("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value))]));
}

function labelEditor(conversation) {
  const current = conversation.labels || [];
  const chips = current.map((name) =>
    h("span", { class: "chip" }, name, h("button", { class: "chip-x", "aria-label": `× ${name}`, onclick: () => change(conversation, () => api("DELETE", `/conversations/${conversation.id}/labels/${encodeURIComponent(name)}`)) }, "×")),
  );
  const free = state.labels.filter((label) => !current.includes(label.name));
  const select = h("select", { "aria-label": t("contact.addLabel") }, h("option", { value: "" }, t("contact.addLabel")), ...free.map((label) => h("option", { value: label.name }, label.name)));
  select.addEventListener("change", () => select.value && change(conversation, () => post(`/conversations/${conversation.id}/labels`, { labels: [select.value] })));
  return h("div", { class: "labels" }, ...chips, free.length ? select : null);
}

async function change(conversation, call) {
  await call();
  emit("refresh-current");
}
