// The composer: Enter sends, Shift+Enter breaks the line, `/` offers canned responses, a private
// note mode, uploads, and the reply policy shown (and enforced) before anyone types.

import { api, get, post } from "./api.js";
import { $, h } from "./dom.js";
import { t } from "./i18n.js";
import { emit, kindOf, state } from "./state.js";

const TYPING_EVERY = 10_000; // MP shows "typing" for a while after each call
let lastTyping = 0;
let cannedTimer = null;

export function initComposer() {
  const form = $("#composer");
  const box = form.elements.content;
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      const choice = $("#canned .active");
      event.preventDefault();
      if (choice && !$("#canned").hidden) pickCanned(choice.dataset.content);
      else form.requestSubmit();
    } else if (event.key === "Escape") {
      $("#canned").hidden = true;
    } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !$("#canned").hidden) {
      event.preventDefault();
      moveCanned(event.key === "ArrowDown" ? 1 : -1);
    }
  });
  box.addEventListener("input", () => {
    suggestCanned(box.value);
    typing();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("#note-mode").addEventListener("change", showPolicy);
  $("#attach").addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) upload(file);
  });
}

/** Show the open conversation's reply policy and enable the composer accordingly. */
export function showPolicy() {
  const conversation = state.current;
  const banner = $("#policy");
  const note = $("#note-mode").checked;
  const box = $("#composer").elements.content;
  box.placeholder = note ? t("composer.notePlaceholder") : t("composer.placeholder");
  $("#composer").classList.toggle("note", note);
  if (!conversation) return;
  const policy = conversation.reply_policy || { can_reply: true };
  let text = "";
  if (policy.can_reply && policy.window_closes_at) {
    const ms = new Date(policy.window_closes_at) - Date.now();
    const hours = Math.floor(ms / 3_600_000);
    text = hours >= 1 ? t("policy.open", { hours, left: policy.replies_left }) : t("policy.openMinutes", { minutes: Math.max(Math.ceil(ms / 60_000), 0), left: policy.replies_left });
  } else if (!policy.can_reply) {
    const key = "policy." + (policy.reason || "unknown");
    text = t(key, { detail: policy.detail || "" });
    if (text === key) text = t("policy.unknown", { detail: policy.detail || "" });
  }
  banner.textContent = text;
  banner.className = "policy" + (policy.can_reply ? "" : " blocked");
  const blocked = !policy.can_reply && !note;
  box.disabled = blocked;
  $("#send").disabled = blocked;
  $("#attach").disabled = blocked;
}

async function send() {
  const conversation = state.current;
  const box = $("#composer").elements.content;
  const content = box.value.trim();
  if (!conversation || !content) return;
  const note = $("#note-mode").checked;
  status(t("composer.sending"));
  try {
    const path = `/conversations/${conversation.id}/${note ? "notes" : "messages"}`;
    const message = await post(path, note ? { content } : { content_type: "text", content });
    box.value = "";
    status("");
    emit("sent", message);
  } catch (error) {
    status(t("error.generic", { message: error.message }));
  }
}

async function upload(file) {
  const conversation = state.current;
  if (!conversation) return;
  const type = file.type.startsWith("image/") ? "image" : file.type.startsWith("video/") ? "video" : "file";
  // an Official Account sends no file message, and a video only with a thumbnail: say so before
  // uploading rather than show the gateway's refusal after it
  if (kindOf(conversation) === "mp" && type !== "image") {
    status(t("composer.mpImagesOnly", { name: file.name }));
    return;
  }
  const form = new FormData();
  form.append("media", file, file.name);
  form.append("message", JSON.stringify({ content_type: type }));
  status(t("composer.uploading", { name: file.name }));
  try {
    const message = await api("POST", `/conversations/${conversation.id}/messages/upload`, { form });
    status("");
    emit("sent", message);
  } catch (error) {
    status(t("error.generic", { message: error.message }));
  }
}

function typing() {
  const conversation = state.current;
  if (!conversation || kindOf(conversation) !== "mp" || $("#note-mode").checked) return;
  const now = Date.now();
  if (now - lastTyping < TYPING_EVERY) return;
  lastTyping = now;
  post(`/conversations/${conversation.id}/typing`, { on: true }).catch(() => {});
}

function suggestCanned(text) {
  clearTimeout(cannedTimer);
  const menu = $("#canned");
  const match = /^\/(\S*)$/.exec(text);
  if (!match) {
    menu.hidden = true;
    return;
  }
  cannedTimer = setTimeout(async () => {
    let rows = [];
    try {
      rows = (await get("/canned_responses", { q: match[1] })).data || [];
    } catch {
      rows = [];
    }
    menu.replaceChildren(...rows.slice(0, 8).map((row, index) => h("div", { role: "option", class: index === 0 ? "active" : "", dataset: { content: row.content }, onmousedown: (event) => { event.preventDefault(); pickCanned(row.content); } }, h("strong", {}, "/" + row.short_code), " ", h("span", { class: "muted" }, row.content))));
    menu.hidden = rows.length === 0;
  }, 150);
}

function moveCanned(step) {
  const options = [...$("#canned").children];
  const index = options.findIndex((el) => el.classList.contains("active"));
  options.forEach((el) => el.classList.remove("active"));
  const next = options[(index + step + options.length) % options.length];
  if (next) next.classList.add("active");
}

function pickCanned(content) {
  const box = $("#composer").elements.content;
  box.value = content;
  $("#canned").hidden = true;
  box.focus();
}

function status(text) {
  $("#composer-status").textContent = text;
}
