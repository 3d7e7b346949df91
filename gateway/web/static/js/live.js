// Live updates: the gateway's event stream (SSE) with the session cookie. EventSource reconnects
// by itself (with Last-Event-ID: the stream's first frame gives it one even before any event), so a
// restarted gateway picks up where it left off. When the browser gives up (an answer that is not
// the stream, e.g. a proxy's 502 while the gateway restarts) the page opens a new stream after the
// last event it saw. New customer messages chime and, where permitted, show a notification.

import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { emit } from "./state.js";

const TYPES = ["message.created", "message.updated", "conversation.created", "conversation.updated", "note.created"];
const RETRY_MS = 3000;
let source = null;
let lastId = null; // the last event id seen: where a stream opened by the page resumes
let retry = null;
let down = false; // the stream failed since it last opened: catch up when it is back

export function startLive() {
  stopLive();
  const after = lastId === null ? "" : `&after=${lastId}`;
  const opened = new EventSource(`/api/v1/events/stream?types=${TYPES.join(",")}${after}`);
  source = opened;
  opened.addEventListener("open", () => {
    if (down) emit("live-reconnected");
    down = false;
    setLive(true);
  });
  opened.addEventListener("error", () => {
    down = true;
    setLive(false);
    if (opened.readyState === EventSource.CLOSED && source === opened) retry = setTimeout(startLive, RETRY_MS);
  });
  for (const type of TYPES) {
    opened.addEventListener(type, (event) => {
      if (event.lastEventId) lastId = Number(event.lastEventId);
      try {
        emit("live", { type, event: JSON.parse(event.data) });
      } catch {
        /* a malformed frame: skip it */
      }
    });
  }
}

export function stopLive() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
}

/** Ask once for permission to notify (call it from a click: browsers want a user gesture). */
export function askToNotify() {
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
}

/** A new customer message the agent is not looking at: the chime, and a notification where permitted. */
export function announce(title, body, onClick) {
  chime();
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  try {
    const note = new Notification(title, { body: body || "", tag: title, icon: "/inbox/assets/icon.svg" });
    note.onclick = () => {
      window.focus();
      onClick();
      note.close();
    };
  } catch {
    /* some browsers allow notifications from a service worker only: the chime and title still tell */
  }
}

function setLive(ok) {
  const el = $("#live");
  el.textContent = ok ? t("live.connected") : t("live.reconnecting");
  el.className = "live " + (ok ? "ok" : "down");
}

/** A short two-tone chime made on the spot (no sound file to ship). */
export function chime() {
  try {
    const context = new AudioContext();
    const gain = context.createGain();
    gain.gain.value = 0.05;
    gain.connect(context.destination);
    [880, 1320].forEach((frequency, index) => {
      const tone = context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(context.currentTime + index * 0.12);
      tone.stop(context.currentTime + index * 0.12 + 0.1);
    });
    setTimeout(() => context.close(), 600);
  } catch {
    /* no audio (autoplay policy): the title badge still tells */
  }
}
