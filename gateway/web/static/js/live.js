// Live updates: the gateway's event stream (SSE) with the session cookie. EventSource reconnects
// by itself (with Last-Event-ID), so a restarted gateway picks up where it left off.

import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { emit } from "./state.js";

const TYPES = ["message.created", "message.updated", "conversation.created", "conversation.updated", "note.created"];
let source = null;

export function startLive() {
  stopLive();
  source = new EventSource(`/api/v1/events/stream?types=${TYPES.join(",")}`);
  source.addEventListener("open", () => setLive(true));
  source.addEventListener("error", () => setLive(false));
  for (const type of TYPES) {
    source.addEventListener(type, (event) => {
      try {
        emit("live", { type, event: JSON.parse(event.data) });
      } catch {
        /* a malformed frame: skip it */
      }
    });
  }
}

export function stopLive() {
  if (source) source.close();
  source = null;
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
