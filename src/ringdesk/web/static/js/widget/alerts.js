// Alerts that reach an agent who is not looking at the tab while a call is offered: a ringtone
// (our own generated sound, scripts/make-ringtone.py, with a volume and a mute remembered per
// browser), a desktop Notification, the tab's title and favicon, and the widget opening by
// itself. Everything stops the moment the offer is gone (answered here or elsewhere, timed out,
// the caller hung up), since it all follows the AgentState.

import { h } from "../dom.js";
import * as state from "../state.js";

const VOLUME_KEY = "ringdesk.ringtone.volume";
const MUTED_KEY = "ringdesk.ringtone.muted";
const RINGTONE_URL = "/static/sounds/ringtone.wav";
const FAVICON = "/static/img/favicon.svg";
const FAVICON_RINGING = "/static/img/favicon-ringing.svg";
const TITLE_PREFIX = "📞 Incoming call · ";
const WORKER_URL = "/static/js/widget/notify-sw.js";

/** @typedef {{call_id: string, caller?: string, customer_name?: string | null,
 *   service_name?: string}} OfferLike */

/** @type {{answer: (callId: string) => void, open: () => void, focusAnswer: () => void}} */
let hooks = { answer: () => {}, open: () => {}, focusAnswer: () => {} };
/** @type {HTMLAudioElement | null} */
let audio = null;
let ringingFor = "";
/** @type {Notification | null} */
let shown = null;
/** @type {Promise<ServiceWorkerRegistration | null> | null} */
let worker = null;
let savedTitle = "";
let alertedTitle = "";
/** @type {(() => void) | null} */
let unsubscribe = null;

/** The ringtone's volume, 0..1 (default 0.8). */
export function volume() {
  const stored = Number(localStorage.getItem(VOLUME_KEY));
  return localStorage.getItem(VOLUME_KEY) !== null && stored >= 0 && stored <= 1 ? stored : 0.8;
}

export function muted() {
  return localStorage.getItem(MUTED_KEY) === "1";
}

/** @param {number} value 0..1 */
export function setVolume(value) {
  localStorage.setItem(VOLUME_KEY, String(Math.max(0, Math.min(1, value))));
  if (audio) audio.volume = volume();
}

/** @param {boolean} value */
export function setMuted(value) {
  localStorage.setItem(MUTED_KEY, value ? "1" : "0");
  if (audio) audio.muted = value;
}

/**
 * Start following the AgentState. The widget passes what a click on the notification does.
 * @param {typeof hooks} widgetHooks
 */
export function startAlerts(widgetHooks) {
  hooks = widgetHooks;
  if (!audio) {
    audio = /** @type {HTMLAudioElement} */ (
      h("audio", { class: "ringtone", src: RINGTONE_URL, preload: "auto", loop: true })
    );
    audio.hidden = true;
    document.body.append(audio);
  }
  if (!worker) worker = registerWorker();
  unsubscribe?.();
  unsubscribe = state.subscribe("cti", (s) => follow(s?.offer || null));
  follow(state.get("cti")?.offer || null);
}

export function stopAlerts() {
  unsubscribe?.();
  unsubscribe = null;
  follow(null);
}

/** @param {OfferLike | null} offer */
function follow(offer) {
  const id = offer ? offer.call_id : "";
  if (id === ringingFor) return;
  if (ringingFor) quiet();
  ringingFor = id;
  if (offer) ring(offer);
}

/** @param {OfferLike} offer */
function ring(offer) {
  const who = [offer.caller || "Unknown number", offer.customer_name, offer.service_name]
    .filter(Boolean)
    .join(" · ");
  hooks.open();
  if (audio) {
    audio.volume = volume();
    audio.muted = muted();
    audio.currentTime = 0;
    // Refused only before the agent has clicked anything in this tab (autoplay rules): the
    // notification, title and favicon still alert.
    audio.play().catch(() => {});
  }
  savedTitle = document.title;
  alertedTitle = `${TITLE_PREFIX}${offer.caller || "Unknown number"}`;
  document.title = alertedTitle;
  setFavicon(FAVICON_RINGING);
  const away = document.visibilityState === "hidden" || !document.hasFocus();
  if (away && "Notification" in window && Notification.permission === "granted") {
    void notify(offer.call_id, who);
  }
}

/**
 * The desktop notification: with an Answer button through the service worker where there is
 * one, else a plain notification whose click brings the tab and its widget to the front.
 * @param {string} callId @param {string} who
 */
async function notify(callId, who) {
  const options = {
    body: who,
    tag: `ringdesk-offer-${callId}`,
    icon: FAVICON_RINGING,
    requireInteraction: true,
    data: { callId },
  };
  const registration = worker ? await worker : null;
  if (ringingFor !== callId) return; // gone while the worker started
  if (registration) {
    try {
      await registration.showNotification("Incoming call", {
        ...options,
        // @ts-ignore: `actions` is in the Notifications standard, not yet in TypeScript's DOM
        actions: [{ action: "answer", title: "Answer" }],
      });
      return;
    } catch {
      // fall back to a page notification below
    }
  }
  const note = new Notification("Incoming call", options);
  note.onclick = () => {
    note.close();
    clicked("", callId);
  };
  shown = note;
}

/**
 * A click on the notification (action "") or its Answer button ("answer").
 * @param {string} action @param {string} callId
 */
function clicked(action, callId) {
  window.focus();
  hooks.open();
  hooks.focusAnswer();
  if (action === "answer" && callId && ringingFor === callId) hooks.answer(callId);
}

/** @returns {Promise<ServiceWorkerRegistration | null>} */
async function registerWorker() {
  if (!("serviceWorker" in navigator) || !("Notification" in window)) return null;
  navigator.serviceWorker.addEventListener("message", (event) => {
    const msg = event.data;
    if (msg && msg.type === "ringdesk-notification") clicked(String(msg.action), String(msg.callId));
  });
  try {
    const scope = WORKER_URL.slice(0, WORKER_URL.lastIndexOf("/") + 1);
    await navigator.serviceWorker.register(WORKER_URL, { scope });
    // Ready once active; never waits for it to control a page (it controls none).
    return await navigator.serviceWorker.getRegistration(scope).then(async (reg) => {
      if (!reg) return null;
      if (!reg.active) await waitActive(reg);
      return reg;
    });
  } catch {
    return null;
  }
}

/** @param {ServiceWorkerRegistration} reg */
function waitActive(reg) {
  return new Promise((resolve) => {
    const installing = reg.installing || reg.waiting;
    if (!installing) {
      resolve(undefined);
      return;
    }
    installing.addEventListener("statechange", () => {
      if (installing.state === "activated" || installing.state === "redundant") resolve(undefined);
    });
  });
}

function quiet() {
  if (audio) {
    audio.pause();
    audio.currentTime = 0;
  }
  shown?.close();
  shown = null;
  const tag = `ringdesk-offer-${ringingFor}`;
  void worker?.then((reg) =>
    reg?.getNotifications({ tag }).then((notes) => notes.forEach((n) => n.close())),
  );
  // A page that set its own title meanwhile (the ticket that opened) keeps it.
  if (document.title === alertedTitle) document.title = savedTitle;
  alertedTitle = "";
  setFavicon(FAVICON);
}

/** @param {string} href */
function setFavicon(href) {
  const link = document.querySelector("link[rel=icon]");
  if (link instanceof HTMLLinkElement) link.href = href;
}

/**
 * Ask for desktop notifications (on CTI Login, a click, so the browser shows its prompt).
 * @returns {Promise<string>} the permission afterwards
 */
export async function askNotifications() {
  if (!("Notification" in window)) return "unsupported";
  if (Notification.permission !== "default") return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** Why the browser asks, in the widget beside the question. */
export const NOTIFY_WHY =
  "Ringdesk asks to show notifications so that a call reaches you while you work in another tab or window.";

/** The widget's ringtone volume and mute, remembered in this browser. */
export function ringtoneSettings() {
  const slider = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "range",
      min: "0",
      max: "100",
      step: "5",
      value: String(Math.round(volume() * 100)),
      "aria-label": "Ringtone volume",
      dataset: { key: "ringtone-volume" }, // keeps the focus when the widget re-renders
      oninput: (/** @type {Event} */ e) =>
        setVolume(Number(/** @type {HTMLInputElement} */ (e.target).value) / 100),
    })
  );
  const mute = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "checkbox",
      checked: muted(),
      dataset: { key: "ringtone-mute" },
      onchange: (/** @type {Event} */ e) =>
        setMuted(/** @type {HTMLInputElement} */ (e.target).checked),
    })
  );
  return h(
    "div",
    { class: "ringtone-settings" },
    h("label", { class: "ringtone-volume" }, h("span", null, "Ringtone"), slider),
    h("label", { class: "ringtone-mute" }, mute, h("span", null, "Mute")),
  );
}
