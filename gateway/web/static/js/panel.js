// The contact panel: who this is across WeCom and MP (merged by unionid), their name and CRM fields
// (editable here), the conversation's labels, and the contact's other conversations.

import { api, get, post } from "./api.js";
import { $, h } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { emit, kindOf, state } from "./state.js";
import { avatar } from "./list.js";

let loads = 0; // panel loads started: only the newest may draw (an older one can answer last)
let drawnFor = null; // the conversation the panel shows

export async function loadPanel(conversation) {
  const box = $("#contact");
  const mine = ++loads;
  if (!conversation || !conversation.contact_id) return box.replaceChildren();
  const [contact, previous] = await Promise.all([
    get(`/contacts/${conversation.contact_id}`),
    get("/conversations", { contact_id: conversation.contact_id, assignee: "all", limit: 10 }).catch(() => ({ data: [] })),
  ]);
  if (mine !== loads || !state.current || state.current.id !== conversation.id) return;
  // channel kinds from the conversations' inboxes too: agents do not read /channels
  const kinds = new Map([...state.channels.values()].map((c) => [c.id, c.kind]));
  for (const c of [conversation, ...(previous.data || [])]) if (c.inbox) kinds.set(c.inbox.channel_id, kindOf(c));
  // a redraw (an event about this conversation) must not wipe a CRM field the agent is typing
  const typed = ["field-key", "field-value"].map((name) => [name, box.querySelector(`input[name=${name}]`)?.value || ""]);
  box.replaceChildren(
    h("div", { class: "contact-head" }, avatar(contact), nameEditor(contact)),
    section(t("contact.identities"), list(contact.identities || [], (identity) => {
      const channel = state.channels.get(identity.channel_id);
      const kind = kinds.get(identity.channel_id) || "";
      return h("span", { class: "identity", dataset: { channelKind: kind } }, h("span", { class: `mark ${kind}` }, kind === "mp" ? "公" : "企"), ` ${kind ? t("kind." + kind) : ""}${channel ? " · " + channel.name : ""} · `, h("code", {}, identity.source_id));
    })),
    section(t("contact.fields"), fieldsEditor(contact, conversation)),
    section(t("contact.labels"), labelEditor(conversation)),
    section(t("contact.previous"), list((previous.data || []).filter((c) => c.id !== conversation.id), (c) => h("a", { href: "#", class: "previous", onclick: (event) => { event.preventDefault(); emit("open", c.id); } }, `${t("kind." + kindOf(c))} · ${t("status." + c.status)} · ${formatTime(c.last_activity_at)}`))),
  );
  if (conversation.id === drawnFor) for (const [name, value] of typed) box.querySelector(`input[name=${name}]`).value = value;
  drawnFor = conversation.id;
}

function section(title, body) {
  return h("section", { class: "panel-section" }, h("h3", {}, title), body);
}

function list(items, render) {
  if (!items.length) return h("p", { class: "muted" }, t("contact.none"));
  return h("ul", { class: "plain" }, ...items.map((item) => h("li", {}, render(item))));
}

function nameEditor(contact) {
  const input = h("input", { name: "contact-name", class: "contact-name", value: contact.name || "", maxlength: "256", "aria-label": t("contact.name") });
  input.addEventListener("change", () => edit(contact, { name: input.value.trim() }));
  input.addEventListener("keydown", (event) => event.key === "Enter" && input.blur());
  return input;
}

function fieldsEditor(contact, conversation) {
  const entries = Object.entries(contact.attributes || {});
  const rows = entries.flatMap(([key, value]) => [
    h("dt", {}, key),
    h("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value), " ", h("button", { type: "button", class: "chip-x", "aria-label": t("contact.removeField", { key }), onclick: () => edit(contact, { attributes: { [key]: null } }) }, "×")),
  ]);
  const form = h(
    "form",
    { class: "field-form" },
    h("input", { name: "field-key", required: true, maxlength: "64", placeholder: t("contact.fieldKey"), "aria-label": t("contact.fieldKey") }),
    h("input", { name: "field-value", maxlength: "1000", placeholder: t("contact.fieldValue"), "aria-label": t("contact.fieldValue") }),
    h("button", { type: "submit" }, t("contact.setField")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = form.elements["field-key"].value.trim();
    if (!key) return;
    edit(contact, { attributes: { [key]: form.elements["field-value"].value } });
    form.reset(); // sent: the redraw that follows keeps only what is typed after this
  });
  return h("div", {}, entries.length ? h("dl", { class: "fields" }, ...rows) : h("p", { class: "muted" }, t("contact.none")), form);
}

function labelEditor(conversation) {
  const current = conversation.labels || [];
  const chips = current.map((name) =>
    h("span", { class: "chip" }, name, h("button", { class: "chip-x", "aria-label": `× ${name}`, onclick: () => change(() => api("DELETE", `/conversations/${conversation.id}/labels/${encodeURIComponent(name)}`)) }, "×")),
  );
  const free = state.labels.filter((label) => !current.includes(label.name));
  const select = h("select", { "aria-label": t("contact.addLabel") }, h("option", { value: "" }, t("contact.addLabel")), ...free.map((label) => h("option", { value: label.name }, label.name)));
  select.addEventListener("change", () => select.value && change(() => post(`/conversations/${conversation.id}/labels`, { labels: [select.value] })));
  return h("div", { class: "labels" }, ...chips, free.length ? select : null);
}

async function edit(contact, patch) {
  await change(() => api("PATCH", `/contacts/${contact.id}`, { json: patch }));
}

async function change(call) {
  try {
    await call();
  } catch (error) {
    $("#composer-status").textContent = t("error.generic", { message: error.message });
  }
  emit("refresh-current");
  emit("refresh-list");
}
