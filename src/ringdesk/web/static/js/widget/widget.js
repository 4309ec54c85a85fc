// The Call Widget: a button fixed at the right edge that opens a side panel with every CTI
// function of the manual. It renders from the AgentState alone, so what it shows is always
// what the server says.

import { h, render } from "../dom.js";
import { clearNotice, cti, notify, refreshState } from "../cti.js";
import { ms, openText, statusLabel } from "../format.js";
import * as state from "../state.js";
import { tickNow } from "../ui/ticker.js";
import { NOTIFY_WHY, askNotifications, ringtoneSettings, startAlerts, stopAlerts } from "./alerts.js";
import { callCard, offerCard } from "./cards.js";
import { openDialUp } from "./dialup.js";
import { phoneIcon } from "./icons.js";
import { chosenPhone, mountPhone, unmountPhone } from "../phone/sip.js";
import {
  checkMicrophone,
  mountControls,
  readyBlocker,
  unmountControls,
} from "../phone/controls.js";
import { openShortcutHelp, startShortcuts, stopShortcuts } from "./shortcuts.js";
import { statusMenu } from "./status-menu.js";
import { wrapUpBlock } from "./wrap-up.js";

const OPEN_KEY = "ringdesk.widget.open";
let open = false;
let lastAnnouncedOffer = "";
/** @type {HTMLButtonElement} */
let toggle;
/** @type {HTMLElement} */
let panel;
/** @type {HTMLElement} */
let content;
/** @type {HTMLElement} */
let politeLive;
/** @type {HTMLElement} */
let assertiveLive;
let lastStatusSpoken = "";
/** @type {Array<() => void>} */
let unsubscribers = [];

/** @param {HTMLElement} root */
export function mountWidget(root) {
  toggle = /** @type {HTMLButtonElement} */ (
    h(
      "button",
      {
        type: "button",
        class: "widget-toggle",
        "aria-controls": "call-widget",
        "aria-expanded": "false",
        "aria-label": "Call Widget",
        onclick: () => setOpen(!open, true),
      },
      phoneIcon("widget-icon"),
      h("span", { class: "widget-toggle-status", "aria-hidden": "true" }),
    )
  );
  content = h("div", { class: "widget-content" });
  politeLive = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  assertiveLive = h("div", { class: "sr-only", "aria-live": "assertive", "aria-atomic": "true" });
  panel = h(
    "aside",
    { id: "call-widget", class: "widget", "aria-labelledby": "call-widget-title", hidden: true },
    h(
      "header",
      { class: "widget-head" },
      phoneIcon("widget-head-icon"),
      h("h2", { id: "call-widget-title" }, "Call Widget"),
      h(
        "button",
        {
          type: "button",
          class: "icon-btn",
          "aria-label": "Close Call Widget",
          onclick: () => setOpen(false, true),
        },
        "✕",
      ),
    ),
    mountPhone(), // the browser phone's line (phone/sip.js)
    mountControls(), // its Mute, devices, level meter and keypad (phone/controls.js)
    content,
  );
  panel.addEventListener("keydown", (e) => {
    // Escape closes the panel unless a menu or dialog inside handled it first.
    if (e.key === "Escape" && !e.defaultPrevented) {
      setOpen(false, true);
    }
  });
  root.append(toggle, panel, politeLive, assertiveLive);
  unsubscribers = [
    state.subscribe("cti", update),
    state.subscribe("notice", update),
    state.subscribe("me", update),
  ];
  update();
  if (localStorage.getItem(OPEN_KEY) === "1") setOpen(true);
  startAlerts({
    answer: (callId) => void cti.answer(callId),
    // Opened without moving focus: the agent may be typing in a ticket.
    open: () => setOpen(true),
    focusAnswer: () => {
      const answer = panel.querySelector('button[data-key="answer"]');
      if (answer instanceof HTMLElement) answer.focus();
    },
  });
  startShortcuts(panel, () => setOpen(true));
}

export function unmountWidget() {
  for (const off of unsubscribers) off();
  unsubscribers = [];
  unmountPhone();
  unmountControls();
  stopAlerts();
  stopShortcuts();
  open = false;
  lastAnnouncedOffer = "";
  lastStatusSpoken = "";
}

/**
 * Open or close the panel.
 * @param {boolean} value
 * @param {boolean} [moveFocus] into the panel when opening, back to the toggle when closing
 */
export function setOpen(value, moveFocus = false) {
  open = value;
  if (!panel) return;
  panel.hidden = !open;
  toggle.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("widget-open", open);
  // Remembered, so the panel an agent keeps open stays open across reloads.
  localStorage.setItem(OPEN_KEY, open ? "1" : "0");
  if (!moveFocus) return;
  if (open) {
    const first = panel.querySelector(".widget-content button:not([disabled])");
    if (first instanceof HTMLElement) first.focus();
  } else {
    toggle.focus();
  }
}

function update() {
  if (!panel) return;
  const s = state.get("cti");
  const me = state.get("me");
  const status = s?.status || "logged_out";
  const label = statusLabel(status, s?.status_label);
  const ringing = Boolean(s?.offer);
  for (const el of [toggle, panel]) {
    el.classList.toggle("is-ringing", ringing);
    el.dataset.status = status;
  }
  const toggleStatus = toggle.querySelector(".widget-toggle-status");
  if (toggleStatus) toggleStatus.textContent = ringing ? "Incoming call" : tabLabel(status, label);
  toggle.setAttribute(
    "aria-label",
    ringing ? "Call Widget: incoming call" : `Call Widget: ${label}`,
  );
  if (label !== lastStatusSpoken) {
    lastStatusSpoken = label;
    politeLive.textContent = `Status: ${label}`;
  }
  if (s?.offer && s.offer.call_id !== lastAnnouncedOffer) {
    lastAnnouncedOffer = s.offer.call_id;
    const callback = s.offer.callback;
    const number = callback ? s.offer.callback_number || s.offer.caller : s.offer.caller;
    const who = [number, s.offer.customer_name, s.offer.service_name]
      .filter(Boolean)
      .join(", ");
    assertiveLive.textContent = callback ? `Callback to ${who}` : `Incoming call from ${who}`;
  } else if (!s?.offer && lastAnnouncedOffer) {
    // The offer is gone: a screen reader must not find "Incoming call" there later.
    lastAnnouncedOffer = "";
    assertiveLive.textContent = "";
  }
  render(content, body(s, me));
  tickNow();
}

/** @param {any} s AgentState @param {any} me */
function body(s, me) {
  if (!me) return null;
  if (!s || !s.logged_in) return loggedOut(me, s);
  return [
    statusBlock(s),
    s.phone_registered === false ? phoneWarning(me) : null,
    noticeBlock(),
    s.offer ? offerCard(s.offer) : null,
    s.call ? callCard(s.call, s.status) : null,
    !s.call && !s.offer ? idleActions(me) : null,
    ringtoneSettings(),
    h(
      "div",
      { class: "widget-foot" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn-ghost",
          dataset: { key: "shortcut-help" },
          onclick: () => openShortcutHelp(),
        },
        "Keyboard shortcuts",
      ),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-ghost",
          dataset: { key: "cti-logout" },
          disabled: Boolean(s.call),
          title: s.call ? "End the call first" : null,
          onclick: () => cti.logout(),
        },
        "CTI Logout",
      ),
    ),
  ];
}

/** @param {any} me @param {any} s the state (why the agent was logged out, if not by herself) */
function loggedOut(me, s) {
  const noCti = !me.cti;
  return [
    h(
      "div",
      { class: "status-block", dataset: { status: "logged_out" } },
      h(
        "div",
        { class: "status-line" },
        h("span", { class: "dot status-logged_out", "aria-hidden": "true" }),
        h("span", { class: "status-label", dataset: { testid: "status-label" } }, "Logged out"),
      ),
      s ? reasonLine(s) : null,
    ),
    noticeBlock(),
    noCti
      ? h(
          "p",
          { class: "callout callout-info" },
          "You have no CTI ID yet. An admin assigns one in CTI Agent Management.",
        )
      : h("p", { class: "muted" }, "Log in to the CTI system to take and make calls."),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-primary btn-block",
        dataset: { key: "cti-login" },
        onclick: () => {
          // Asked on this click (browsers show the prompt only after one), with the reason.
          void askNotifications();
          void checkMicrophone(); // the browser phone's microphone, asked on the same click
          void cti.login();
        },
      },
      "CTI Login",
    ),
    "Notification" in window && Notification.permission === "default"
      ? h("p", { class: "muted small notify-why" }, NOTIFY_WHY)
      : null,
  ];
}

let hoursTimer = 0;

/**
 * The agent's services, open or closed now (opening hours, holidays); the state is fetched
 * again when the next one opens or closes, so the line never goes stale.
 * @param {{service_id: number, name: string, open: boolean, next_change: string|null}[]} services
 */
function serviceHours(services) {
  window.clearTimeout(hoursTimer);
  const changes = services.map((x) => ms(x.next_change)).filter((t) => t > 0);
  if (changes.length) {
    const wait = Math.min(...changes) - Date.now() + 1000;
    if (wait < 2 ** 31 - 1) hoursTimer = window.setTimeout(() => void refreshState(), Math.max(wait, 1000));
  }
  if (!services.some((x) => x.next_change || !x.open)) return null; // always open: nothing to say
  return h(
    "ul",
    { class: "service-hours", "aria-label": "Your services" },
    services.map((x) =>
      h(
        "li",
        { class: x.open ? "is-open" : "is-closed", dataset: { service: String(x.service_id) } },
        h("span", null, x.name),
        " ",
        h("span", { class: "muted" }, openText(x)),
      ),
    ),
  );
}

/** @param {any} s */
function statusBlock(s) {
  const label = statusLabel(s.status, s.status_label);
  const chosenDiffers =
    s.chosen && s.chosen !== s.status && ["business", "ready", "rest"].includes(s.chosen) && s.call;
  return h(
    "div",
    { class: "status-block", dataset: { status: s.status } },
    h(
      "div",
      { class: "status-line" },
      h("span", { class: `dot status-${s.status}`, "aria-hidden": "true" }),
      h("span", { class: "status-label", dataset: { testid: "status-label" } }, label),
      h("span", {
        class: "status-timer",
        "aria-label": "Time in status",
        dataset: { since: s.since || "" },
      }),
    ),
    reasonLine(s),
    chosenDiffers
      ? h("p", { class: "muted small" }, `After this call: ${statusLabel(s.chosen)}`)
      : null,
    s.status === "ticket_processing"
      ? h("p", { class: "muted small" }, "Finish the ticket, then choose Ready for the next call.")
      : null,
    s.status === "ticket_processing" ? wrapUpBlock(s.wrap_up) : null,
    s.phone_registered ? h("p", { class: "phone-ok" }, "Phone registered") : null,
    serviceHours(s.services || []),
    statusMenu({
      chosen: s.chosen || s.status,
      disabled: false,
      onPick: (status) => {
        // The engine cannot tell a browser without a microphone: the widget refuses Ready.
        const why = status === "ready" ? readyBlocker() : "";
        if (why) notify(why);
        else void cti.setStatus(status);
      },
    }),
  );
}

/**
 * The status name on the narrow tab at the screen edge: the long ones shortened so they fit
 * (the full name is in the panel and in the tab's accessible name).
 * @param {string} status @param {string} label
 */
function tabLabel(status, label) {
  const short = { ticket_processing: "Ticket work", on_call_transfer: "Transfer" };
  return short[/** @type {keyof typeof short} */ (status)] || label;
}

/** Why the status changed, when it was not the agent's own click. @param {any} s */
function reasonLine(s) {
  if (s.reason === "by_supervisor" && s.reason_note) {
    return h("p", { class: "status-reason", dataset: { reason: s.reason } }, s.reason_note);
  }
  const text = s.reason ? reasonText(s.reason) : null;
  return text ? h("p", { class: "status-reason", dataset: { reason: s.reason } }, text) : null;
}

/** @param {string} reason */
function reasonText(reason) {
  /** @type {Record<string, string | null>} */
  const words = {
    login: null, // the agent's own CTI Login: nothing to explain
    logout: null,
    pickup_timeout: "A call was not answered in time, so your status was changed.",
    missed_offers: "Several calls in a row were not answered, so you were paused.",
    wrap_up_limit: "The wrap-up time ran out.",
    restart: "The server restarted.",
    by_supervisor: "A supervisor changed your status.",
    browser_gone:
      "You were logged out of CTI: no Ringdesk page of yours was open, so calls would have " +
      "rung an empty desk.",
  };
  const text = words[reason];
  return text === undefined ? reason.replace(/_/g, " ") : text;
}

/** @param {any} me */
function phoneWarning(me) {
  const id = me?.cti?.cti_id;
  return h(
    "div",
    { class: "callout callout-warn", role: "status" },
    h("strong", null, "Phone not registered"),
    h(
      "span",
      null,
      chosenPhone() === "browser"
        ? " Calls cannot reach you until the browser phone registers (its line above says why)."
        : id
        ? ` Calls cannot reach you until your SIP phone registers as ${id} with its phone password.`
        : " Calls cannot reach you until your SIP phone registers.",
    ),
  );
}

function noticeBlock() {
  const notice = state.get("notice");
  if (!notice) return null;
  return h(
    "div",
    {
      class: `callout ${notice.kind === "info" ? "callout-info" : "callout-error"}`,
      role: "alert",
    },
    h("span", null, notice.text),
    h(
      "button",
      {
        type: "button",
        class: "icon-btn",
        "aria-label": "Dismiss message",
        onclick: () => clearNotice(),
      },
      "✕",
    ),
  );
}

/** @param {any} me */
function idleActions(me) {
  const canDial = (me.services || []).some((/** @type {any} */ x) => x.outbound_enabled);
  return h(
    "div",
    { class: "widget-actions" },
    h(
      "button",
      {
        type: "button",
        class: "btn btn-block",
        dataset: { key: "dial-up" },
        disabled: !canDial,
        title: canDial ? null : "None of your services allows outbound calls",
        onclick: () => openDialUp(),
      },
      phoneIcon("btn-icon"),
      "Dial up",
    ),
  );
}
