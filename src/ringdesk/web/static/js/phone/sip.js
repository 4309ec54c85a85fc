// The browser phone's signalling: a JsSIP user agent registered over SIP over WebSocket
// (RFC 7118, GET /api/sip) as one more phone of the agent, so the switch forks, holds and
// transfers to it as to a desk phone. Media is not here: an incoming call is handed on as a
// "ringdesk:browser-call" event on document (detail: the JsSIP session) to media.js.
//
// Lifecycle: started once the agent is logged in to CTI with "Browser" as their phone, stopped
// on CTI Logout and on logout (unmountPhone); a dropped socket, a refused REGISTER or a reload
// registers again with a fresh single-use ticket (POST /api/cti/sip-ticket), backing off.

import { api } from "../api.js";
import { h, render } from "../dom.js";
import * as state from "../state.js";
import { installMedia } from "./media.js";

/** @typedef {import("../types.js").PhoneChoice} PhoneChoice */
/** @typedef {import("../types.js").SipTicket} SipTicket */

/**
 * What this module uses of JsSIP (static/vendor/jssip.min.js, a global script).
 * @typedef {{start(): void, stop(): void, on(event: string, fn: (e: any) => void): void,
 *   isRegistered(): boolean}} JsSipUa
 * @typedef {{UA: new (config: Record<string, any>) => JsSipUa,
 *   WebSocketInterface: new (url: string) => object,
 *   debug: {disable(): void}}} JsSipModule
 */

const MIC_WHY =
  "With the browser phone you talk through this browser: at CTI Login it asks once to use your microphone.";
const VENDOR = "/static/vendor/jssip.min.js";
const REGISTER_EXPIRES = 600; // the UA re-registers before half of it has passed
const BACKOFF_MS = [1000, 2000, 5000, 10000, 30000];

/**
 * "off": not the browser phone, or not logged in to CTI; "connecting"; "registered";
 * "failed": not registered, `reason` says why (a retry is scheduled).
 * @typedef {{state: "off" | "connecting" | "registered" | "failed", reason: string,
 *   lastInvite: string}} PhoneStatus
 */

/** @type {PhoneStatus} */
let status = { state: "off", reason: "", lastInvite: "" };
/** @type {PhoneChoice | null} */
let choice = null;
/** @type {JsSipUa | null} */
let ua = null;
let generation = 0; // bumps on every stop: callbacks of an older UA are ignored
let failures = 0;
/** @type {number | undefined} */
let retryTimer;
/** @type {HTMLElement | null} */
let bar = null;
/** @type {Array<() => void>} */
let unsubscribers = [];
/** @type {Promise<JsSipModule> | null} */
let loading = null;

/** The phone's line in the widget; call once per session (the widget mounts it). */
export function mountPhone() {
  installMedia();
  bar = h("div", { class: "phone-bar", "data-sip-phone": "", "data-state": "off" });
  unsubscribers = [state.subscribe("cti", () => void sync())];
  void loadChoice();
  return bar;
}

/** On logout: unregister and close the socket, forget everything. */
export function unmountPhone() {
  for (const off of unsubscribers) off();
  unsubscribers = [];
  stop();
  choice = null;
  bar = null;
}

/** The phone the agent chose ("browser" or "sip"), null before it is known. */
export function chosenPhone() {
  return choice?.phone || null;
}

/** The phone's status now (what the widget line shows). */
export function phoneStatus() {
  return status;
}

async function loadChoice() {
  try {
    choice = /** @type {PhoneChoice} */ (await api.get("/api/cti/phone"));
  } catch {
    choice = null;
  }
  draw();
  await sync();
}

/** @param {"sip" | "browser"} phone */
async function choose(phone) {
  try {
    choice = /** @type {PhoneChoice} */ (await api.put("/api/cti/phone", { phone }));
  } catch (error) {
    setStatus("failed", error instanceof Error ? error.message : String(error));
    return;
  }
  stop();
  await sync();
}

/** Start or stop the UA as the CTI state and the phone choice say. */
async function sync() {
  const wanted = Boolean(state.get("cti")?.logged_in) && choice?.phone === "browser";
  if (!wanted) {
    if (ua || retryTimer !== undefined || status.state !== "off") stop();
    draw();
    return;
  }
  if (!ua && retryTimer === undefined && status.state !== "connecting") await start();
}

async function start() {
  const mine = generation;
  setStatus("connecting", "");
  /** @type {JsSipModule} */
  let JsSIP;
  /** @type {SipTicket} */
  let ticket;
  try {
    JsSIP = await loadJsSip();
    ticket = /** @type {SipTicket} */ (await api.post("/api/cti/sip-ticket"));
  } catch (error) {
    if (mine === generation) retry(error instanceof Error ? error.message : String(error));
    return;
  }
  if (mine !== generation) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}${ticket.path}?ticket=${encodeURIComponent(ticket.ticket)}`;
  const socket = new JsSIP.WebSocketInterface(url);
  const agent = new JsSIP.UA({
    sockets: [socket],
    uri: `sip:${ticket.cti_id}@${ticket.sip_domain}`,
    register: true,
    register_expires: REGISTER_EXPIRES,
    session_timers: false,
    user_agent: "Ringdesk browser phone (JsSIP)",
    // Reconnecting is ours (a ticket opens one socket): JsSIP's own retry would reuse it.
    connection_recovery_min_interval: 3600,
    connection_recovery_max_interval: 3600,
  });
  ua = agent;
  const current = () => mine === generation && ua === agent;
  agent.on("registered", () => {
    if (!current()) return;
    failures = 0;
    setStatus("registered", "");
  });
  agent.on("unregistered", () => {
    if (current()) setStatus("failed", "unregistered");
  });
  agent.on("registrationFailed", (e) => {
    if (current()) retry(`the server refused the registration (${e?.cause || "error"})`);
  });
  agent.on("disconnected", () => {
    if (current()) retry("the connection to the server was lost");
  });
  agent.on("newRTCSession", (e) => {
    if (!current() || e?.originator !== "remote") return;
    const callId = String(e.request?.call_id || "");
    status = { ...status, lastInvite: callId };
    draw();
    document.dispatchEvent(new CustomEvent("ringdesk:browser-call", { detail: e.session }));
  });
  agent.start();
}

/** @param {string} reason */
function retry(reason) {
  teardown();
  if (retryTimer !== undefined) window.clearTimeout(retryTimer);
  setStatus("failed", reason);
  const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
  failures += 1;
  retryTimer = window.setTimeout(() => {
    retryTimer = undefined;
    void sync();
  }, delay);
}

function teardown() {
  generation += 1;
  const old = ua;
  ua = null;
  if (old) {
    try {
      old.stop(); // un-REGISTERs (Expires 0) when it can, then closes the socket
    } catch {
      // a UA that never connected has nothing to stop
    }
  }
}

function stop() {
  teardown();
  if (retryTimer !== undefined) window.clearTimeout(retryTimer);
  retryTimer = undefined;
  failures = 0;
  setStatus("off", "");
}

/**
 * @param {PhoneStatus["state"]} value
 * @param {string} reason
 */
function setStatus(value, reason) {
  status = { ...status, state: value, reason };
  draw();
  document.dispatchEvent(new CustomEvent("ringdesk:phone-status")); // controls.js listens
}

/** @returns {Promise<JsSipModule>} */
function loadJsSip() {
  const ready = /** @type {any} */ (window).JsSIP;
  if (ready) return Promise.resolve(/** @type {JsSipModule} */ (ready));
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = VENDOR;
      script.onload = () => {
        const loaded = /** @type {JsSipModule} */ (/** @type {any} */ (window).JsSIP);
        loaded.debug.disable();
        resolve(loaded);
      };
      script.onerror = () => {
        loading = null;
        reject(new Error("the browser phone could not be loaded"));
      };
      document.head.append(script);
    });
  }
  return loading;
}

function draw() {
  if (!bar) return;
  bar.dataset.state = status.state;
  bar.dataset.lastInvite = status.lastInvite;
  if (!choice || !choice.cti_id || (!choice.browser_allowed && choice.phone === "sip")) {
    render(bar); // a SIP phone only: nothing to choose, the widget says the rest
    return;
  }
  const loggedIn = Boolean(state.get("cti")?.logged_in);
  /** @type {Record<PhoneStatus["state"], string>} */
  const words = {
    off: loggedIn ? "Browser phone: starting…" : "Browser phone: starts with CTI Login",
    connecting: "Browser phone: connecting…",
    registered: "Browser phone: registered",
    failed: `Browser phone: not registered (${status.reason})`,
  };
  const text = choice.phone === "browser" ? words[status.state] : "Phone: SIP phone";
  const picker = choice.browser_allowed
    ? h(
        "label",
        { class: "phone-choice" },
        "Phone ",
        h(
          "select",
          {
            "aria-label": "Phone",
            onchange: (/** @type {Event} */ e) => {
              const value = /** @type {HTMLSelectElement} */ (e.target).value;
              void choose(value === "browser" ? "browser" : "sip");
            },
          },
          h("option", { value: "sip", selected: choice.phone === "sip" }, "SIP phone"),
          h("option", { value: "browser", selected: choice.phone === "browser" }, "Browser"),
        ),
      )
    : null;
  // Why the browser will ask for the microphone at CTI Login (controls.js asks).
  const why =
    choice.phone === "browser" && !loggedIn
      ? h("p", { class: "muted small mic-why" }, MIC_WHY)
      : null;
  render(
    bar,
    picker,
    h("span", { class: `phone-state phone-${status.state}`, role: "status" }, text),
    why,
  );
}
